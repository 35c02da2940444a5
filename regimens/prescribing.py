"""Prescribing safety checks: the engine's own rules, run on the timeline with the prescription added.

Nothing here decides what is safe. `proposed_timeline()` adds the proposed change to the patient's
plain-data timeline (a new course is marked `planned`, as monitoring/engine/timeline.py provides for);
`monitoring.engine.evaluate()` runs every rule on it; what the prescription *adds* (findings that
are not there without it) among the prescribing rules is what the physician sees. Critical
findings block until the physician gives an override reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from monitoring.engine.context import Finding, NotEvaluable, Severity
from monitoring.engine.evaluate import evaluate
from monitoring.engine.prestart import PRESCRIBING_RULES
from monitoring.engine.timeline import Course, Dose, Timeline

PLANNED_COURSE_ID = -1  # not a database id: the course does not exist yet


@dataclass(frozen=True)
class NewCourse:
    drug: str  # catalogue code
    drug_class: str
    started_on: date
    dose_mg_per_day: float | None
    prednisolone_equivalent: float | None = None


@dataclass(frozen=True)
class Prescription:
    """What the physician proposes, on one date: start a course, change a dose, stop a course (or all three)."""

    on: date
    start: NewCourse | None = None
    dose_change_course_id: int | None = None
    dose_mg_per_day: float | None = None
    stop_course_id: int | None = None
    stop_reason: str = ""


@dataclass(frozen=True)
class SafetyCheck:
    findings: tuple[Finding, ...] = ()
    not_evaluable: tuple[NotEvaluable, ...] = ()

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Critical findings: the prescription needs an override reason."""
        return tuple(f for f in self.findings if f.severity == Severity.CRITICAL)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity != Severity.CRITICAL)

    @property
    def is_clear(self) -> bool:
        return not self.findings and not self.not_evaluable


def proposed_timeline(timeline: Timeline, prescription: Prescription) -> Timeline:
    """The timeline as it would be with the prescription: plain data in, plain data out."""
    on = prescription.on
    courses = []
    for course in timeline.courses:
        if course.id == prescription.dose_change_course_id and prescription.dose_mg_per_day is not None:
            doses = tuple(d for d in course.doses if d.on != on) + (Dose(on, prescription.dose_mg_per_day),)
            course = replace(course, doses=tuple(sorted(doses)))
        if course.id == prescription.stop_course_id:
            course = replace(course, stopped_on=on, stop_reason=prescription.stop_reason or "other")
        courses.append(course)
    if prescription.start is not None:
        new = prescription.start
        doses = (Dose(new.started_on, new.dose_mg_per_day),) if new.dose_mg_per_day is not None else ()
        courses.append(
            Course(
                PLANNED_COURSE_ID,
                new.drug,
                new.drug_class,
                new.started_on,
                doses=doses,
                prednisolone_equivalent=new.prednisolone_equivalent,
                planned=True,
            )
        )
    return replace(timeline, courses=tuple(courses))


def _key(outcome: Finding | NotEvaluable) -> tuple:
    if isinstance(outcome, Finding):
        return (outcome.rule_id, int(outcome.severity), outcome.message)
    return (outcome.rule_id, outcome.missing)


def check_prescription(timeline: Timeline, prescription: Prescription, params: dict[str, Any]) -> SafetyCheck:
    """Findings of the prescribing rules that the prescription adds, most severe first.

    The engine runs twice, without and with the prescription, as of the prescription's date; a
    finding already there without it (an old problem the queue already shows) is not repeated.
    """
    before = evaluate(timeline, prescription.on, params)
    after = evaluate(proposed_timeline(timeline, prescription), prescription.on, params)
    seen = {_key(o) for o in (*before.findings, *before.not_evaluable)}
    findings = [f for f in after.findings if f.rule_id in PRESCRIBING_RULES and _key(f) not in seen]
    missing = [n for n in after.not_evaluable if n.rule_id in PRESCRIBING_RULES and _key(n) not in seen]
    findings.sort(key=lambda f: (-int(f.severity), PRESCRIBING_RULES.index(f.rule_id)))
    return SafetyCheck(tuple(findings), tuple(missing))
