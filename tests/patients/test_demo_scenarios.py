"""Each built-in demo scenario raises the alert it was built to raise (issue: monitoring engine)."""

from datetime import date

import pytest
from django.db import transaction

from monitoring.evaluation import evaluate_patients
from monitoring.models import Alert, AlertStatus
from patients.demo_cohort import SCENARIOS, scenario_mrn, seed_demo_cohort
from patients.models import Patient

AS_OF = date(2026, 11, 2)

EXPECTED = {
    "insufficient_responder": "RESP-02",
    "relapse_after_withdrawal": "REL-03",  # within 12 months of stopping, ALT ≥ 3× ULN
    "aza_cholestatic_hepatotoxicity": "HEP-01",
    "hypermethylator": "TPM-02",
    "tpmt_intermediate": "AZA-03",
    "cirrhotic_on_budesonide": "CI-01",
    "pregnant_on_mmf": "CI-04",
    "acute_severe_aih": "ASA-02",
    "non_adherent": "MON-01",
    "steroid_needs_dexa": "STER-01",
}
# What a responder doing well must never trigger: failed response, relapse, toxicity, contraindications.
FAILURE_RULES = {
    "RESP-01", "RESP-02", "RESP-05", "REL-01", "REL-02", "REL-03", "HEP-01", "HEP-02", "HEP-03",
    "TPM-01", "TPM-02", "TPM-03", "TPM-04", "TPM-05", "AZA-06", "MON-01", "MON-03", "CI-01", "CI-04",
    "ASA-01", "ASA-02", "LT-01", "LT-02",
}  # fmt: skip


@pytest.fixture(scope="module")
def evaluated(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        seed_demo_cohort(patients=len(SCENARIOS), seed=1, as_of=AS_OF)
        ids = list(Patient.objects.filter(mrn__in=[scenario_mrn(k) for k in SCENARIOS]).values_list("pk", flat=True))
        evaluations, _ = evaluate_patients(ids, AS_OF)
        rules = {
            mrn: {f.rule_id for f in e.findings}
            for e in evaluations
            for mrn in Patient.objects.filter(pk=e.patient_id).values_list("mrn", flat=True)
        }
        yield rules
        transaction.set_rollback(True)  # leave the database as the other tests expect it


@pytest.mark.django_db
@pytest.mark.parametrize(("scenario", "rule"), sorted(EXPECTED.items()))
def test_scenario_raises_its_alert(evaluated, scenario, rule):
    assert rule in evaluated[scenario_mrn(scenario)]
    assert Alert.objects.filter(patient__mrn=scenario_mrn(scenario), rule_id=rule, status=AlertStatus.OPEN).exists()


@pytest.mark.django_db
def test_the_non_adherent_patient_also_shows_the_low_metabolite_pattern(evaluated):
    assert "TPM-01" in evaluated[scenario_mrn("non_adherent")]  # §2.5: low 6-TGN with low 6-MMP


@pytest.mark.django_db
def test_the_complete_responder_raises_none_of_the_failure_alerts(evaluated):
    assert evaluated[scenario_mrn("complete_responder")] & FAILURE_RULES == set()
