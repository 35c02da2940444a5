"""The engine never contradicts itself (issue: clinical safety under real-world data).

Over random timelines whose results carry any range a lab may send (the usual one, none, a lower
limit alone, any upper limit), the engine never raises, and no finding shows evidence that
contradicts the threshold it fired on: a relapse quotes an ALT above normal, a high 6-TGN is above
the clinic's cut-off, a "× ULN" is the value over the ULN it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.engine.evaluate import evaluate
from monitoring.engine.loader import load_timelines
from monitoring.labs.services import LabValue, record_lab_result
from monitoring.models import LabResult
from monitoring.parameters import defaults
from regimens.models import DoseChange
from tests.factories import CourseFactory, PatientFactory, analyte
from tests.strategies import as_of_dates, timelines

PARAMS = defaults()


def lab_items(evidence: Any) -> Iterator[dict[str, Any]]:
    """Every result quoted in a finding's evidence (lab_evidence's shape), however nested."""
    if isinstance(evidence, dict):
        if {"test", "value", "date"} <= evidence.keys():
            yield evidence
        for value in evidence.values():
            yield from lab_items(value)
    elif isinstance(evidence, list | tuple):
        for value in evidence:
            yield from lab_items(value)


def above_normal(item: dict[str, Any]) -> bool:
    return item.get("uln") is not None and item["value"] > item["uln"]


def results(evidence: dict[str, Any], *keys: str) -> list[dict[str, Any]]:
    found = []
    for key in keys:
        value = evidence.get(key)
        found += value if isinstance(value, list) else [value] if value else []
    return found


# rule id -> (what the spec says must hold of its evidence, the check). Each row cites the rule.
THRESHOLDS: dict[str, tuple[str, Callable[[dict, dict], bool]]] = {
    "REL-01": (
        "clinical-rules.md REL-01: ALT or IgG above the ULN after remission",
        lambda e, p: all(above_normal(r) for r in results(e, "results")) and bool(results(e, "results")),
    ),
    "REL-02": (
        "clinical-rules.md REL-02 / A-7: ALT above the probable-relapse multiple of the ULN",
        lambda e, p: e["alt"]["value"] > p["probable_relapse_uln_multiple"] * e["alt"]["uln"],
    ),
    "REL-03": (
        "clinical-rules.md REL-03: ALT above normal within 12 months of stopping",
        lambda e, p: above_normal(e["alt"]),
    ),
    "RESP-02": (
        "clinical-rules.md RESP-02: ALT, AST or IgG above normal at 6 months",
        lambda e, p: any(above_normal(r) for r in results(e, "results")),
    ),
    "TPM-01": ("seed 004 Table 1: 6-TGN below the low cut-off", lambda e, p: e["tgn"]["value"] < p["tgn_low"]),
    "TPM-02": ("seed 004 Table 1: 6-TGN below the low cut-off", lambda e, p: e["tgn"]["value"] < p["tgn_low"]),
    "TPM-03": ("seed 004 Table 1: 6-TGN above the high cut-off", lambda e, p: e["tgn"]["value"] > p["tgn_high"]),
    "TPM-04": ("seed 004 Table 1: 6-MMP above its cut-off", lambda e, p: e["mmp"]["value"] > p["mmp_high"]),
    "TPM-05": (
        "seed 004 Table 1: 6-TGN in the therapeutic range",
        lambda e, p: p["tgn_low"] <= e["tgn"]["value"] <= p["tgn_high"],
    ),
    "HEP-02": (
        "clinical-rules.md HEP-02: 6-MMP above its cut-off with a liver test above normal",
        lambda e, p: e["mmp"]["value"] > p["mmp_high"] and any(above_normal(r) for r in results(e, "liver_tests")),
    ),
}


@settings(max_examples=300, deadline=None)
@given(timeline=timelines(any_range=True), as_of=as_of_dates)
def test_no_finding_contradicts_its_own_threshold_whatever_the_ranges(timeline, as_of):
    check_findings(evaluate(timeline, as_of, PARAMS))  # never raises, whatever the ranges


def check_findings(evaluation) -> None:
    for finding in evaluation.findings:
        for item in lab_items(finding.evidence):
            if item.get("uln") is not None:
                assert item["uln"] > 0, (finding.rule_id, item)
                assert item["x_uln"] == round(item["value"] / item["uln"], 2), (finding.rule_id, item)
        if finding.rule_id in THRESHOLDS:
            statement, holds = THRESHOLDS[finding.rule_id]
            assert holds(finding.evidence, PARAMS), (statement, finding)


# Ranges as labs send them, in the unit they report in: (ref_low, ref_high) for ALT in U/L or µkat/L.
ALT_RANGES = st.sampled_from([(None, 40), (None, None), (7, None), (0, 0), (5, 3), (None, -1), (None, 0),
                              (None, 100000), (7, 56), (None, 25), (None, 400)])  # fmt: skip


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    later=st.lists(st.tuples(st.integers(5, 1500), ALT_RANGES, st.sampled_from(["U/L", "ukat/L"])), max_size=4),
    as_of_day=st.integers(200, 700),
)
def test_whatever_range_a_lab_sends_entry_refuses_it_or_the_engine_reads_it_coherently(later, as_of_day):
    """Through the real entry path and loader: an impossible range is refused with a reason and stores
    nothing; every accepted one is evaluated without error, and no finding contradicts its evidence."""
    patient = PatientFactory()
    course = CourseFactory(patient=patient, started_on=date(2025, 1, 6))
    DoseChange.objects.create(course=course, effective_on=course.started_on, dose_mg_per_day=40)
    start = datetime(2025, 1, 6, 9, tzinfo=UTC)
    for month, value in ((0, 400), (2, 25), (3, 22), (4, 24), (5, 20)):  # treated into remission
        record_lab_result(
            patient=patient, lab=LabValue(analyte("alt"), value, "U/L", start + timedelta(days=30 * month), ref_high=40)
        )
    for index, (value, (low, high), unit) in enumerate(later):
        factor = 60 if unit == "ukat/L" else 1  # 1 µkat/L = 60 U/L
        low, high = (None if x is None else x / factor for x in (low, high))
        lab = LabValue(analyte("alt"), value / factor, unit, start + timedelta(days=190 + 7 * index), low, high)
        before = LabResult.objects.filter(patient=patient).count()
        try:
            record_lab_result(patient=patient, lab=lab)
        except ValidationError as error:
            assert LabResult.objects.filter(patient=patient).count() == before  # nothing stored
            assert " ".join(error.messages)  # and a reason given
    timeline = load_timelines([patient.pk])[patient.pk]
    for lab in timeline.labs["alt"]:
        assert lab.uln is not None and lab.uln > 0  # the lab's, else the clinic's or the typical one
    check_findings(evaluate(timeline, date(2025, 1, 6) + timedelta(days=as_of_day), PARAMS))
