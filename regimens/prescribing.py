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
from monitoring.engine.timeline import Course, Dose, Timeline

# The rules issue 4 asks to check at the moment of prescribing (clinical-rules.md §2.3, §2.7).
PRESCRIBING_RULES: tuple[str, ...] = (
    "AZA-01",  # no TPMT result before a thiopurine (critical when not yet started)
    "AZA-02",  # TPMT/NUDT15 poor metaboliser (also CI-08)
    "AZA-03",  # intermediate metaboliser
    "AZA-04",  # bilirubin >= 6 mg/dL at the planned start
    "AZA-05",  # baseline cytopenia
    "AZA-07",  # dose outside 1-2 mg/kg/day
    "AZA-08",  # allopurinol / febuxostat (also CI-09)
    "CI-01",  # budesonide and cirrhosis
    "CI-02",  # budesonide and acute severe AIH
    "CI-03",  # budesonide and portosystemic shunt
    "CI-03b",  # budesonide and advanced fibrosis
    "CI-04",  # mycophenolate and pregnancy
    "CI-05",  # mycophenolate without pregnancy test and contraception
    "CI-06",  # mycophenolate and planned pregnancy
    "AZA-11",  # thiopurine again after AZA hepatotoxicity or a severe adverse event (S004 §4, §7.1)
    "AZA-12",  # thiopurine with an active malignancy: predniso(lo)ne alone (S000, S001)
    # Also about the prescription itself, shown as warnings (never critical):
    "AZA-09",  # steroid lead-in before AZA (info)
    "CI-07",  # budesonide with a strong CYP3A4 inhibitor
    "STER-04",  # starting-dose sanity check for prednisolone
    "AZA-13",  # high TPMT activity: watch 6-MMP and liver tests (S004 §4, A-17)
    "OTH-06",  # tacrolimus starting dose against 0.075 mg/kg/day (S001)
    "ASA-05",  # steroid dose below 1 mg/kg in acute severe AIH (S000, S001)
)

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
