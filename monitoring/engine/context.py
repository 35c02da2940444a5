"""The engine's vocabulary: what a rule is and returns (RuleSpec, Finding, NotEvaluable), the registry
the rule modules of monitoring/rules/ add themselves to, and the Context a rule reads (a timeline cut at
the as-of date, the clinic's parameters, derived facts the rules share). Pure: no database."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import IntEnum, StrEnum
from functools import cached_property
from typing import Any

from dateutil.relativedelta import relativedelta

from monitoring.engine.response import response_history
from monitoring.engine.timeline import Course, Lab, Timeline


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Family(StrEnum):
    RESPONSE = "response"
    MONITORING = "monitoring"
    THIOPURINE = "thiopurine_safety"
    CONTRAINDICATION = "contraindication"
    STEROID_BONE = "steroid_bone"
    TRANSPLANT = "transplant"
    ADHERENCE = "adherence"
    WITHDRAWAL = "withdrawal"
    ACUTE = "acute_severe"
    OTHER = "other"


# Findings the pipeline itself raises (no rule of the catalogue): their ids and titles.
EVALUATION_FAILED = "SYS-01"
PIPELINE_TITLES = {EVALUATION_FAILED: "Evaluation failed: the rules could not be run for this patient"}


@dataclass(frozen=True)
class Finding:
    """One rule firing for one patient, with everything a clinician needs to judge it."""

    rule_id: str
    severity: Severity
    message: str
    evidence: dict[str, Any]
    action: str
    source: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class NotEvaluable:
    rule_id: str
    missing: str

    @property
    def message(self) -> str:
        return f"not evaluable: {self.missing}"


Outcome = Finding | NotEvaluable


@dataclass(frozen=True)
class RuleSpec:
    id: str
    family: Family
    title: str
    source: str
    check: Callable[[Context], Iterable[Outcome] | Outcome | None]
    after_others: bool = False


REGISTRY: dict[str, RuleSpec] = {}


def rule(rule_id: str, *, family: Family, title: str, source: str, after_others: bool = False):
    """Register a check function under a stable rule id from clinical-rules.md.

    A check takes a Context and returns None, a Finding / NotEvaluable, or an iterable of them.
    `after_others` rules run last and may read `ctx.findings` (what fired before them).
    """

    def register(check):
        if rule_id in REGISTRY:
            raise ValueError(f"Rule {rule_id} registered twice")
        REGISTRY[rule_id] = RuleSpec(rule_id, family, title, source, check, after_others)
        return check

    return register


def truncate(timeline: Timeline, as_of: date) -> Timeline:
    """The timeline as it was known on `as_of`: later results, events and stops are removed."""

    def upto(items, key=lambda x: x.on):
        return tuple(x for x in items if key(x) <= as_of)

    labs = {}
    for code, series in timeline.labs.items():
        cut = bisect_right([lab.on for lab in series], as_of)
        if cut:
            labs[code] = series[:cut]
    courses = []
    for course in timeline.courses:
        if course.started_on > as_of:
            continue
        if course.stopped_on is not None and course.stopped_on > as_of:
            course = replace(course, stopped_on=None, stop_reason="")
        courses.append(replace(course, doses=tuple(d for d in course.doses if d.on <= as_of)))
    return replace(
        timeline,
        labs=labs,
        courses=tuple(courses),
        diagnosis_date=timeline.diagnosis_date if (timeline.diagnosis_date or as_of) <= as_of else None,
        cirrhosis_on=timeline.cirrhosis_on if (timeline.cirrhosis_on or as_of) <= as_of else None,
        transplanted_on=timeline.transplanted_on if (timeline.transplanted_on or as_of) <= as_of else None,
        weights=upto(timeline.weights),
        pharmacogenetics=upto(timeline.pharmacogenetics),
        pregnancies=tuple(
            replace(p, end=None) if p.end and p.end > as_of else p for p in timeline.pregnancies if p.start <= as_of
        ),
        contraception=tuple(
            replace(p, end=None) if p.end and p.end > as_of else p for p in timeline.contraception if p.start <= as_of
        ),
        pregnancy_tests=upto(timeline.pregnancy_tests),
        immunity=upto(timeline.immunity),
        vaccinations=upto(timeline.vaccinations),
        dexa_scans=tuple(d for d in timeline.dexa_scans if d <= as_of),
        biopsies=upto(timeline.biopsies),
        acute_episodes=tuple(
            replace(e, ended_on=None) if e.ended_on and e.ended_on > as_of else e
            for e in timeline.acute_episodes
            if e.presented_on <= as_of
        ),
        visits=upto(timeline.visits),
        malignancies=upto(timeline.malignancies),
        relapses=upto(timeline.relapses),
        adverse_events=upto(timeline.adverse_events),
        autoantibodies=upto(timeline.autoantibodies),
        adherence=upto(timeline.adherence),
    )


@dataclass(frozen=True)
class PanelDraw:
    """When a panel was last complete, and its required analytes drawn less recently than the others."""

    on: date | None
    missing: tuple[tuple[tuple[str, ...], date | None], ...]  # (analyte and alternatives, last drawn)


class Context:
    """The timeline as of a date, the clinic's parameters, and derived facts the rules share."""

    def __init__(self, timeline: Timeline, as_of: date, params: dict[str, Any]):
        self.t = truncate(timeline, as_of)
        self.as_of = as_of
        self._params = params
        self.used: dict[str, Any] = {}
        self.findings: list[Finding] = []
        self._days: dict[str, list[date]] = {}

    # -- parameters -------------------------------------------------------------------------
    def p(self, key: str) -> Any:
        """A clinical parameter; the value is recorded on the findings of the running rule."""
        value = self._params[key]
        self.used[key] = value
        return value

    @cached_property
    def _response(self):

        saved, self.used = self.used, {}
        history = response_history(self)
        self._response_params, self.used = self.used, saved
        return history

    @property
    def response(self):
        """The response history (engine/response.py); its parameters count as used."""
        history = self._response
        self.used.update(self._response_params)
        return history

    # -- labs -------------------------------------------------------------------------------
    def labs(self, code: str) -> tuple[Lab, ...]:
        return self.t.labs.get(code, ())

    def _days_of(self, code: str) -> list[date]:
        days = self._days.get(code)
        if days is None:
            days = self._days[code] = [lab.on for lab in self.labs(code)]
        return days

    def last(self, code: str, on_or_before: date | None = None) -> Lab | None:
        series = self.labs(code)
        if on_or_before is None:
            return series[-1] if series else None
        index = bisect_right(self._days_of(code), on_or_before)
        return series[index - 1] if index else None

    def window(self, code: str, start: date, end: date) -> tuple[Lab, ...]:
        """Results drawn from `start` to `end`, both inclusive."""
        days = self._days_of(code)
        return self.labs(code)[bisect_left(days, start) : bisect_right(days, end)]

    def nearest(self, code: str, target: date, start: date, end: date) -> Lab | None:
        """The result in [start, end] nearest to `target` (the earlier one on a tie)."""
        candidates = self.window(code, start, end)
        return min(candidates, key=lambda lab: (abs((lab.on - target).days), lab.on), default=None)

    def last_of_panel(self, codes: Iterable[str]) -> date | None:
        """The last date any of these analytes was drawn (for a panel any one result of which is the
        panel, like the metabolites); a panel with required analytes is `panel_drawn`."""
        dates = [lab.on for code in codes if (lab := self.last(code))]
        return max(dates, default=None)

    def panel_drawn(self, required: Iterable[tuple[str, ...]], panel: Iterable[str] = ()) -> PanelDraw:
        """When a panel was last complete: each group of `required` is an analyte with its alternatives
        (("wbc", "neutrophils"), ("platelets",)) and needs one result; the panel's date is the oldest
        of the groups' latest dates (None while a group was never drawn). A required analyte is
        missing when another analyte of the panel (`panel`, or the required ones) was drawn after it."""
        latest = []
        for group in required:
            dates = [lab.on for code in group if (lab := self.last(code))]
            latest.append((tuple(group), max(dates, default=None)))
        if not latest:
            return PanelDraw(None, ())
        on = None if any(last is None for _, last in latest) else min(last for _, last in latest)
        others = [lab.on for code in panel if (lab := self.last(code))]
        newest = max([last for _, last in latest if last is not None] + others, default=None)
        # A group is missing when another required analyte was drawn after it (or it never was).
        missing = tuple(
            (group, last) for group, last in latest if newest is not None and (last is None or last < newest)
        )
        return PanelDraw(on, missing)

    def is_normal(self, lab: Lab) -> bool | None:
        """≤ ULN (or < ULN if the clinic chose so); None without a ULN."""
        if lab.uln is None:
            return None
        if self.p("normal_includes_uln"):
            return lab.value <= lab.uln
        return lab.value < lab.uln

    # -- treatment --------------------------------------------------------------------------
    @property
    def courses(self) -> tuple[Course, ...]:
        return self.t.courses

    def active(self, *drug_classes: str, on: date | None = None) -> list[Course]:
        on = on or self.as_of
        return [c for c in self.t.courses if c.active_on(on) and (not drug_classes or c.drug_class in drug_classes)]

    def active_drug(self, *drugs: str, on: date | None = None) -> list[Course]:
        on = on or self.as_of
        return [c for c in self.t.courses if c.active_on(on) and c.drug in drugs]

    @cached_property
    def treatment_eras(self) -> list[tuple[date, date | None]]:
        """Periods with any immunosuppressant running, oldest first; the last may be open (None).

        Courses separated by less than `treatment_gap_days` are one era (a switch, a short
        interruption); a longer gap is a withdrawal, and the next course starts a new era (new T0).
        """
        gap = timedelta(days=self.p("treatment_gap_days"))
        spans = sorted(
            ((c.started_on, c.stopped_on) for c in self.t.courses if c.is_immunosuppressant),
            key=lambda span: (span[0], span[1] or date.max),  # an open course sorts after a stopped one
        )
        eras: list[list] = []
        for start, stop in spans:
            if eras and (eras[-1][1] is None or start <= eras[-1][1] + gap):
                last_stop = eras[-1][1]
                eras[-1][1] = None if last_stop is None or stop is None else max(last_stop, stop)
            else:
                eras.append([start, stop])
        return [(start, stop) for start, stop in eras]

    @property
    def on_treatment(self) -> bool:
        return bool(self.treatment_eras) and self.treatment_eras[-1][1] is None

    @property
    def t0(self) -> date | None:
        """Induction start (T0) of the current, or most recent, treatment era."""
        return self.treatment_eras[-1][0] if self.treatment_eras else None

    def current_weight(self) -> tuple[float | None, str]:
        """(kg, "") for a weight recent enough to dose by (weight_current_months; a child's
        weight_current_months_child), else (None, why): mg/kg doses need a current weight."""
        weights = [w for w in self.t.weights if w.on <= self.as_of]
        if not weights:
            return None, "no weight recorded"
        last = weights[-1]
        child = self.t.age_on(self.as_of) < self.p("child_below_age_years")
        months = self.p("weight_current_months_child" if child else "weight_current_months")
        if last.on < self.as_of - relativedelta(months=months):
            whose = "a child's weight" if child else "a weight"
            return None, f"last weight is {(self.as_of - last.on).days} days old ({whose} counts for {months} months)"
        return last.number, ""

    def weight_on(self, on: date | None = None) -> float | None:
        on = on or self.as_of
        weights = [w for w in self.t.weights if w.on <= on]
        return weights[-1].number if weights else None

    @property
    def has_cirrhosis(self) -> bool:
        return self.t.cirrhosis_on is not None

    def in_acute_episode(self, on: date | None = None) -> bool:
        on = on or self.as_of
        return any(e.presented_on <= on and (e.ended_on is None or e.ended_on >= on) for e in self.t.acute_episodes)

    def is_pregnant(self, on: date | None = None) -> bool:
        on = on or self.as_of
        return any(p.kind == "pregnant" and p.covers(on) for p in self.t.pregnancies)

    def plans_pregnancy(self, on: date | None = None) -> bool:
        on = on or self.as_of
        return any(p.kind == "planned" and p.covers(on) for p in self.t.pregnancies)
