"""Evaluation: (timeline, as-of date, parameters) -> findings. Pure; never touches the database.

The rules are the ones registered in engine/context.py's REGISTRY: the modules of monitoring/rules/
register themselves when they are imported, and the monitoring app imports them all at start-up
(MonitoringConfig.ready, as Django's admin discovers admin modules). The engine never imports a rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from monitoring.engine.context import REGISTRY, Context, Finding, NotEvaluable, Outcome
from monitoring.engine.horizon import plain, tracked_as_of
from monitoring.engine.prestart import PRESCRIBING_RULES, as_planned_start, recent_outside_starts, started_despite
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


def evaluate(
    timeline, as_of: date, params: dict[str, Any], horizon_days: int | None = None, *, outside_starts: bool = True
) -> Evaluation:
    """Run every rule. With `horizon_days`, also find how long the findings hold (at most that many
    days): the rules then see a tracked as-of date (horizon.py) and every finding is made plain.
    With `outside_starts`, courses recently started outside the prescribing page get its checks (prestart.py)."""
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
    if outside_starts:
        findings.extend(_outside_start_findings(timeline, as_of, params, findings))
        if clock is not None:
            _cut_at_window_edges(clock, timeline, as_of, params["recent_start_days"])
    response = ctx.response
    return Evaluation(
        timeline.patient_id,
        as_of,
        tuple(apply_relations(findings)),  # one finding may qualify or suppress another's advice
        tuple(not_evaluable),
        response,
        clock.holds_until if clock is not None else None,
    )


def _outside_start_findings(timeline, as_of: date, params: dict[str, Any], findings: list[Finding]) -> list[Finding]:
    """The prescribing page's checks for each course recently started outside it, as of the course's start:
    what the course adds there, less what a rule already says today (one item, not two) and what a
    physician overrode for the course."""
    recent_days = params["recent_start_days"]
    said = {f.rule_id for f in findings}
    added: list[Finding] = []
    for course in recent_outside_starts(timeline, as_of, recent_days):
        without, planned = as_planned_start(timeline, course)
        before = evaluate(without, course.started_on, params, outside_starts=False).findings
        seen = {(f.rule_id, f.message) for f in before}
        for finding in evaluate(planned, course.started_on, params, outside_starts=False).findings:
            rule_id = finding.rule_id
            if rule_id not in PRESCRIBING_RULES or rule_id in said or rule_id in course.overridden_rules:
                continue
            if (rule_id, finding.message) in seen:
                continue
            added.append(started_despite(finding, course, recent_days))
            said.add(rule_id)
    return added


def _cut_at_window_edges(clock, timeline, as_of: date, recent_days: int) -> None:
    """The outside-start findings change the day a course enters or leaves the recent-start window."""
    for course in timeline.courses:
        if course.planned or course.prescribed_in_app:
            continue
        for edge in (course.started_on, course.started_on + timedelta(days=recent_days + 1)):
            if edge > as_of:
                clock.change_on(edge.toordinal())


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
