"""Evaluation: (timeline, as-of date, parameters) -> findings. Pure; never touches the database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from .response import ResponseHistory
from .rules import REGISTRY, load_rules
from .rules.base import Context, Finding, NotEvaluable, Outcome


@dataclass(frozen=True)
class Evaluation:
    patient_id: int
    as_of: date
    findings: tuple[Finding, ...]
    not_evaluable: tuple[NotEvaluable, ...]
    response: ResponseHistory


def _outcomes(result: Iterable[Outcome] | Outcome | None) -> list[Outcome]:
    if result is None:
        return []
    if isinstance(result, Finding | NotEvaluable):
        return [result]
    return [outcome for outcome in result if outcome is not None]


def evaluate(timeline, as_of: date, params: dict[str, Any]) -> Evaluation:
    load_rules()
    ctx = Context(timeline, as_of, params)
    findings: list[Finding] = []
    not_evaluable: list[NotEvaluable] = []
    ctx.findings = findings  # rules that build on others (RESP-06) read what fired before them
    for rule_id in sorted(REGISTRY, key=_order):
        spec = REGISTRY[rule_id]
        ctx.used = {}
        for outcome in _outcomes(spec.check(ctx)):
            if isinstance(outcome, NotEvaluable):
                not_evaluable.append(outcome)
            else:
                used = {**ctx.used, **outcome.parameters}
                findings.append(replace(outcome, parameters=used, source=outcome.source or spec.source))
    ctx.used = {}
    return Evaluation(timeline.patient_id, as_of, tuple(findings), tuple(not_evaluable), ctx.response)


def _order(rule_id: str) -> tuple[int, str]:
    # Rules that summarise other findings run last.
    return (1 if REGISTRY[rule_id].after_others else 0, rule_id)
