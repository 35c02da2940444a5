"""A result that reports only a lower limit (FHIR referenceRange.low alone, HL7 OBX-7 '>7') still has a ULN
(issue 14): the clinic's interval for the patient's sex, else the typical value, and the alert says which.

clinical-rules.md §0A A-12: "if a result has no ULN, the clinic's reference interval for that analyte and sex;
if none, the typical value in §4.1, and the alert says so". REL-02: after CBR, ALT ≥ 3× ULN is a relapse.
"""

from datetime import UTC, date, datetime

import pytest

from aih_tracker.models import Clinic
from monitoring.alerts.evidence import lab_text
from monitoring.engine.response import State
from monitoring.evaluation import evaluate_patients
from monitoring.models import ReferenceInterval
from patients.models import Sex
from regimens.models import DoseChange
from tests.factories import CourseFactory, LabResultFactory, PatientFactory, analyte

pytestmark = pytest.mark.django_db

START = date(2025, 1, 6)


def on(year, month, day):
    return datetime(year, month, day, 9, tzinfo=UTC)


def remission_then_alt_300(sex, **range_):
    """Prednisolone from 2025-01-06; ALT and IgG normal at month 3 (CBR); then ALT 300 U/L with `range_`."""
    patient = PatientFactory(sex=sex)
    course = CourseFactory(patient=patient, started_on=START)
    DoseChange.objects.create(course=course, effective_on=START, dose_mg_per_day=40)
    LabResultFactory(patient=patient, value=400, ref_low=0, ref_high=40, collected_at=on(2025, 1, 5))
    LabResultFactory(patient=patient, value=25, ref_low=0, ref_high=40, collected_at=on(2025, 4, 1))
    LabResultFactory(patient=patient, analyte=analyte("igg"), value=12, ref_high=16, collected_at=on(2025, 4, 1))
    LabResultFactory(patient=patient, value=300, collected_at=on(2025, 9, 1), **range_)
    return patient


ROWS = [
    # (id citing the spec, patient's sex, clinic interval for ALT, expected ULN, what the evidence says)
    ("A-12 typical §4.1 ALT 40", Sex.FEMALE, None, 40, "typical range"),
    ("A-12 clinic interval for women", Sex.FEMALE, ("female", 25), 25, "clinic range"),
    ("A-12 clinic interval any sex", Sex.MALE, ("any", 33), 33, "clinic range"),
]


@pytest.mark.parametrize(("row_id", "sex", "interval", "uln", "said"), ROWS, ids=[r[0] for r in ROWS])
def test_alt_300_with_only_a_lower_limit_after_remission_is_a_relapse(row_id, sex, interval, uln, said):
    if interval:
        ReferenceInterval.objects.create(
            clinic=Clinic.default(), analyte=analyte("alt"), sex=interval[0], high=interval[1]
        )
    patient = remission_then_alt_300(sex, ref_low=7, ref_high=None)

    [evaluation], _ = evaluate_patients([patient.pk], date(2025, 9, 5))

    assert evaluation.response.current not in (State.COMPLETE_RESPONSE, State.REMISSION)
    [relapse] = [f for f in evaluation.findings if f.rule_id == "REL-02"]
    [alt] = [item for item in relapse.evidence.values() if isinstance(item, dict) and item.get("test") == "ALT"]
    assert (alt["uln"], alt["x_uln"]) == (uln, round(300 / uln, 2))
    assert f"ULN {uln}, {said}" in lab_text(alt)
