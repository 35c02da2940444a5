"""Evaluation: (timeline, as-of date, parameters) -> findings. Pure; never touches the database.

The rules are the ones registered in engine/context.py's REGISTRY: the modules of monitoring/rules/
register themselves when they are imported, and the monitoring app imports them all at start-up
(MonitoringConfig.ready, as Django's admin discovers admin modules). The engine never imports a rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from monitoring.engine.context import REGISTRY, Context, Finding, NotEvaluable, Outcome
from monitoring.engine.horizon import plain, tracked_as_of
from monitoring.engine.relations import apply_relations
from monitoring.engine.response import ResponseHistory


@dataclass(frozen=True)
class Evaluation:
    patient_id: int
    as_of: date
    findings: tuple[Finding, ...]
    not_evaluable: tuple[NotEvaluable, ...]
    response: ResponseHistory
    # With `horizon_days`: the first day on which the findings could differ (see horizon.py).
    holds_until: date | None = None


def _outcomes(result: Iterable[Outcome] | Outcome | None) -> list[Outcome]:
    if result is None:
        return []
    if isinstance(result, Finding | NotEvaluable):
        return [result]
    return [outcome for outcome in result if outcome is not None]


def evaluate(timeline, as_of: date, params: dict[str, Any], horizon_days: int | None = None) -> Evaluation:
    """Run every rule. With `horizon_days`, also find how long the findings hold (at most that many
    days): the rules then see a tracked as-of date (horizon.py) and every finding is made plain."""
    if not REGISTRY:
        raise RuntimeError("No rules registered: the monitoring app loads them at start-up (django.setup()).")
    clock = None
    if horizon_days:
        tracked, clock = tracked_as_of(as_of, horizon_days)
        ctx = Context(timeline, tracked, params)
    else:
        ctx = Context(timeline, as_of, params)
    findings: list[Finding] = []
    not_evaluable: list[NotEvaluable] = []
    ctx.findings = findings  # rules that build on others (RESP-06) read what fired before them
    for rule_id in sorted(REGISTRY, key=_order):
        spec = REGISTRY[rule_id]
        ctx.used = {}
        for outcome in _outcomes(spec.check(ctx)):
            if clock is not None:
                outcome = _plain_outcome(outcome)
            if isinstance(outcome, NotEvaluable):
                not_evaluable.append(outcome)
            else:
                used = {**ctx.used, **outcome.parameters}
                findings.append(replace(outcome, parameters=used, source=outcome.source or spec.source))
    ctx.used = {}
    response = ctx.response
    return Evaluation(
        timeline.patient_id,
        as_of,
        tuple(apply_relations(findings)),  # one finding may qualify or suppress another's advice
        tuple(not_evaluable),
        response,
        clock.holds_until if clock is not None else None,
    )


def _plain_outcome(outcome: Outcome) -> Outcome:
    """The outcome with no tracked value left in it (each one cuts the horizon where it changes)."""
    if isinstance(outcome, NotEvaluable):
        return replace(outcome, missing=plain(outcome.missing))
    return replace(
        outcome,
        severity=plain(outcome.severity),
        message=plain(outcome.message),
        evidence=plain(outcome.evidence),
        action=plain(outcome.action),
        source=plain(outcome.source),
        parameters=plain(outcome.parameters),
    )


def _order(rule_id: str) -> tuple[int, str]:
    # Rules that summarise other findings run last.
    return (1 if REGISTRY[rule_id].after_others else 0, rule_id)
