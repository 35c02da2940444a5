"""HL7 v2 import of every third-party sample (tests/data/interop, with
its licence): a BOM, \\n line breaks, preliminary results replaced by final ones, LOINC codes the
catalogue does not carry (mapped through the clinic's local code table), an SN value."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitoring.interop.hl7 import import_text
from monitoring.interop.quarantine import reprocess
from monitoring.models import Analyte, InboundStatus, LabResult, LocalCode, ResultStatus
from tests.factories import PatientFactory, default_clinic

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"
SAMPLES = DATA / "hl7v2-microsoft-fhir-converter"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "interop"
PLUS_7 = timezone(timedelta(hours=7))


def sample(name: str) -> str:
    # As a lab system would hand it over: bytes decoded, BOM and \n breaks left in place.
    return (SAMPLES / name).read_bytes().decode("utf-8")


def test_the_copied_samples_are_the_checksummed_third_party_files():
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name
    if SHARED.exists():  # and still the same as the shared copy, where there is one
        assert (DATA / "SHA256SUMS").read_text() == (SHARED / "SHA256SUMS").read_text()


def test_every_sample_starts_with_its_quirk():
    assert sample("LAB-ORU-1.hl7").startswith("\ufeffMSH")
    assert "\n" in sample("LAB-ORU-2.hl7") and "\r" not in sample("LAB-ORU-2.hl7")


def cbc_codes(clinic, haemoglobin_unit="g/dL"):
    """What a clinic maps once for this lab: the LOINC codes its CBC uses that the catalogue lacks."""
    rbc = Analyte.objects.create(
        code="rbc",
        name="Erythrocytes",
        loinc="",
        canonical_unit="10*12/L",
        units={"10*12/L": 1.0},
        plausible_min=0,
        plausible_max=20,
    )
    mapping = {"11156-7": "wbc", "11125-2": "platelets", "20509-6": "haemoglobin", "11273-0": "rbc"}
    for code, analyte in mapping.items():
        LocalCode.objects.create(
            clinic=clinic,
            system="LN",
            code=code,
            analyte=Analyte.objects.get(code=analyte),
            unit=haemoglobin_unit if analyte == "haemoglobin" else "",
        )
    for skipped in ["20570-8", "23761-0", "26450-7", "26478-8", "26485-3", "30180-4"]:  # Hct and the % differential
        LocalCode.objects.create(clinic=clinic, system="LN", code=skipped, analyte=None)
    return rbc


def stored(patient):
    return {r.analyte.code: r for r in LabResult.objects.filter(patient=patient).select_related("analyte")}


def test_lab_oru_1_stores_the_final_platelets_and_the_preliminary_erythrocytes_only():
    clinic = default_clinic()
    patient = PatientFactory(mrn="10006579")
    cbc_codes(clinic)

    [message] = import_text(sample("LAB-ORU-1.hl7"), clinic=clinic, origin="LAB-ORU-1.hl7")

    assert message.status == InboundStatus.ACCEPTED, message.reason
    assert message.control_id == "182"
    assert message.patient == patient
    results = stored(patient)
    assert set(results) == {"platelets", "rbc"}  # leukocytes and haemoglobin are pending (status I)
    assert results["platelets"].value == 221
    assert results["platelets"].unit_as_reported == "giga.l-1"
    assert results["platelets"].status == ResultStatus.FINAL
    assert results["platelets"].collected_at == datetime(2014, 10, 6, 8, 30, tzinfo=PLUS_7)
    assert results["rbc"].value == 4.06
    assert results["rbc"].status == ResultStatus.PRELIMINARY
    assert message.counts == {"created": 2, "skipped": 8}


def test_lab_oru_2_replaces_the_preliminary_results_with_the_final_ones():
    clinic = default_clinic()
    patient = PatientFactory(mrn="10006579")
    cbc_codes(clinic)
    import_text(sample("LAB-ORU-1.hl7"), clinic=clinic)
    first_rbc = stored(patient)["rbc"].pk

    [message] = import_text(sample("LAB-ORU-2.hl7"), clinic=clinic)

    assert message.status == InboundStatus.ACCEPTED, message.reason
    results = stored(patient)
    assert set(results) == {"platelets", "rbc", "wbc", "haemoglobin"}
    assert (results["rbc"].pk, results["rbc"].value, results["rbc"].status) == (first_rbc, 4.08, "final")
    assert results["rbc"].history.count() == 2  # the preliminary value stays in the audit history
    assert results["platelets"].value == 220  # the lab's later final wins
    assert results["wbc"].value == 8.2
    assert results["haemoglobin"].value == 134  # "g/l-1" read as g/dL through the clinic's unit override
    assert results["haemoglobin"].unit_as_reported == "g/dL"
    assert LabResult.objects.count() == 4
    assert message.counts == {"created": 2, "updated": 2, "skipped": 6}


def test_the_final_message_alone_imports_the_same_finals():
    clinic = default_clinic()
    patient = PatientFactory(mrn="10006579")
    cbc_codes(clinic)
    [message] = import_text(sample("LAB-ORU-2.hl7"), clinic=clinic)
    assert message.status == InboundStatus.ACCEPTED
    assert {code: r.value for code, r in stored(patient).items()} == {
        "platelets": 220,
        "rbc": 4.08,
        "wbc": 8.2,
        "haemoglobin": 134,
    }


def test_an_unreadable_unit_quarantines_the_message_until_the_clinic_sets_the_unit():
    clinic = default_clinic()
    patient = PatientFactory(mrn="10006579")
    cbc_codes(clinic, haemoglobin_unit="")

    [message] = import_text(sample("LAB-ORU-2.hl7"), clinic=clinic)

    assert message.status == InboundStatus.QUARANTINED
    assert [(i["kind"], i["code"]) for i in message.items] == [("bad_unit", "20509-6")]
    assert "g/l-1" in message.reason
    assert not LabResult.objects.exists()  # nothing of the message, not even the good results

    LocalCode.objects.filter(code="20509-6").update(unit="g/dL")
    assert reprocess(message).status == InboundStatus.REPROCESSED
    assert len(stored(patient)) == 4


def test_the_ghh_glucose_example_is_quarantined_then_mapped_and_reprocessed(make_user):
    clinic = default_clinic()
    patient = PatientFactory(mrn="555-44-4444")

    [message] = import_text(sample("ORU-R01-RMGEAD.hl7"), clinic=clinic)

    assert message.status == InboundStatus.QUARANTINED
    [problem] = message.items
    assert problem["kind"] == "unknown_code"
    assert (problem["code"], problem["system"]) == ("1554-5", "POST 12H CFST:MCNC:PT:SER/PLAS:QN")

    # Staff map the code as the lab sent it (the review page does this) and reprocess.
    LocalCode.objects.create(
        clinic=clinic, system=problem["system"], code="1554-5", analyte=Analyte.objects.get(code="glucose")
    )
    message = reprocess(message, user=make_user())

    assert message.status == InboundStatus.REPROCESSED
    glucose = stored(patient)["glucose"]
    assert glucose.value == pytest.approx(182 * 0.0555)  # SN "^182" mg/dl -> mmol/L
    assert (glucose.ref_low, glucose.ref_high) == (pytest.approx(70 * 0.0555), pytest.approx(105 * 0.0555))
    assert glucose.collected_at == datetime(2002, 2, 15, 1, 30, tzinfo=UTC)  # OBR-7, +0600
    assert glucose.status == ResultStatus.FINAL
    assert glucose.source == "hl7"


def test_unknown_patient_and_unknown_codes_are_all_listed():
    [message] = import_text(sample("LAB-ORU-2.hl7"), clinic=default_clinic())
    assert message.status == InboundStatus.QUARANTINED
    kinds = [item["kind"] for item in message.items]
    assert kinds[0] == "unknown_patient"
    assert message.items[0]["mrn"] == "10006579"
    assert kinds.count("unknown_code") == 10  # every OBX of both orders
