"""What the rule modules share: the engine's vocabulary (engine/context.py, re-exported here so that a
rule module reads from one place) and helpers for writing findings."""

from __future__ import annotations

from typing import Any

from monitoring.catalogue import BY_CODE
from monitoring.engine.context import (
    REGISTRY,
    Context,
    Family,
    Finding,
    NotEvaluable,
    Outcome,
    RuleSpec,
    Severity,
    rule,
    truncate,
)
from monitoring.engine.dates import days_after, days_between, months_after
from monitoring.engine.timeline import Lab

__all__ = [
    "REGISTRY",
    "Context",
    "Family",
    "Finding",
    "NotEvaluable",
    "Outcome",
    "RuleSpec",
    "Severity",
    "days_after",
    "days_between",
    "lab_evidence",
    "months_after",
    "rule",
    "truncate",
]


def lab_evidence(code: str, lab: Lab) -> dict[str, Any]:
    """A lab result as evidence: value with unit, ULN, × ULN, date, and where the ULN came from."""
    entry = BY_CODE.get(code)
    item: dict[str, Any] = {
        "test": entry.name if entry else code,
        "value": lab.value,
        "unit": entry.canonical_unit if entry else "",
        "date": lab.on.isoformat(),
    }
    if lab.uln is not None and lab.uln > 0:  # a ULN of 0 stored before entry refused it is no ULN
        item["uln"] = lab.uln
        item["x_uln"] = round(lab.value / lab.uln, 2)
        item["range_source"] = lab.range_source
    return item
