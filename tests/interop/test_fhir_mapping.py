"""FHIR resource mapping, table-driven: what each resource becomes, or why it goes to the quarantine."""

import json
from datetime import UTC, date, datetime

import pytest

from monitoring.interop.fhir import import_fhir_text
from monitoring.models import InboundStatus, LabResult, LocalCode, ResultStatus
from patients.models import (
    DexaScan,
    LiverBiopsy,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    Vaccination,
    WeightMeasurement,
)
from regimens.models import MedicationCourse, StopReason
from tests import fhir_builders as fb
from tests.factories import PatientFactory, analyte, default_clinic

pytestmark = pytest.mark.django_db


def run(text: str):
    return import_fhir_text(text, clinic=default_clinic(), origin="test.json")


def accepted(*resources, **kwargs):
    message = run(fb.bundle(*resources, **kwargs))
    assert message.status == InboundStatus.ACCEPTED, message.reason
    return message


def quarantined(*resources, **kwargs):
    message = run(fb.bundle(*resources, **kwargs))
    assert message.status == InboundStatus.QUARANTINED
    return message


def only_lab() -> LabResult:
    return LabResult.objects.select_related("analyte").get()


# -- Patient --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifiers", "mrn"),
    [
        ([{"system": "urn:ssn", "value": "999-1"}, {"type": {"coding": [{"code": "MR"}]}, "value": "M-42"}], "M-42"),
        ([{"system": "urn:ssn", "value": "999-1"}, {"system": "urn:other", "value": "X"}], "999-1"),
        (
            [{"type": {"coding": [{"code": "MR"}]}, "value": "41166989-975d-4d17-b9de-17f94cb3eec1"}],
            "41166989-975d-4d17-b9de-17f94cb3eec1",
        ),
    ],
    ids=["identifier typed MR", "else the first identifier", "a UUID MRN as sent (Synthea)"],
)
def test_the_mrn_comes_from_the_mr_identifier_else_the_first(identifiers, mrn):
    accepted(fb.patient(identifier=identifiers), with_patient=False)

    stored = Patient.objects.get()
    assert (stored.mrn, stored.family_name, stored.given_name) == (mrn, "Map", "Mary Ann")
    assert (stored.date_of_birth, stored.sex) == (date(1980, 5, 17), "female")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"identifier": []}, "Patient has no identifier to use as the MRN."),
        ({"birthDate": None}, "Patient MAP-1 has no birth date."),
        ({"name": [{"family": "Map"}]}, "Patient MAP-1 needs a family and a given name."),
    ],
)
def test_a_patient_that_cannot_be_registered_is_quarantined_with_its_resources(change, reason):
    resource = {k: v for k, v in {**fb.patient(), **change}.items() if v is not None}
    message = quarantined(fb.observation(), patient_resource=resource)

    assert reason in message.reason
    assert "could not be imported" in message.reason  # the ALT refers to that patient
    assert not Patient.objects.exists() and not LabResult.objects.exists()


def test_a_patient_already_registered_is_matched_by_mrn_and_not_changed():
    existing = PatientFactory(mrn="MAP-1", family_name="Original")

    message = accepted(fb.observation())

    assert message.counts == {"created": 1, "updated": 0, "unchanged": 1, "skipped": 0}
    assert Patient.objects.get().family_name == "Original"
    assert only_lab().patient == existing


def test_a_resource_refers_to_a_known_patient_by_identifier():
    known = PatientFactory(mrn="K-7")
    resource = fb.observation(subject={"identifier": {"value": "K-7"}})

    accepted(resource, with_patient=False)

    assert only_lab().patient == known


# -- Observation: labs ------------------------------------------------------------------------------

LAB_ROWS = [
    # id, (loinc, value, unit), range (low, high) in that unit, analyte, canonical value, canonical range
    ("ALT U/L", ("1742-6", 88, "U/L"), (0, 40), "alt", 88, (0, 40)),
    ("ALT IU/L spelling", ("1742-6", 88, "IU/L"), None, "alt", 88, (None, None)),
    ("AST", ("1920-8", 51, "U/L"), (None, 40), "ast", 51, (None, 40)),
    ("bilirubin mg/dL -> µmol/L", ("1975-2", 2, "mg/dL"), (0.1, 1.2), "bilirubin", 34.2, (1.71, 20.52)),
    ("bilirubin µmol/L", ("14631-6", 34, "umol/L"), (None, 21), "bilirubin", 34, (None, 21)),
    ("albumin g/dL -> g/L", ("1751-7", 3.5, "g/dL"), (3.5, 5), "albumin", 35, (35, 50)),
    ("IgG mg/dL -> g/L", ("2465-3", 2400, "mg/dL"), (700, 1600), "igg", 24, (7, 16)),
    ("platelets 10*3/uL", ("777-3", 140, "10*3/uL"), (150, 400), "platelets", 140, (150, 400)),
    ("creatinine 2160-0 mg/dL", ("2160-0", 1, "mg/dL"), None, "creatinine", 88.4, (None, None)),
    ("INR {INR}", ("6301-6", 1.4, "{INR}"), None, "inr", 1.4, (None, None)),
    ("tacrolimus ng/mL", ("11253-2", 6.5, "ng/mL"), (5, 10), "tacrolimus", 6.5, (5, 10)),
]


@pytest.mark.parametrize(
    ("row_id", "sent", "range_", "code", "value", "canonical_range"), LAB_ROWS, ids=[r[0] for r in LAB_ROWS]
)
def test_a_loinc_lab_is_stored_in_the_canonical_unit_with_the_labs_range(
    row_id, sent, range_, code, value, canonical_range
):
    loinc, number, unit = sent
    resource = fb.observation(loinc, number, unit)
    if range_:
        low, high = range_
        resource["referenceRange"] = [
            {k: fb.quantity(v, unit) for k, v in (("low", low), ("high", high)) if v is not None}
        ]

    accepted(resource)

    lab = only_lab()
    assert lab.analyte.code == code
    assert lab.value == pytest.approx(value)
    assert (lab.ref_low, lab.ref_high) == tuple(pytest.approx(v) if v is not None else None for v in canonical_range)
    assert (lab.value_as_reported, lab.unit_as_reported) == (f"{number:g}", unit)
    assert lab.collected_at == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    assert lab.source == "fhir" and lab.source_id.startswith("urn:uuid:")


def test_a_reference_range_in_another_unit_is_converted():
    resource = fb.observation("1975-2", 34.2, "umol/L")
    resource["referenceRange"] = [{"high": fb.quantity(1.2, "mg/dL")}]

    accepted(resource)

    assert only_lab().ref_high == pytest.approx(20.52)


QUARANTINE_ROWS = [
    ("value with a comparator", {"valueQuantity": fb.quantity(5, "U/L", comparator="<")}, "bad_value", "is not exact"),
    (
        "text value",
        {"valueQuantity": None, "valueString": "haemolysed"},
        "bad_value",
        "no numeric value (got haemolysed)",
    ),
    ("unit not accepted", {"valueQuantity": fb.quantity(88, "mmol/L")}, "bad_unit", "ALT is not reported in 'mmol/L'"),
    ("implausible value", {"valueQuantity": fb.quantity(99999, "U/L")}, "bad_value", "outside the plausible range"),
    ("no effective time", {"effectiveDateTime": None}, "bad_time", "no effective time"),
    ("in the future", {"effectiveDateTime": "2099-01-01T00:00:00Z"}, "bad_time", "in the future"),
    ("not valid R4", {"effectiveDateTime": "yesterday"}, "malformed", "Not valid FHIR R4"),
    (
        "about a patient not in the file",
        {"subject": {"reference": "Patient/elsewhere"}},
        "unknown_patient",
        "Patient/elsewhere",
    ),
]


@pytest.mark.parametrize(("row_id", "change", "kind", "reason"), QUARANTINE_ROWS, ids=[r[0] for r in QUARANTINE_ROWS])
def test_an_unusable_lab_sends_the_file_to_quarantine_with_the_reason(row_id, change, kind, reason):
    resource = {k: v for k, v in {**fb.observation(), **change}.items() if v is not None}

    message = quarantined(resource)

    [problem] = message.items
    assert problem["kind"] == kind
    assert reason in problem["detail"]
    assert problem["where"].startswith("entry 2 Observation")
    assert not Patient.objects.exists() and not LabResult.objects.exists()  # nothing half-imported


def test_a_lab_with_an_unknown_local_code_is_quarantined_until_the_clinic_maps_it():
    from monitoring.interop.quarantine import reprocess

    resource = fb.observation(code={"coding": [{"system": "urn:lab:acme", "code": "ALAT", "display": "ALAT"}]})
    message = quarantined(resource)
    [problem] = message.items
    assert (problem["kind"], problem["code"], problem["system"]) == ("unknown_code", "ALAT", "urn:lab:acme")

    LocalCode.objects.create(clinic=default_clinic(), system="urn:lab:acme", code="ALAT", analyte=analyte("alt"))
    message = reprocess(message)

    assert message.status == InboundStatus.REPROCESSED
    assert only_lab().analyte.code == "alt"


@pytest.mark.parametrize(
    ("resource", "detail"),
    [
        (fb.observation("2093-3", 5.2, "mmol/L"), "(LOINC 2093-3): not an analyte the clinic follows"),
        (fb.observation(status="cancelled"), "status cancelled"),
        (
            {**fb.observation(value=None, code={"coding": [{"system": "urn:x", "code": "smoker"}]}), "category": []},
            "not a laboratory result",
        ),
    ],
    ids=["a LOINC the clinic does not follow", "a cancelled result", "a survey answer"],
)
def test_observations_the_clinic_does_not_follow_are_skipped_and_listed(resource, detail):
    message = accepted(resource)

    assert message.counts["skipped"] == 1
    assert detail in message.items[-1]["detail"]
    assert not LabResult.objects.exists()


def test_a_preliminary_result_is_replaced_by_the_final_one():
    preliminary = fb.observation(status="preliminary", value=80, identifier=[{"system": "urn:lab", "value": "R1"}])
    accepted(preliminary)
    assert only_lab().status == ResultStatus.PRELIMINARY

    final = fb.observation(value=88, identifier=[{"system": "urn:lab", "value": "R1"}])
    message = accepted(final)

    lab = only_lab()
    assert (lab.status, lab.value, lab.source_id) == (ResultStatus.FINAL, 88, "urn:lab|R1")
    assert message.counts["updated"] == 1


def test_the_same_result_from_another_file_creates_nothing():
    accepted(fb.observation())
    again = fb.observation(identifier=[{"system": "urn:other-feed", "value": "9"}])  # other id, same result

    message = accepted(again)

    assert LabResult.objects.count() == 1
    assert message.counts["unchanged"] == 2


@pytest.mark.parametrize(("value", "unit", "kg"), [(64.5, "kg", 64.5), (142, "[lb_av]", 64.41), (64500, "g", 64.5)])
def test_body_weight_becomes_a_weight_measurement(value, unit, kg):
    accepted(fb.observation("29463-7", value, unit, when="2025-02-03", category=None))

    weight = WeightMeasurement.objects.get()
    assert (weight.measured_on, weight.weight_kg) == (date(2025, 2, 3), pytest.approx(kg, abs=0.01))
    assert not LabResult.objects.exists()


# -- MedicationStatement / MedicationRequest -----------------------------------------------------

DRUG_ROWS = [
    # id, concept (rxnorm, name), dosages, expected drug code, expected mg/day
    ("prednisolone by RxNorm, 40 mg daily", ("8638", None), [fb.dosage(40)], "prednisolone", 40),
    ("prednisone 8640", ("8640", None), [fb.dosage(30)], "prednisone", 30),
    ("budesonide 3 mg three times a day", ("19831", None), [fb.dosage(3, frequency=3)], "budesonide", 9),
    (
        "azathioprine by name, 50 mg twice daily",
        (None, "Azathioprine 50 MG Oral Tablet"),
        [fb.dosage(50, frequency=2)],
        "azathioprine",
        100,
    ),
    ("mercaptopurine 103", ("103", None), [fb.dosage(75)], "mercaptopurine", 75),
    (
        "mycophenolate mofetil 1 g twice daily",
        ("68149", None),
        [fb.dosage(1, unit="g", frequency=2)],
        "mycophenolate_mofetil",
        2000,
    ),
    ("tacrolimus 2 mg every 12 hours", ("42316", None), [fb.dosage(2, period=12, period_unit="h")], "tacrolimus", 4),
    ("allopurinol 519", ("519", None), [fb.dosage(100)], "allopurinol", 100),
    ("a morning and an evening dosage add up", ("1256", None), [fb.dosage(50), fb.dosage(25)], "azathioprine", 75),
    (
        "timing code BID",
        ("1256", None),
        [{"timing": {"code": {"coding": [{"code": "BID"}]}}, "doseAndRate": [{"doseQuantity": fb.quantity(50, "mg")}]}],
        "azathioprine",
        100,
    ),
    ("every other day", ("8638", None), [fb.dosage(10, period=2)], "prednisolone", 5),
]


@pytest.mark.parametrize(("row_id", "concept", "dosages", "code", "mg"), DRUG_ROWS, ids=[r[0] for r in DRUG_ROWS])
def test_a_medication_statement_becomes_a_course_with_its_daily_dose(row_id, concept, dosages, code, mg):
    rxnorm, name = concept
    accepted(fb.statement(rxnorm=rxnorm, name=name, dosages=dosages))

    course = MedicationCourse.objects.select_related("drug").get()
    assert (course.drug.code, course.started_on, course.stopped_on) == (code, date(2025, 1, 6), None)
    assert list(course.dose_changes.values_list("effective_on", "dose_mg_per_day")) == [(date(2025, 1, 6), mg)]


def test_a_stopped_course_keeps_its_end_and_dose_changes_from_timing_bounds():
    dosages = [
        fb.dosage(
            40,
            timing={
                "repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "boundsPeriod": {"start": "2024-01-10"}}
            },
        ),
        fb.dosage(
            20,
            timing={
                "repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "boundsPeriod": {"start": "2024-03-01"}}
            },
        ),
    ]
    statement = fb.statement(
        start="2024-01-10",
        end="2024-06-30",
        dosages=dosages,
        statusReason=[{"coding": [{"system": "urn:aih-tracker:stop-reason", "code": "remission"}]}],
    )

    accepted(statement)

    course = MedicationCourse.objects.get()
    assert (course.stopped_on, course.stop_reason) == (date(2024, 6, 30), StopReason.REMISSION)
    assert list(course.dose_changes.values_list("effective_on", "dose_mg_per_day")) == [
        (date(2024, 1, 10), 40),
        (date(2024, 3, 1), 20),
    ]


def test_a_medication_request_starts_a_course_when_authored():
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": fb.RXNORM, "code": "1256"}]},
        "subject": fb.SUBJECT,
        "authoredOn": "2025-02-01",
        "dosageInstruction": [fb.dosage(50)],
    }

    accepted(request)

    course = MedicationCourse.objects.get()
    assert (course.drug.code, course.started_on) == ("azathioprine", date(2025, 2, 1))


@pytest.mark.parametrize(
    ("dosages", "kind", "reason"),
    [
        ([fb.dosage(1, unit="{tbl}")], "bad_unit", "dose in '{tbl}', not in mg"),
        ([{"text": "as directed"}], "bad_value", "no dose quantity ('as directed')"),
        (
            [{"asNeededBoolean": True, "doseAndRate": [{"doseQuantity": fb.quantity(5, "mg")}]}],
            "bad_value",
            "as needed",
        ),
    ],
    ids=["tablets", "free text only", "as needed"],
)
def test_a_followed_drug_without_a_usable_dose_is_quarantined(dosages, kind, reason):
    message = quarantined(fb.statement(dosages=dosages))

    [problem] = message.items
    assert problem["kind"] == kind and reason in problem["detail"]
    assert not MedicationCourse.objects.exists()


def test_a_drug_the_clinic_does_not_follow_is_skipped():
    message = accepted(fb.statement(rxnorm="316672", name="Simvastatin 10 MG"))

    assert "Simvastatin 10 MG: not a drug the clinic follows" in message.items[-1]["detail"]
    assert not MedicationCourse.objects.exists()


def test_importing_the_same_statement_twice_creates_one_course():
    accepted(fb.statement())
    message = run(fb.bundle(fb.statement(), fb.observation()))  # another file with the same course

    assert MedicationCourse.objects.count() == 1
    assert "already stored" in message.items[1]["detail"]


# -- Condition and Procedure -----------------------------------------------------------------------


def test_autoimmune_hepatitis_sets_the_diagnosis_date():
    accepted(fb.condition("408335007", onset="2024-01-10"))

    assert Patient.objects.get().diagnosis_date == date(2024, 1, 10)


def test_cirrhosis_sets_the_date_and_its_basis():
    evidence = [{"code": [{"coding": [{"system": "urn:aih-tracker:cirrhosis-basis", "code": "elastography"}]}]}]
    accepted(fb.condition("19943007", onset="2024-05-01", evidence=evidence))

    stored = Patient.objects.get()
    assert (stored.cirrhosis_diagnosed_on, stored.cirrhosis_basis) == (date(2024, 5, 1), "elastography")


def test_pregnancy_becomes_an_episode_with_onset_and_abatement():
    accepted(fb.condition("77386006", onset="2023-01-01", abatement="2023-09-30"))

    episode = PregnancyEpisode.objects.get()
    assert (episode.kind, episode.started_on, episode.ended_on) == ("pregnant", date(2023, 1, 1), date(2023, 9, 30))


@pytest.mark.parametrize(
    ("resource", "kind", "reason"),
    [
        (fb.condition("408335007", onset=None), "bad_time", "Autoimmune hepatitis: no onset date."),
        (fb.condition("408335007", onset="1950-01-01"), "bad_time", "outside the patient's life"),
    ],
)
def test_a_followed_condition_without_a_usable_date_is_quarantined(resource, kind, reason):
    message = quarantined(resource)

    assert message.items[0]["kind"] == kind and reason in message.items[0]["detail"]


def test_a_diagnosis_date_that_disagrees_with_the_record_is_a_conflict():
    PatientFactory(mrn="MAP-1", diagnosis_date=date(2020, 1, 1))

    message = quarantined(fb.condition("408335007", onset="2024-01-10"))

    assert message.items[0]["kind"] == "conflict"
    assert "the patient's record says since 2020-01-01" in message.reason


@pytest.mark.parametrize(
    "resource",
    [
        fb.condition("10509002"),
        fb.condition("408335007", verificationStatus={"coding": [{"code": "refuted"}]}),
        fb.procedure("430193006"),
        fb.procedure("312681000", status="not-done"),
    ],
    ids=["bronchitis", "refuted AIH", "medication reconciliation", "DEXA not done"],
)
def test_conditions_and_procedures_the_clinic_does_not_record_are_skipped(resource):
    message = accepted(resource)

    assert message.counts["skipped"] == 1
    assert not PregnancyEpisode.objects.exists() and not DexaScan.objects.exists()
    assert Patient.objects.get().diagnosis_date is None


def test_dexa_and_liver_biopsy_are_recorded_on_their_dates_once():
    resources = [
        fb.procedure("312681000", performed="2024-02-01"),
        fb.procedure("86259008", performed=None, performedPeriod={"start": "2024-01-15T09:00:00Z"}),
    ]
    accepted(*resources)
    accepted(*resources, fb.observation())  # again, in another file

    assert list(DexaScan.objects.values_list("scanned_on", flat=True)) == [date(2024, 2, 1)]
    assert list(LiverBiopsy.objects.values_list("performed_on", flat=True)) == [date(2024, 1, 15)]


# -- Bundles and files -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["collection", "transaction", "batch"])
def test_collection_transaction_and_batch_bundles_are_accepted(kind):
    accepted(fb.observation(), kind=kind)

    assert only_lab().analyte.code == "alt"


@pytest.mark.parametrize(
    ("text", "kind", "reason"),
    [
        ("not json", "malformed", "Not JSON"),
        ("[1, 2]", "malformed", "no resourceType"),
        (
            json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}),
            "unsupported",
            "Bundle type 'searchset'",
        ),
        (
            json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}),
            "malformed",
            "Entry has no resource.",
        ),
        (json.dumps({"resourceType": "Bundle", "type": "collection"}), "malformed", "The Bundle has no entries."),
    ],
)
def test_a_file_that_is_not_an_importable_fhir_resource_is_quarantined(text, kind, reason):
    message = run(text)

    assert message.status == InboundStatus.QUARANTINED
    assert message.items[0]["kind"] == kind and reason in message.items[0]["detail"]


def test_a_single_resource_file_is_imported():
    PatientFactory(mrn="K-9")
    message = run(json.dumps(fb.observation(subject={"identifier": {"value": "K-9"}})))

    assert message.status == InboundStatus.ACCEPTED
    assert only_lab().patient.mrn == "K-9"


def test_flags_are_skipped_because_the_engine_re_derives_alerts():
    flag = {"resourceType": "Flag", "status": "active", "code": {"text": "RESP-01"}, "subject": fb.SUBJECT}

    message = accepted(flag)

    assert "alerts are not imported" in message.items[-1]["detail"]


def test_the_import_command_reports_each_file(tmp_path, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    good = tmp_path / "good.json"
    good.write_text(fb.bundle(fb.observation()))
    bad = tmp_path / "bad.json"
    bad.write_text(fb.bundle(fb.observation(valueQuantity=fb.quantity(88, "mmol/L"))))

    with pytest.raises(CommandError, match="1 file\\(s\\) quarantined"):
        call_command("import_fhir", str(good), str(bad))

    out = capsys.readouterr().out
    assert "good.json: accepted" in out and "2 created" in out
    assert "bad.json: quarantined" in out and "ALT is not reported in 'mmol/L'" in out


def test_a_statement_without_any_dosage_still_records_the_course():
    statement = fb.statement()
    del statement["dosage"]

    message = accepted(statement)

    course = MedicationCourse.objects.get()
    assert not course.dose_changes.exists()
    assert "no dose given" in message.items[-1]["detail"]


@pytest.mark.parametrize("kind", ["Observaton", ""])
def test_an_unknown_resource_type_is_malformed_not_skipped(kind):
    message = quarantined({**fb.observation(), "resourceType": kind})

    assert message.items[0]["kind"] == "malformed"
    assert "is not a FHIR resource type" in message.items[0]["detail"]


def test_the_import_command_imports_into_the_clinic_it_is_given(tmp_path, capsys):
    from django.core.management import call_command

    from tests.factories import ClinicFactory

    other = ClinicFactory(slug="north")
    PatientFactory(mrn="MAP-1")  # the same MRN in the default clinic is another patient
    path = tmp_path / "north.json"
    path.write_text(fb.bundle(fb.observation()))

    call_command("import_fhir", str(path), "--clinic", "north")

    assert Patient.objects.get(clinic=other).mrn == "MAP-1"
    assert only_lab().patient.clinic == other
    assert "north.json: accepted" in capsys.readouterr().out


# -- what the safety rules need --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cvx", "vaccine"), [("43", "hbv"), ("08", "hbv"), ("52", "hav"), ("85", "hav"), ("104", "hav_hbv")]
)
def test_a_hepatitis_immunization_becomes_a_vaccination(cvx, vaccine):
    immunization = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]},
        "patient": fb.SUBJECT,
        "occurrenceDateTime": "2024-03-01",
        "protocolApplied": [{"doseNumberPositiveInt": 2}],
    }

    accepted(immunization)
    accepted(immunization, fb.observation())  # again: nothing new

    assert list(Vaccination.objects.values_list("vaccine", "dose_number", "given_on")) == [
        (vaccine, 2, date(2024, 3, 1))
    ]


def test_other_immunizations_are_skipped():
    flu = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}], "text": "Influenza"},
        "patient": fb.SUBJECT,
        "occurrenceDateTime": "2024-03-01",
    }

    message = accepted(flu)

    assert "Influenza: not a hepatitis A/B vaccine" in message.items[-1]["detail"]
    assert not Vaccination.objects.exists()


def test_a_tpmt_result_in_our_own_codes_is_read_back():
    tpmt = fb.observation(
        value=None,
        code={"coding": [{"system": "urn:aih-tracker:pharmacogenetics", "code": "tpmt"}]},
        valueCodeableConcept={"coding": [{"system": "urn:aih-tracker:metaboliser-phenotype", "code": "intermediate"}]},
        component=[
            {
                "code": {"coding": [{"system": "urn:aih-tracker:pharmacogenetics-part", "code": "activity"}]},
                "valueQuantity": {"value": 18, "unit": "U/mL RBC"},
            }
        ],
        referenceRange=[{"low": {"value": 10, "unit": "U/mL RBC"}}],
        when="2024-01-05",
    )

    accepted(tpmt)

    test = PharmacogeneticTest.objects.get()
    assert (test.gene, test.phenotype, test.activity, test.activity_unit, test.deficiency_cutoff) == (
        "tpmt",
        "intermediate",
        18,
        "U/mL RBC",
        10,
    )


def test_the_import_command_quarantines_a_broken_gzip_file(tmp_path, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")

    with pytest.raises(CommandError, match="1 file\\(s\\) quarantined"):
        call_command("import_fhir", str(broken))

    assert "broken.json.gz: quarantined" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"status": "intended"}, "status intended, not taken"),
        ({"status": "entered-in-error"}, "status entered-in-error"),
    ],
)
def test_a_statement_not_taken_is_skipped(change, detail):
    message = accepted({**fb.statement(), **change})

    assert detail in message.items[-1]["detail"]
    assert not MedicationCourse.objects.exists()


def test_a_proposed_medication_request_is_not_a_course():
    proposal = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "proposal",
        "medicationCodeableConcept": {"coding": [{"system": fb.RXNORM, "code": "1256"}]},
        "subject": fb.SUBJECT,
        "authoredOn": "2025-02-01",
        "dosageInstruction": [fb.dosage(50)],
    }

    message = accepted(proposal)

    assert "a proposal, not an order" in message.items[-1]["detail"]
    assert not MedicationCourse.objects.exists()


def test_a_stopped_course_without_an_end_date_is_quarantined():
    message = quarantined({**fb.statement(), "status": "stopped"})

    assert message.items[0]["kind"] == "bad_time"
    assert "stopped, but no end date says when" in message.items[0]["detail"]
