"""HL7 v2 import: idempotent, whole message or quarantine (one reason per problem), reprocessing."""

from datetime import UTC, datetime

import pytest

from monitoring.interop.hl7 import acknowledgement, import_message, import_text
from monitoring.interop.hl7_build import LIVER_PANEL, Obx, build_oru
from monitoring.interop.quarantine import reprocess
from monitoring.models import Analyte, InboundMessage, InboundStatus, LabResult, LocalCode, ResultStatus
from tests.factories import ClinicFactory, PatientFactory, default_clinic

pytestmark = pytest.mark.django_db

WHEN = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)


def oru(control_id="C1", results=LIVER_PANEL, mrn="M1", **kwargs):
    return build_oru(mrn=mrn, control_id=control_id, results=results, collected_at=WHEN, **kwargs)


@pytest.fixture
def patient():
    return PatientFactory(mrn="M1")


def values(patient):
    return {r.analyte.code: r.value for r in LabResult.objects.filter(patient=patient).select_related("analyte")}


def test_a_liver_panel_is_stored_in_canonical_units_with_the_labs_range(patient):
    message = import_message(oru(), clinic=default_clinic())

    assert message.status == InboundStatus.ACCEPTED
    assert values(patient) == {"alt": 54, "ast": 48, "alp": 110, "bilirubin": 18, "albumin": 41, "igg": 17.2}
    alt = LabResult.objects.get(analyte__code="alt")
    assert (alt.ref_low, alt.ref_high, alt.collected_at, alt.source) == (0, 40, WHEN, "hl7")
    assert message.counts == {"created": 6}
    assert acknowledgement(message)[0] == "AA"


def test_the_same_message_twice_creates_nothing_new(patient):
    first = import_message(oru(), clinic=default_clinic())
    again = import_message(oru(), clinic=default_clinic())

    assert again.status == InboundStatus.DUPLICATE
    assert again.duplicate_of == first
    assert LabResult.objects.count() == 6
    code, ack = acknowledgement(again)
    assert code == "AA"  # the lab may stop resending: it is stored
    assert "MSA|AA|C1" in ack


def test_the_same_results_in_a_new_message_create_nothing_new(patient):
    import_message(oru("C1"), clinic=default_clinic())
    message = import_message(oru("C2"), clinic=default_clinic())

    assert message.status == InboundStatus.ACCEPTED
    assert message.counts == {"unchanged": 6}
    assert LabResult.objects.count() == 6


def test_a_preliminary_result_is_replaced_by_the_final_one(patient):
    import_message(oru("C1", [Obx("1742-6", "50", "U/L", "0-40", status="P")]), clinic=default_clinic())
    assert LabResult.objects.get().status == ResultStatus.PRELIMINARY

    import_message(oru("C2", [Obx("1742-6", "52", "U/L", "0-40", status="F")]), clinic=default_clinic())

    alt = LabResult.objects.get()
    assert (alt.value, alt.status) == (52, ResultStatus.FINAL)
    assert LabResult.objects.final().count() == 1


def test_a_late_preliminary_does_not_overwrite_the_final(patient):
    import_message(oru("C1", [Obx("1742-6", "52", "U/L", status="F")]), clinic=default_clinic())
    message = import_message(oru("C2", [Obx("1742-6", "50", "U/L", status="P")]), clinic=default_clinic())

    assert message.counts == {"stale": 1}
    assert (LabResult.objects.get().value, LabResult.objects.get().status) == (52, ResultStatus.FINAL)


def test_a_correction_replaces_the_final(patient):
    import_message(oru("C1", [Obx("1742-6", "52", "U/L", status="F")]), clinic=default_clinic())
    import_message(oru("C2", [Obx("1742-6", "25", "U/L", status="C")]), clinic=default_clinic())
    assert (LabResult.objects.get().value, LabResult.objects.get().status) == (25, ResultStatus.CORRECTED)


def test_another_order_is_another_result(patient):
    import_message(oru("C1", [Obx("1742-6", "52", "U/L")], order_id="A"), clinic=default_clinic())
    import_message(oru("C2", [Obx("1742-6", "30", "U/L")], order_id="B"), clinic=default_clinic())
    assert sorted(LabResult.objects.values_list("value", flat=True)) == [30, 52]


@pytest.mark.parametrize("breaks", ["\r", "\n", "\r\n"])
def test_any_line_break_convention_imports(patient, breaks):
    text = "\ufeff" + oru(breaks=breaks)
    assert import_message(text, clinic=default_clinic()).status == InboundStatus.ACCEPTED
    assert len(values(patient)) == 6


def test_a_file_with_several_messages_in_a_batch_imports_each(patient):
    text = "FHS|^~\\&|LAB\rBHS|^~\\&|LAB\r" + oru("C1") + oru("C2", [Obx("1742-6", "99", "U/L")], order_id="B")
    text += "BTS|2\rFTS|1\r"
    messages = import_text(text, clinic=default_clinic())
    assert [m.status for m in messages] == [InboundStatus.ACCEPTED, InboundStatus.ACCEPTED]
    assert LabResult.objects.count() == 7


def test_mllp_framing_left_in_a_file_is_ignored(patient):
    assert import_message("\x0b" + oru() + "\x1c\r", clinic=default_clinic()).status == InboundStatus.ACCEPTED


def test_nul_bytes_are_dropped_so_the_message_is_stored_on_any_database(patient):
    # Found by the property test on PostgreSQL, whose text columns cannot hold NUL.
    message = import_message(oru().replace("|LAB|", "|\x00LAB|", 1), clinic=default_clinic())
    message.refresh_from_db()

    assert message.status == InboundStatus.ACCEPTED and "\x00" not in message.raw
    assert message.sender.startswith("LAB|") and LabResult.objects.count() > 0


@pytest.mark.parametrize(
    ("unit", "value", "code", "expected"),
    [
        ("U/L", "54", "1742-6", 54),
        ("IU/L", "54", "1742-6", 54),
        ("ukat/L", "0.9", "1742-6", 54),
        ("umol/L", "18", "14631-6", 18),
        ("µmol/L", "18", "14631-6", 18),
        ("μmol/L", "18", "14631-6", 18),  # Greek mu
        ("mg/dL", "1.2", "14631-6", 20.52),
        ("10*9/L", "4.5", "6690-2", 4.5),
        ("10\\S\\9/L", "4.5", "6690-2", 4.5),  # escaped ^
        ("10^9/L", "4.5", "6690-2", 4.5),  # unescaped ^: read as one unit
        ("giga.l-1", "210", "777-3", 210),
        ("x10E9/L", "210", "777-3", 210),
        ("K/uL", "210", "777-3", 210),
        ("g/dL", "4.1", "1751-7", 41),
        ("mg/dL", "1700", "2465-3", 17),
    ],
)
def test_common_unit_spellings_are_accepted(patient, unit, value, code, expected):
    message = import_message(oru(results=[Obx(code, value, unit)]), clinic=default_clinic())
    assert message.status == InboundStatus.ACCEPTED, message.reason
    assert LabResult.objects.get().value == pytest.approx(expected)


def test_a_patient_is_found_only_in_the_importing_clinic():
    PatientFactory(mrn="M1", clinic=ClinicFactory())
    message = import_message(oru(), clinic=default_clinic())
    assert message.status == InboundStatus.QUARANTINED
    assert message.items[0]["kind"] == "unknown_patient"


def test_the_mr_identifier_is_chosen_among_several(patient):
    text = oru().replace("PID|1||M1^^^HOSP^MR|", "PID|1||999^^^SSA^SS~M1^^^HOSP^MR|")
    assert import_message(text, clinic=default_clinic()).patient == patient


def test_pending_results_without_value_are_skipped_and_listed(patient):
    message = import_message(
        oru(results=[Obx("1742-6", "54", "U/L"), Obx("1920-8", "", "", status="I")]), clinic=default_clinic()
    )
    assert message.status == InboundStatus.ACCEPTED
    assert message.counts == {"created": 1, "skipped": 1}
    assert {"where": "OBR 1 OBX 2", "code": "1920-8", "outcome": "skipped", "detail": "no result (pending)"} in (
        message.items
    )


def test_a_code_the_clinic_skips_is_not_quarantined(patient):
    LocalCode.objects.create(clinic=default_clinic(), system="L", code="HCT", analyte=None)
    message = import_message(
        oru(results=[Obx("1742-6", "54", "U/L"), Obx("HCT", "0.41", "L/L", system="L")]), clinic=default_clinic()
    )
    assert message.status == InboundStatus.ACCEPTED
    assert message.counts == {"created": 1, "skipped": 1}


def test_a_local_code_maps_to_an_analyte_before_loinc(patient):
    LocalCode.objects.create(clinic=default_clinic(), system="L", code="ALTX", analyte=Analyte.objects.get(code="alt"))
    import_message(oru(results=[Obx("ALTX", "54", "U/L", system="L")]), clinic=default_clinic())
    assert values(patient) == {"alt": 54}


# -- every reason for quarantine: nothing stored, the reason says what and where -----------------

BAD_MESSAGES = {
    "unknown patient": (oru(mrn="NOPE"), "unknown_patient"),
    "unknown code": (oru(results=[*LIVER_PANEL, Obx("99999-9", "1", "U/L")]), "unknown_code"),
    "value with comparator": (oru(results=[*LIVER_PANEL, Obx("1742-6", "<5", "U/L")]), "bad_value"),
    "SN with comparator": (oru(results=[*LIVER_PANEL, Obx("1742-6", "<^5", "U/L", value_type="SN")]), "bad_value"),
    "text value": (oru(results=[*LIVER_PANEL, Obx("1742-6", "haemolysed", "U/L")]), "bad_value"),
    "empty final value": (oru(results=[*LIVER_PANEL, Obx("1742-6", "", "U/L")]), "bad_value"),
    "implausible value": (oru(results=[*LIVER_PANEL, Obx("1742-6", "90000", "U/L")]), "bad_value"),
    "unknown unit": (oru(results=[*LIVER_PANEL, Obx("1742-6", "54", "mg")]), "bad_unit"),
    "unreadable range": (oru(results=[*LIVER_PANEL, Obx("1742-6", "54", "U/L", "see note")]), "bad_value"),
    "retracted result": (oru(results=[*LIVER_PANEL, Obx("1742-6", "54", "U/L", status="D")]), "unsupported"),
    "unknown status": (oru(results=[*LIVER_PANEL, Obx("1742-6", "54", "U/L", status="Q")]), "malformed"),
    "garbage time": (oru(results=[*LIVER_PANEL, Obx("1742-6", "54", "U/L", observed_at="yesterday")]), "bad_time"),
    "future time": (oru(results=[*LIVER_PANEL, Obx("1742-6", "54", "U/L", observed_at="20990101")]), "bad_time"),
    "no time": (build_oru(mrn="M1", control_id="C1", results=LIVER_PANEL, collected_at=""), "bad_time"),
    "no OBX": ("MSH|^~\\&|LAB|HOSP|||20250101||ORU^R01|C9|P|2.5\rPID|1||M1\rOBR|1\r", "malformed"),
    "not ORU": ("MSH|^~\\&|LAB|HOSP|||20250101||ADT^A01|C9|P|2.5\rPID|1||M1\r", "unsupported"),
    "not HL7": ("hello, this is not a lab result", "malformed"),
    "broken MSH": ("MSH", "malformed"),
}


@pytest.mark.parametrize("name", BAD_MESSAGES)
def test_a_bad_message_is_quarantined_whole_with_its_reason(patient, name):
    text, kind = BAD_MESSAGES[name]

    message = import_message(text, clinic=default_clinic(), origin="test")

    assert message.status == InboundStatus.QUARANTINED
    assert kind in [item["kind"] for item in message.items]
    assert message.reason
    assert InboundMessage.objects.get(pk=message.pk).raw == text  # the raw text is kept as received
    assert not LabResult.objects.exists()  # not even the good results of the same message
    code, ack = acknowledgement(message)
    assert code == "AE"
    assert "MSA|AE|" in ack


def test_a_message_in_quarantine_sent_again_is_a_duplicate_and_still_an_error(patient):
    first = import_message(oru(mrn="NOPE"), clinic=default_clinic())
    again = import_message(oru(mrn="NOPE"), clinic=default_clinic())
    assert again.duplicate_of == first
    assert acknowledgement(again)[0] == "AE"


def test_picking_the_patient_and_reprocessing_imports_the_message(patient, make_user):
    message = import_message(oru(mrn="OTHER-LAB-NUMBER"), clinic=default_clinic())
    assert message.status == InboundStatus.QUARANTINED

    message.patient = patient
    message.save(update_fields=["patient"])
    message = reprocess(message, user=make_user())

    assert message.status == InboundStatus.REPROCESSED
    assert len(values(patient)) == 6


def test_a_message_stored_but_never_processed_is_finished_when_it_is_sent_again(patient):
    from monitoring.interop.hl7 import dedupe_key
    from monitoring.interop.quarantine import receive

    text = oru()
    stuck = receive(clinic=default_clinic(), kind="hl7", raw=text, dedupe_key=dedupe_key(text), control_id="C1")

    again = import_message(text, clinic=default_clinic())

    stuck.refresh_from_db()
    assert stuck.status == InboundStatus.ACCEPTED
    assert again.duplicate_of == stuck
    assert acknowledgement(again)[0] == "AA"
    assert LabResult.objects.count() == 6


def test_an_import_queues_one_evaluation_per_commit(patient, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("monitoring.changes._send_evaluation", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        import_message(oru(), clinic=default_clinic())
    assert sent == [patient.pk]  # six results, one evaluation


# -- many messages at once (files, backlogs): the same outcome as one at a time -------------------


def batch_of_messages() -> list[str]:
    return [
        oru("B1"),
        oru("B2", mrn="NOBODY"),
        oru("B3", [Obx("1742-6", "54", "mg")], order_id="U"),
        oru("B4", [Obx("1742-6", "50", "U/L", status="P")], order_id="PF"),
        oru("B5", [Obx("1742-6", "52", "U/L", status="F")], order_id="PF"),
        oru("B6", [Obx("1742-6", "49", "U/L", status="P")], order_id="PF"),  # late preliminary: stale
        oru("B1"),  # a repeat inside the batch
        oru("B7", [Obx("1920-8", "33", "U/L"), Obx("1920-8", "33", "U/L")], order_id="TWICE"),
        "not HL7 at all",
    ]


def outcome(messages, clinic):
    statuses = [(m.status, m.counts, [i["kind"] for i in m.items if "kind" in i]) for m in messages]
    stored = sorted(
        LabResult.objects.filter(patient__clinic=clinic).values_list("analyte__code", "value", "status", "source_id")
    )
    return statuses, stored


def test_a_batch_has_the_same_outcome_as_one_message_at_a_time():
    from monitoring.interop.hl7 import import_batch

    one_clinic, batch_clinic = default_clinic(), ClinicFactory()
    PatientFactory(mrn="M1", clinic=one_clinic)
    PatientFactory(mrn="M1", clinic=batch_clinic)

    one_by_one = [import_message(text, clinic=one_clinic) for text in batch_of_messages()]
    batched = import_batch(batch_of_messages(), clinic=batch_clinic)

    assert outcome(batched, batch_clinic) == outcome(one_by_one, one_clinic)
    assert [m.status for m in batched][:3] == [InboundStatus.ACCEPTED, InboundStatus.QUARANTINED] + [
        InboundStatus.QUARANTINED
    ]
    assert batched[6].duplicate_of == batched[0]
    # And again: every message is a repeat, nothing new is stored.
    before = LabResult.objects.count()
    again = import_batch(batch_of_messages(), clinic=batch_clinic)
    assert {m.status for m in again} == {InboundStatus.DUPLICATE}
    assert LabResult.objects.count() == before


def test_a_batch_imports_the_good_message_quarantines_the_malformed_one_and_keeps_the_audit_history(
    patient, monkeypatch, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    from monitoring.interop.hl7 import dedupe_key, import_batch
    from monitoring.interop.quarantine import receive

    sent = []
    monkeypatch.setattr("monitoring.changes._send_evaluation", sent.append)
    earlier = receive(clinic=default_clinic(), kind="hl7", raw=oru("D1"), dedupe_key=dedupe_key(oru("D1")))
    InboundMessage.objects.filter(pk=earlier.pk).update(status=InboundStatus.ACCEPTED)  # imported before
    good = oru("G1", order_id="O2")
    malformed = "MSH|^~\\&|LAB|HOSP|AIH|CLINIC|20250304||ORU^R01|M9|P|2.5\rPID|1||M1^^^HOSP^MR"  # no OBX

    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(12):
        imported = import_batch([good, oru("D1"), malformed], clinic=default_clinic())

    assert [m.status for m in imported] == [
        InboundStatus.ACCEPTED,
        InboundStatus.DUPLICATE,
        InboundStatus.QUARANTINED,
    ]
    stored = {m.control_id: m for m in InboundMessage.objects.filter(pk__in=[m.pk for m in imported])}
    assert stored["G1"].status == InboundStatus.ACCEPTED and stored["G1"].counts == {"created": 6}
    assert stored["G1"].patient == patient and stored["G1"].processed_at is not None
    assert stored["D1"].duplicate_of == earlier
    assert stored["M9"].raw == malformed and "no OBX segment" in stored["M9"].reason
    assert [item["kind"] for item in stored["M9"].items] == ["malformed"]
    assert LabResult.objects.filter(source_id__contains="|O2|").count() == 6  # the good message's, nothing else
    assert LabResult.objects.count() == 6
    history = LabResult.history.filter(history_type="+")
    assert sorted(history.values_list("id", "value")) == sorted(LabResult.objects.values_list("id", "value"))
    assert sent == [patient.pk]  # one evaluation, queued on commit


def test_every_message_of_a_batch_is_stored_even_when_all_are_quarantined():
    from monitoring.interop.hl7 import import_batch

    texts = [oru("Q1", mrn="NOBODY"), "not HL7 at all", ""]
    imported = import_batch(texts, clinic=default_clinic())

    assert [m.status for m in imported] == [InboundStatus.QUARANTINED] * 3
    assert sorted(InboundMessage.objects.values_list("raw", flat=True)) == sorted(texts)
    assert all(m.reason and m.items for m in InboundMessage.objects.all())
    assert not LabResult.objects.exists()


def test_a_batch_that_fails_while_writing_falls_back_to_one_message_at_a_time(patient, monkeypatch):
    from monitoring.interop import hl7, results

    real = results.store_all
    calls = []

    def fail_once(pairs, **kwargs):
        calls.append(len(pairs))
        if len(calls) == 1:
            raise RuntimeError("disk full, say")
        return real(pairs, **kwargs)

    monkeypatch.setattr(results, "store_all", fail_once)
    messages = hl7.import_batch([oru("F1"), oru("F2", order_id="O2")], clinic=default_clinic())
    assert [m.status for m in messages] == [InboundStatus.ACCEPTED, InboundStatus.ACCEPTED]
    assert LabResult.objects.count() == 12
    assert calls == [12, 6, 6]  # the batch, then each message on its own


# -- the import_hl7 command ----------------------------------------------------------------------


def test_the_import_command_prints_a_summary_per_file_and_fails_on_quarantine(patient, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    good, bad = tmp_path / "good.hl7", tmp_path / "bad.hl7"
    good.write_text(oru("G1") + oru("G2", order_id="O2"), encoding="utf-8")
    bad.write_bytes(("\ufeff" + oru("X1", mrn="NOBODY", breaks="\n")).encode("utf-8"))
    out = StringIO()

    call_command("import_hl7", str(good), stdout=out)
    assert f"{good}: 2 message(s): 2 accepted" in out.getvalue()
    assert "control id G1: accepted for MRN M1: 6 created" in out.getvalue()

    with pytest.raises(CommandError, match="1 message\\(s\\) quarantined"):
        call_command("import_hl7", str(bad), str(good), stdout=out)
    assert "unknown_patient  PID: No patient with MRN NOBODY in this clinic." in out.getvalue()
    assert "already received as" in out.getvalue()
    assert LabResult.objects.count() == 12


def test_a_retracted_result_for_a_code_the_clinic_skips_is_just_skipped(patient):
    LocalCode.objects.create(clinic=default_clinic(), system="L", code="HCT", analyte=None)
    message = import_message(
        oru(results=[Obx("1742-6", "54", "U/L"), Obx("HCT", "0.41", "L/L", system="L", status="W")]),
        clinic=default_clinic(),
    )
    assert message.status == InboundStatus.ACCEPTED


def test_a_local_code_refuses_a_unit_override_its_analyte_does_not_accept():
    from django.core.exceptions import ValidationError

    alt = Analyte.objects.get(code="alt")
    with pytest.raises(ValidationError, match="not reported in 'mg/dL'"):
        LocalCode(clinic=default_clinic(), code="X", analyte=alt, unit="mg/dL").clean()
    with pytest.raises(ValidationError, match="needs no unit"):
        LocalCode(clinic=default_clinic(), code="X", analyte=None, unit="U/L").clean()
    LocalCode(clinic=default_clinic(), code="X", analyte=alt, unit="ukat/L").clean()


def test_stored_results_are_found_when_their_lookup_takes_several_queries(patient, monkeypatch):
    from monitoring.interop import results

    monkeypatch.setattr(results, "IDENTITIES_PER_QUERY", 4)
    preliminary = [Obx(o.code, o.value, o.unit, o.ref_range, status="P", name=o.name) for o in LIVER_PANEL]
    import_message(oru("C1", preliminary), clinic=default_clinic())
    message = import_message(oru("C2"), clinic=default_clinic())  # the finals of the same six results

    assert message.counts == {"updated": 6}
    assert set(LabResult.objects.values_list("status", flat=True)) == {ResultStatus.FINAL}
    assert LabResult.objects.count() == 6


def msa(message) -> tuple[str, str]:
    """(MSA-1, MSA-3) of the ACK a sender gets for the message."""
    segment = next(s for s in acknowledgement(message)[1].split("\r") if s.startswith("MSA"))
    fields = [*segment.split("|"), "", "", ""]
    return fields[1], fields[3]


def test_a_sender_gets_the_same_error_ack_whatever_the_problem_so_it_cannot_probe_for_mrns(patient):
    unknown_patient = import_message(oru("C1", mrn="NOPE"), clinic=default_clinic())
    unknown_code = import_message(
        oru("C2", results=[*LIVER_PANEL, Obx("99999-9", "1", "U/L")]), clinic=default_clinic()
    )
    sent_again = import_message(oru("C1", mrn="NOPE"), clinic=default_clinic())

    generic = ("AE", "Stored for review by the clinic.")
    assert msa(unknown_patient) == msa(unknown_code) == msa(sent_again) == generic
    assert "NOPE" not in acknowledgement(unknown_patient)[1]
    # Staff still see the detailed reason on the quarantine page.
    assert "No patient with MRN NOPE in this clinic." in unknown_patient.reason
    assert "99999-9" in unknown_code.reason
