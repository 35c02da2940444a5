"""The engine never contradicts itself (issue: clinical safety under real-world data).

Over random timelines whose results carry any range a lab may send (the usual one, none, a lower
limit alone, any upper limit), the engine never raises, and no finding shows evidence that
contradicts the threshold it fired on: a relapse quotes an ALT above normal, a high 6-TGN is above
the clinic's cut-off, a "× ULN" is the value over the ULN it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import given, settings

from monitoring.engine.evaluate import evaluate
from monitoring.parameters import defaults
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
    evaluation = evaluate(timeline, as_of, PARAMS)  # never raises, whatever the ranges
    for finding in evaluation.findings:
        for item in lab_items(finding.evidence):
            if item.get("uln") is not None:
                assert item["uln"] > 0, (finding.rule_id, item)
                assert item["x_uln"] == round(item["value"] / item["uln"], 2), (finding.rule_id, item)
        if finding.rule_id in THRESHOLDS:
            statement, holds = THRESHOLDS[finding.rule_id]
            assert holds(finding.evidence, PARAMS), (statement, finding)
