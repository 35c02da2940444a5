"""FHIR import of every third-party FHIR sample in tests/data/interop/, with the stored results."""

import gzip
import json
from pathlib import Path

import pytest

from monitoring.interop.fhir import import_fhir_text
from monitoring.interop.quarantine import reprocess
from monitoring.models import InboundStatus, LabResult, LabSource, LocalCode
from patients.models import Patient, WeightMeasurement
from tests.factories import PatientFactory, analyte, default_clinic

pytestmark = pytest.mark.django_db

INTEROP = Path(__file__).resolve().parents[1] / "data" / "interop"  # checksummed third-party samples
SYNTHEA = INTEROP / "synthea-r4-fhiry" / "cfhir.json.gz"
SYNTHEA_SUBSET = INTEROP / "synthea-r4-fhiry" / "cfhir-labs-subset.json"
US_CORE = INTEROP / "fhir-r4-us-core"
SYNTHEA_MRN = "41166989-975d-4d17-b9de-17f94cb3eec1"  # the MR identifier, a UUID, stored as sent


def synthea_text() -> str:
    return gzip.decompress(SYNTHEA.read_bytes()).decode("utf-8")


def stored(code: str) -> list[LabResult]:
    return list(LabResult.objects.filter(analyte__code=code).order_by("collected_at"))


def map_synthea_total_protein_to_g_per_l():
    """Synthea writes total protein as 79.4 "g/dL" (the number is g/L): the clinic's fix is a
    local code entry that reads LOINC 2885-2 in g/L, whatever unit the file says."""
    LocalCode.objects.create(
        clinic=default_clinic(), system="http://loinc.org", code="2885-2", analyte=analyte("total_protein"), unit="g/L"
    )


def test_the_synthea_bundle_waits_in_quarantine_for_its_implausible_total_protein_with_nothing_stored():
    message = import_fhir_text(synthea_text(), clinic=default_clinic(), origin="cfhir.json")

    assert message.status == InboundStatus.QUARANTINED
    assert [item["kind"] for item in message.items] == ["bad_value"] * 8
    assert "Total protein 793.953 g/L is outside the plausible range" in message.reason
    assert not Patient.objects.exists() and not LabResult.objects.exists()

    map_synthea_total_protein_to_g_per_l()
    message = reprocess(message)

    assert message.status == InboundStatus.REPROCESSED, message.reason
    assert len(stored("alt")) == 8
    assert stored("total_protein")[0].value == pytest.approx(79.3953)


def test_the_synthea_transaction_bundle_imports_eight_years_of_liver_panels():
    map_synthea_total_protein_to_g_per_l()
    message = import_fhir_text(synthea_text(), clinic=default_clinic(), origin="cfhir.json")

    assert message.status == InboundStatus.ACCEPTED, message.reason
    patient = Patient.objects.get(mrn=SYNTHEA_MRN)
    assert message.patient == patient
    alts = stored("alt")
    assert len(alts) == 8
    assert sorted({r.collected_at.year for r in alts}) == list(range(2012, 2020))
    for code in ("ast", "bilirubin", "alp", "albumin", "total_protein"):
        assert len(stored(code)) == 8, code
    assert all(r.source == LabSource.FHIR and r.source_id.startswith("urn:uuid:") for r in alts)
    # Bilirubin arrives in mg/dL and is stored in µmol/L (× 17.1); albumin g/dL -> g/L (× 10).
    bilirubin = stored("bilirubin")[0]
    assert bilirubin.unit_as_reported == "mg/dL"
    assert bilirubin.value == pytest.approx(float(bilirubin.value_as_reported) * 17.1, rel=1e-5)
    assert stored("albumin")[0].value == pytest.approx(float(stored("albumin")[0].value_as_reported) * 10, rel=1e-5)
    # Two CBCs: haemoglobin, white cells, platelets; glucose and sodium from every metabolic panel.
    assert len(stored("haemoglobin")) == len(stored("wbc")) == len(stored("platelets")) == 2
    # Synthea reports the 2012-06-29 basic panel twice (same times, same values): stored once.
    assert len(stored("glucose")) == len(stored("sodium")) == 19
    assert WeightMeasurement.objects.filter(patient=patient).count() == 12
    # Everything else is listed as skipped, not quarantined: cholesterol, claims, paracetamol ...
    assert message.counts["skipped"] > 300
    details = " ".join(item["detail"] for item in message.items)
    assert "Total Cholesterol (LOINC 2093-3): not an analyte the clinic follows" in details
    assert "Acetaminophen 325 MG Oral Tablet: not a drug the clinic follows" in details


def test_importing_the_synthea_bundle_twice_creates_nothing_new():
    map_synthea_total_protein_to_g_per_l()
    first = import_fhir_text(synthea_text(), clinic=default_clinic())
    labs = LabResult.objects.count()
    again = import_fhir_text(synthea_text(), clinic=default_clinic())

    assert first.status == InboundStatus.ACCEPTED
    assert again.status == InboundStatus.DUPLICATE and again.duplicate_of == first
    assert LabResult.objects.count() == labs


def test_the_synthea_labs_subset_adds_nothing_to_the_full_bundle():
    map_synthea_total_protein_to_g_per_l()
    import_fhir_text(synthea_text(), clinic=default_clinic())
    labs = LabResult.objects.count()

    subset = import_fhir_text(SYNTHEA_SUBSET.read_text(), clinic=default_clinic())

    assert subset.status == InboundStatus.ACCEPTED, subset.reason
    assert subset.counts["created"] == 0
    assert subset.counts["unchanged"] > 50
    assert LabResult.objects.count() == labs


def test_the_synthea_labs_subset_alone_stores_the_liver_panels():
    map_synthea_total_protein_to_g_per_l()
    message = import_fhir_text(SYNTHEA_SUBSET.read_text(), clinic=default_clinic())

    assert message.status == InboundStatus.ACCEPTED, message.reason
    assert len(stored("alt")) == 8


US_CORE_RESULTS = {
    # file -> (analyte stored, value in canonical unit) once the patient is known
    "observation-cbc-hemoglobin.json": ("haemoglobin", None),
    "observation-cbc-platelets.json": ("platelets", None),
    "observation-cbc-leukocytes.json": ("wbc", None),
    "observation-serum-creatinine.json": ("creatinine", 88.4),  # 1 mg/dL
    "observation-serum-glucose.json": ("glucose", None),
}
US_CORE_NOT_FOLLOWED = [
    "observation-cbc-erythrocytes.json",
    "observation-cbc-hematocrit.json",
    "observation-cbc-mch.json",
    "observation-cbc-mchc.json",
    "observation-cbc-mcv.json",
]


@pytest.mark.parametrize("name", sorted(US_CORE_RESULTS))
def test_a_us_core_lab_about_an_unknown_patient_is_quarantined_then_imported_once_staff_pick_the_patient(name):
    message = import_fhir_text((US_CORE / name).read_text(), clinic=default_clinic(), origin=name)

    assert message.status == InboundStatus.QUARANTINED
    assert message.items[0]["kind"] == "unknown_patient"
    assert "Patient/example" in message.reason
    assert not LabResult.objects.exists()

    message.patient = PatientFactory()
    message.save()
    message = reprocess(message)

    assert message.status == InboundStatus.REPROCESSED, message.reason
    code, value = US_CORE_RESULTS[name]
    result = LabResult.objects.get()
    assert result.analyte.code == code and result.patient == message.patient
    if value is not None:
        assert result.value == pytest.approx(value)
        assert result.ref_high == pytest.approx(0.6 * 88.4)


@pytest.mark.parametrize("name", US_CORE_NOT_FOLLOWED)
def test_a_us_core_lab_the_clinic_does_not_follow_is_skipped(name):
    message = import_fhir_text((US_CORE / name).read_text(), clinic=default_clinic())

    assert message.status == InboundStatus.ACCEPTED
    assert message.counts == {"created": 0, "updated": 0, "unchanged": 0, "skipped": 1}
    assert "not an analyte the clinic follows" in message.items[0]["detail"]


@pytest.mark.parametrize("name", ["diagnosticreport-cbc.json", "diagnosticreport-metabolic-panel.json"])
def test_a_diagnostic_report_is_skipped_because_its_observations_carry_the_results(name):
    # diagnosticreport-cbc.json is not even valid R4 (text without div): a skipped type is not validated.
    message = import_fhir_text((US_CORE / name).read_text(), clinic=default_clinic())

    assert message.status == InboundStatus.ACCEPTED
    assert message.counts["skipped"] == 1


def test_every_fhir_sample_is_covered_by_these_tests():
    covered = (
        set(US_CORE_RESULTS)
        | set(US_CORE_NOT_FOLLOWED)
        | {
            "diagnosticreport-cbc.json",
            "diagnosticreport-metabolic-panel.json",
        }
    )
    assert {p.name for p in US_CORE.glob("*.json")} == covered
    assert {p.name for p in SYNTHEA.parent.glob("*.json*")} == {SYNTHEA.name, SYNTHEA_SUBSET.name}
    assert json.loads(SYNTHEA_SUBSET.read_text())["type"] == "collection"


def test_the_import_command_reads_the_gzipped_synthea_file(capsys):
    from django.core.management import call_command

    map_synthea_total_protein_to_g_per_l()
    call_command("import_fhir", str(SYNTHEA))

    assert "cfhir.json.gz: accepted" in capsys.readouterr().out
    assert len(stored("alt")) == 8
