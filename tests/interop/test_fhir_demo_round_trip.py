"""Every demo scenario patient survives a FHIR round trip into another clinic: the same labs, courses,
events and safety records, and (re-derived by the engine) the same open alerts."""

from datetime import date

import pytest

from monitoring.evaluation import evaluate_patients
from monitoring.interop.fhir import import_fhir_text
from monitoring.interop.fhir_export import export_patient_json
from monitoring.models import Alert, InboundStatus, LabResult
from patients.demo_cohort import SCENARIOS, scenario_mrn, seed_demo_cohort
from patients.models import (
    AcuteSevereEpisode,
    DexaScan,
    HepatitisImmunity,
    LiverBiopsy,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    PregnancyKind,
    Vaccination,
    WeightMeasurement,
)
from regimens.models import MedicationCourse, StopReason
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 2)


def data_of(patient: Patient) -> dict:
    def reason(course):  # the adverse event an intolerance names is not exchanged
        return StopReason.OTHER if course.stop_reason == StopReason.INTOLERANCE else course.stop_reason

    return {
        "dates": (
            patient.date_of_birth,
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
                reason(c),
                tuple(c.dose_changes.order_by("effective_on").values_list("effective_on", "dose_mg_per_day")),
            )
            for c in MedicationCourse.objects.filter(patient=patient).select_related("drug")
        ),
        "weights": sorted(WeightMeasurement.objects.filter(patient=patient).values_list("measured_on", "weight_kg")),
        "dexa": sorted(DexaScan.objects.filter(patient=patient).values_list("scanned_on", flat=True)),
        "biopsies": sorted(LiverBiopsy.objects.filter(patient=patient).values_list("performed_on", flat=True)),
        "pharmacogenetics": sorted(
            PharmacogeneticTest.objects.filter(patient=patient).values_list(
                "gene", "phenotype", "tested_on", "activity", "activity_unit", "deficiency_cutoff", "genotype"
            )
        ),
        "immunity": sorted(
            HepatitisImmunity.objects.filter(patient=patient).values_list("virus", "status", "tested_on")
        ),
        "vaccinations": sorted(
            Vaccination.objects.filter(patient=patient).values_list("vaccine", "dose_number", "given_on")
        ),
        "acute": sorted(
            AcuteSevereEpisode.objects.filter(patient=patient).values_list(
                "presented_on", "steroid_day0", "ended_on", "hepatic_encephalopathy"
            )
        ),
        "pregnancies": sorted(
            PregnancyEpisode.objects.filter(patient=patient, kind=PregnancyKind.PREGNANT).values_list(
                "started_on", "ended_on"
            )
        ),
    }


def open_rules(patient: Patient) -> set[str]:
    return set(Alert.objects.filter(patient=patient).unresolved().values_list("rule_id", flat=True))


def test_every_demo_scenario_round_trips_through_fhir_into_another_clinic():
    seed_demo_cohort(patients=len(SCENARIOS), seed=1, as_of=AS_OF)
    copy_clinic = ClinicFactory(slug="copy")
    differing = {}
    alerts = 0
    for key in SCENARIOS:
        original = Patient.objects.get(mrn=scenario_mrn(key))
        evaluate_patients([original.pk], AS_OF)

        message = import_fhir_text(export_patient_json(original), clinic=copy_clinic, origin=f"{key}.json")

        assert message.status == InboundStatus.ACCEPTED, (key, message.reason)
        copy = Patient.objects.get(clinic=copy_clinic, mrn=original.mrn)
        assert data_of(copy) == data_of(original), key
        evaluate_patients([copy.pk], AS_OF)
        alerts += len(open_rules(original))
        if open_rules(copy) != open_rules(original):
            differing[key] = (
                sorted(open_rules(original) - open_rules(copy)),
                sorted(open_rules(copy) - open_rules(original)),
            )
    assert differing == {}  # (rules only in the original, rules only in the copy) per scenario
    assert alerts >= len(SCENARIOS)  # each scenario raises at least its own alert
