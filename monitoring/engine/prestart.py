"""Pre-start checks: the rules that judge a course at its start, and courses started outside the app.

The prescribing page (regimens/prescribing.py) runs PRESCRIBING_RULES on the timeline with the
proposed course marked `planned`. A course recorded from outside the page (the visit log, an HL7/FHIR
import, the admin) never went through it: if it started within `recent_start_days`, the evaluation
(evaluate.py) runs the same rules as of its start with that course as the planned one, and says what
they find as "<drug> started on <date> despite ...". Pure: no database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from monitoring.engine.context import Finding, truncate
from monitoring.engine.timeline import Course, Timeline
from regimens.catalogue import DRUGS

# The rules checked at the moment of prescribing (clinical-rules.md §2.3, §2.6, §2.7; issue 4).
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

DRUG_NAMES = {entry.code: entry.name for entry in DRUGS}


def recent_outside_starts(timeline: Timeline, as_of: date, recent_days: int) -> list[Course]:
    """Courses started in the last `recent_days` days (as_of included) that the prescribing page never checked."""
    return [
        course
        for course in timeline.courses
        if not course.planned and not course.prescribed_in_app and 0 <= (as_of - course.started_on).days <= recent_days
    ]


def as_planned_start(timeline: Timeline, course: Course) -> tuple[Timeline, Timeline]:
    """(without, with): the timeline as known on the course's start, without the course and with it as the
    planned one (what the prescribing page would have compared)."""
    known = truncate(timeline, course.started_on)
    others = tuple(c for c in known.courses if c.id != course.id)
    planned = replace(course, stopped_on=None, stop_reason="", planned=True)
    return replace(known, courses=others), replace(known, courses=(*others, planned))


def started_despite(finding: Finding, course: Course, recent_days: int) -> Finding:
    """The pre-start finding told of a course already started: same rule, severity and source."""
    start = course.started_on
    name = DRUG_NAMES.get(course.drug, course.drug.replace("_", " ").capitalize())
    return replace(
        finding,
        message=f"{name} started on {start.day} {start:%b %Y} despite: {finding.message}",
        action=f"{finding.action} The course was recorded without the prescribing page's safety checks: "
        "review it with the prescriber.",
        evidence={**finding.evidence, "course_start": start.isoformat()},
        parameters={**finding.parameters, "recent_start_days": recent_days},
    )
