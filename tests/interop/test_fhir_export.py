"""FHIR export: a valid R4 Bundle of one patient, and a round trip through an empty database."""

import json
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from aih_tracker.roles import Role
from monitoring.evaluation import evaluate_patients
from monitoring.interop.fhir import import_fhir_text
from monitoring.interop.fhir_export import export_patient, export_patient_json
from monitoring.labs.services import LabValue, record_lab_result
from monitoring.models import Alert, InboundStatus, LabResult, LabSource
from patients.models import CirrhosisBasis, DexaScan, LiverBiopsy, Patient, PregnancyEpisode, WeightMeasurement
from regimens.models import MedicationCourse, StopReason
from tests.factories import (
    ClinicFactory,
    CourseFactory,
    DoseChangeFactory,
    PatientFactory,
    UserFactory,
    analyte,
    default_clinic,
    drug,
)

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 9, 1)


def lab(patient, code, on, value, unit, high=None, low=None, source=LabSource.MANUAL, source_id=""):
    when = datetime.fromisoformat(on).replace(hour=9, tzinfo=UTC)
    value = LabValue(analyte=analyte(code), value=value, unit=unit, collected_at=when, ref_low=low, ref_high=high)
    return record_lab_result(patient=patient, lab=value, source=source, source_id=source_id)


def course(patient, code, doses, stopped_on=None, stop_reason=""):
    started = doses[0][0]
    made = CourseFactory(
        patient=patient, drug=drug(code), started_on=started, stopped_on=stopped_on, stop_reason=stop_reason
    )
    for on, mg in doses:
        DoseChangeFactory(course=made, effective_on=on, dose_mg_per_day=mg)
    return made


@pytest.fixture
def followed_patient():
    """A patient on steroids and azathioprine with two years of labs and every exported kind of record."""
    patient = PatientFactory(
        mrn="RT-001",
        given_name="Ada Mary",
        family_name="Lovelace",
        date_of_birth=date(1975, 3, 2),
        diagnosis_date=date(2024, 1, 10),
        cirrhosis_diagnosed_on=date(2024, 1, 20),
        cirrhosis_basis=CirrhosisBasis.HISTOLOGY,
    )
    for on, alt in [("2024-01-08", 820), ("2024-02-05", 300), ("2024-04-01", 95), ("2024-07-15", 62)]:
        lab(patient, "alt", on, alt, "U/L", high=40)
    lab(patient, "alt", "2025-06-02", 58, "IU/L", high=35, low=5, source=LabSource.HL7, source_id="LAB|123|1")
    lab(patient, "bilirubin", "2024-01-08", 4.2, "mg/dL", high=1.2)  # stored as 71.82 µmol/L
    lab(patient, "igg", "2024-01-08", 2600, "mg/dL", high=1600)  # stored as 26 g/L
    lab(patient, "platelets", "2024-01-08", 140, "10*9/L")
    lab(patient, "tgn", "2024-07-15", 180, "pmol/8x10^8 RBC")  # no LOINC: our own analyte code
    course(
        patient,
        "prednisolone",
        [(date(2024, 1, 10), 40), (date(2024, 2, 7), 30), (date(2024, 3, 6), 20), (date(2024, 5, 1), 10)],
        stopped_on=date(2024, 9, 1),
        stop_reason=StopReason.REMISSION,
    )
    course(patient, "azathioprine", [(date(2024, 2, 1), 50), (date(2024, 3, 1), 100)])
    course(patient, "calcium_vitamin_d", [(date(2024, 1, 10), 0)])  # no RxNorm code: our own drug code
    WeightMeasurement.objects.create(patient=patient, measured_on=date(2024, 1, 8), weight_kg=64.5)
    DexaScan.objects.create(patient=patient, scanned_on=date(2024, 2, 1))
    LiverBiopsy.objects.create(patient=patient, performed_on=date(2024, 1, 15))
    PregnancyEpisode.objects.create(patient=patient, started_on=date(2023, 1, 1), ended_on=date(2023, 9, 30))
    evaluate_patients([patient.pk], as_of=AS_OF)
    return patient


def snapshot(patient: Patient) -> dict:
    """What the round trip must reproduce, without database ids."""
    return {
        "patient": (
            patient.mrn,
            patient.family_name,
            patient.given_name,
            patient.date_of_birth,
            patient.sex,
            patient.diagnosis_date,
            patient.cirrhosis_diagnosed_on,
            patient.cirrhosis_basis,
        ),
        "labs": sorted(
            (r.analyte.code, r.collected_at, round(r.value, 6), r.ref_low, r.ref_high, r.status)
            for r in LabResult.objects.filter(patient=patient).select_related("analyte")
        ),
        "courses": sorted(
            (
                c.drug.code,
                c.started_on,
                c.stopped_on,
                c.stop_reason,
                tuple((d.effective_on, d.dose_mg_per_day) for d in c.dose_changes.order_by("effective_on")),
            )
            for c in MedicationCourse.objects.filter(patient=patient).select_related("drug")
        ),
        "weights": sorted(WeightMeasurement.objects.filter(patient=patient).values_list("measured_on", "weight_kg")),
        "dexa": sorted(DexaScan.objects.filter(patient=patient).values_list("scanned_on", flat=True)),
        "biopsies": sorted(LiverBiopsy.objects.filter(patient=patient).values_list("performed_on", flat=True)),
        "pregnancies": sorted(PregnancyEpisode.objects.filter(patient=patient).values_list("started_on", "ended_on")),
        "open_rules": sorted(Alert.objects.filter(patient=patient).unresolved().values_list("rule_id", flat=True)),
    }


def test_the_export_is_a_valid_r4_bundle_with_every_kind_of_record(followed_patient):
    data = export_patient(followed_patient)

    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds.count("Patient") == 1
    assert kinds.count("Observation") == 9 + 1  # nine lab results and one body weight
    assert kinds.count("MedicationStatement") == 3
    assert kinds.count("Condition") == 3  # AIH, cirrhosis, one pregnancy
    assert kinds.count("Procedure") == 2
    open_alerts = Alert.objects.filter(patient=followed_patient).unresolved().count()
    assert open_alerts > 0
    assert kinds.count("Flag") == open_alerts
    # Every reference points at the Patient entry.
    patient_url = bundle.entry[0].fullUrl
    assert all(e.resource.subject.reference == patient_url for e in bundle.entry[1:])


def test_a_course_exports_one_dosage_per_dose_change_bounded_by_the_dates_it_was_in_force(followed_patient):
    statements = [
        e["resource"]
        for e in export_patient(followed_patient)["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
    ]
    prednisolone = next(s for s in statements if s["medicationCodeableConcept"]["coding"][0]["code"] == "8638")

    assert prednisolone["effectivePeriod"] == {"start": "2024-01-10", "end": "2024-09-01"}
    assert [d["timing"]["repeat"]["boundsPeriod"] for d in prednisolone["dosage"]] == [
        {"start": "2024-01-10", "end": "2024-02-06"},
        {"start": "2024-02-07", "end": "2024-03-05"},
        {"start": "2024-03-06", "end": "2024-04-30"},
        {"start": "2024-05-01", "end": "2024-09-01"},
    ]
    assert [d["doseAndRate"][0]["doseQuantity"]["value"] for d in prednisolone["dosage"]] == [40, 30, 20, 10]
    assert prednisolone["statusReason"][0]["coding"][0]["code"] == "remission"


def test_importing_an_export_into_an_empty_database_reproduces_labs_courses_and_alerts(followed_patient):
    before = snapshot(followed_patient)
    text = export_patient_json(followed_patient)
    followed_patient.delete()
    assert not Patient.objects.exists() and not LabResult.objects.exists() and not Alert.objects.exists()

    message = import_fhir_text(text, clinic=default_clinic(), origin="export.json")
    assert message.status == InboundStatus.ACCEPTED, message.reason
    patient = Patient.objects.get(mrn="RT-001")
    # Alerts are not imported from the Flags: the engine re-derives them from the imported data.
    assert not Alert.objects.exists()
    assert any("alerts are not imported" in item["detail"] for item in message.items)
    evaluate_patients([patient.pk], as_of=AS_OF)

    assert snapshot(patient) == before
    assert before["open_rules"]


def test_importing_an_export_into_the_same_database_creates_nothing_new(followed_patient):
    before = snapshot(followed_patient)

    message = import_fhir_text(export_patient_json(followed_patient), clinic=default_clinic())

    assert message.status == InboundStatus.ACCEPTED, message.reason
    assert message.counts["created"] == 0 and message.counts["updated"] == 0
    assert snapshot(followed_patient) == before


def test_the_export_command_writes_the_bundle_to_a_file(followed_patient, tmp_path):
    out = tmp_path / "rt-001.json"

    call_command("export_fhir", "--mrn", "RT-001", "-o", str(out))

    bundle = Bundle.model_validate(json.loads(out.read_text()))
    assert bundle.entry[0].resource.identifier[0].value == "RT-001"


def test_the_export_command_refuses_an_unknown_mrn():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No patient with MRN NOPE"):
        call_command("export_fhir", "--mrn", "NOPE")


@pytest.mark.parametrize(
    ("role", "status"), [(Role.PHYSICIAN, 200), (Role.ADMIN, 200), (Role.NURSE, 403), (Role.STAFF, 403)]
)
def test_the_fhir_download_is_for_the_roles_that_export_data(client, followed_patient, role, status):
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("monitoring:patient_fhir", args=[followed_patient.pk]))

    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"].startswith("application/fhir+json")
        assert "attachment" in response["Content-Disposition"]
        assert Bundle.model_validate(json.loads(response.content)).entry[0].resource.identifier[0].value == "RT-001"


def test_another_clinics_patient_cannot_be_exported(client, followed_patient):
    client.force_login(UserFactory(role=Role.PHYSICIAN, clinic=ClinicFactory()))

    assert client.get(reverse("monitoring:patient_fhir", args=[followed_patient.pk])).status_code == 404


def test_the_patient_page_offers_the_export_to_physicians_only(client, followed_patient):
    url = reverse("patients:detail", args=[followed_patient.pk])
    export = reverse("monitoring:patient_fhir", args=[followed_patient.pk])
    client.force_login(UserFactory(role=Role.PHYSICIAN))
    assert export in client.get(url).content.decode()
    client.force_login(UserFactory(role=Role.NURSE))
    assert export not in client.get(url).content.decode()
