"""Properties of the engine that must hold for any patient (hypothesis)."""

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.alerts.reconcile import reconcile
from monitoring.engine.evaluate import evaluate
from monitoring.engine.loader import load_timelines
from monitoring.evaluation import evaluate_patients
from monitoring.labs.services import LabValue, record_lab_result
from monitoring.models import Alert, plausible_uln_bounds
from monitoring.parameters import defaults
from monitoring.rules.base import Finding, Severity
from regimens.models import DoseChange
from tests.factories import CourseFactory, PatientFactory, analyte
from tests.strategies import as_of_dates, timelines

PARAMS = defaults()
DB_EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def summary(evaluation):
    return (
        [(f.rule_id, f.severity, f.message, f.evidence) for f in evaluation.findings],
        [(n.rule_id, n.missing) for n in evaluation.not_evaluable],
        [(c.on, c.state) for c in evaluation.response.changes],
    )


@settings(max_examples=200, deadline=None)
@given(timeline=timelines(), as_of=as_of_dates)
def test_evaluation_is_deterministic_and_never_crashes(timeline, as_of):
    first = evaluate(timeline, as_of, PARAMS)
    second = evaluate(timeline, as_of, PARAMS)
    assert summary(first) == summary(second)
    for finding in first.findings:
        assert finding.severity in Severity
        assert finding.message and finding.source and finding.action


@settings(max_examples=100, deadline=None)
@given(timeline=timelines(), later=timelines(patient_id=1), as_of=as_of_dates)
def test_data_after_the_as_of_date_change_nothing(timeline, later, as_of):
    """--as-of makes every date-driven rule reproducible: future rows are invisible."""
    future_labs = {
        code: tuple(lab._replace(on=as_of + timedelta(days=365)) for lab in series)
        for code, series in later.labs.items()
    }
    merged = {code: timeline.labs.get(code, ()) + future_labs.get(code, ()) for code in {*timeline.labs, *future_labs}}
    assert summary(evaluate(timeline, as_of, PARAMS)) == summary(
        evaluate(replace(timeline, labs=merged), as_of, PARAMS)
    )


finding_sets = st.lists(
    st.lists(
        st.builds(
            Finding,
            rule_id=st.sampled_from(["AZA-06", "MON-01", "REL-01", "CI-01"]),
            severity=st.sampled_from(list(Severity)),
            message=st.just("test finding"),
            evidence=st.fixed_dictionaries({"value": st.integers(0, 3)}),
            action=st.just("act"),
            source=st.just("spec"),
            parameters=st.just({}),
        ),
        max_size=4,
        unique_by=lambda f: f.rule_id,
    ),
    min_size=1,
    max_size=5,
)


@pytest.mark.django_db
@DB_EXAMPLES
@given(history=finding_sets)
def test_reconciling_twice_equals_reconciling_once(history):
    patient = PatientFactory()
    for findings in history:
        reconcile({patient.pk: findings})
    before = list(Alert.objects.filter(patient=patient).order_by("pk").values())
    result = reconcile({patient.pk: history[-1]})
    assert (result.opened, result.updated, result.resolved, result.woken) == (0, 0, 0, 0)
    assert list(Alert.objects.filter(patient=patient).order_by("pk").values()) == before
    open_rules = set(Alert.objects.filter(patient=patient).exclude(status="resolved").values_list("rule_id", flat=True))
    assert open_rules == {f.rule_id for f in history[-1]}


def stored_patient(values: list[tuple[int, int]]):
    """A patient on prednisolone with ALT results (day offset, value)."""
    patient = PatientFactory()
    course = CourseFactory(patient=patient)
    DoseChange.objects.create(course=course, effective_on=course.started_on, dose_mg_per_day=40)
    for offset, value in values:
        collected = datetime(2025, 1, 6, 9, tzinfo=UTC).replace(day=1 + offset % 28, month=1 + offset % 12)
        record_lab_result(patient=patient, lab=LabValue(analyte("alt"), value, "U/L", collected, ref_high=40))
    return patient


@pytest.mark.django_db
@DB_EXAMPLES
@given(
    mine=st.lists(st.tuples(st.integers(0, 300), st.integers(5, 900)), min_size=1, max_size=6),
    theirs=st.lists(st.tuples(st.integers(0, 300), st.integers(5, 900)), min_size=1, max_size=6),
    as_of=st.dates(datetime(2025, 1, 1).date(), datetime(2026, 12, 31).date()),
)
def test_adding_an_unrelated_patient_changes_no_one_elses_findings(mine, theirs, as_of):
    patient = stored_patient(mine)
    alone = load_timelines([patient.pk])[patient.pk]
    before = summary(evaluate(alone, as_of, PARAMS))
    other = stored_patient(theirs)
    together = load_timelines([patient.pk, other.pk])
    assert together[patient.pk] == alone
    assert summary(evaluate(together[patient.pk], as_of, PARAMS)) == before
    evaluations, _ = evaluate_patients([patient.pk, other.pk], as_of)
    assert summary(next(e for e in evaluations if e.patient_id == patient.pk)) == before


# (analyte, unit the lab reports in, factor to the canonical unit, decimals the lab reports,
#  plausible range in that unit as (low, high) steps of 10**-decimals)
UNIT_PAIRS = [
    ("alt", "ukat/L", 60, 2, (1, 5000)),
    ("bilirubin", "mg/dL", 17.1, 1, (1, 500)),
    ("igg", "mg/dL", 0.01, 0, (100, 6000)),
    ("albumin", "g/dL", 10, 1, (6, 60)),
    ("creatinine", "mg/dL", 88.4, 2, (10, 1500)),
]


@pytest.mark.django_db
@DB_EXAMPLES
@given(
    pair=st.sampled_from(UNIT_PAIRS),
    data=st.data(),
    as_of=st.dates(datetime(2025, 2, 1).date(), datetime(2026, 6, 30).date()),
)
def test_a_result_in_another_accepted_unit_gives_the_same_findings(pair, data, as_of):
    code, unit, factor, decimals, (low, high) = pair
    readings = data.draw(st.lists(st.integers(low, high), min_size=1, max_size=5))
    step = 10**-decimals
    # A ULN the entry paths accept (models.plausible_uln_bounds), in steps of the lab's unit.
    lowest, highest = plausible_uln_bounds(analyte(code))
    uln_steps = data.draw(st.integers(math.floor(lowest / factor / step) + 1, math.floor(highest / factor / step)))
    canonical_unit = analyte(code).canonical_unit
    patients = []
    for as_reported in (True, False):
        patient = stored_patient([(0, 300)])
        for index, steps in enumerate(readings):
            value, uln = steps * step, uln_steps * step
            if not as_reported:  # the same result, converted by hand to the canonical unit
                value, uln, unit_used = round(value * factor, 6), round(uln * factor, 6), canonical_unit
            else:
                unit_used = unit
            collected = datetime(2025, 1, 10 + index, 9, tzinfo=UTC)
            record_lab_result(patient=patient, lab=LabValue(analyte(code), value, unit_used, collected, ref_high=uln))
        patients.append(patient)
    timelines_ = load_timelines([p.pk for p in patients])
    reported, converted = (evaluate(timelines_[p.pk], as_of, PARAMS) for p in patients)
    assert summary(reported) == summary(converted)
