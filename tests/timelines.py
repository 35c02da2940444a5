"""Build plain-data timelines for rule tests, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from monitoring.engine.evaluate import evaluate
from monitoring.engine.timeline import (
    AcuteEpisode,
    AdverseEventFact,
    Biopsy,
    Course,
    Dated,
    Dose,
    Lab,
    Period,
    Pharmacogenetic,
    Timeline,
    VisitFacts,
)
from monitoring.parameters import defaults
from regimens.catalogue import DRUGS

DRUG_CLASS = {d.code: d.drug_class.value for d in DRUGS}
PRED_EQUIVALENT = {d.code: d.prednisolone_equivalent for d in DRUGS}
# Typical ULNs for tests that don't care about the lab (clinical-rules.md §4.1).
ULN = {"alt": 40, "ast": 40, "alp": 130, "ggt": 60, "bilirubin": 21, "igg": 16, "inr": 1.2, "creatinine": 110}
AAA = date(2025, 1, 6)  # a Monday; T0 in most tests


def d(text: str | date) -> date:
    return text if isinstance(text, date) else date.fromisoformat(text)


def day(n: int, start: date = AAA) -> date:
    return start + timedelta(days=n)


class TimelineBuilder:
    def __init__(self, **patient: Any):
        self.patient = {
            "patient_id": 1,
            "clinic_id": 1,
            "mrn": "T-1",
            "sex": "female",
            "date_of_birth": date(1980, 1, 1),
            **patient,
        }
        self.labs: dict[str, list[Lab]] = {}
        self.courses: list[Course] = []
        self.extra: dict[str, list] = {}

    def lab(self, code: str, on, value: float, uln: float | None = "typical", lln=None, source="reported"):
        if uln == "typical":
            uln = ULN.get(code)
        self.labs.setdefault(code, []).append(Lab(d(on), value, uln, lln, source))
        return self

    def course(
        self, drug: str, start, dose: float | None = None, stop=None, reason: str = "", doses=(), id=None, planned=False
    ):
        changes = [Dose(d(start), dose)] if dose is not None else []
        changes += [Dose(d(on), mg) for on, mg in doses]
        self.courses.append(
            Course(
                id=id or len(self.courses) + 1,
                drug=drug,
                drug_class=DRUG_CLASS[drug],
                started_on=d(start),
                stopped_on=d(stop) if stop else None,
                stop_reason=reason or ("other" if stop else ""),
                doses=tuple(sorted(changes, key=lambda x: x.on)),
                prednisolone_equivalent=PRED_EQUIVALENT[drug],
                planned=planned,
            )
        )
        return self

    def add(self, field: str, item):
        self.extra.setdefault(field, []).append(item)
        return self

    def weight(self, on, kg: float):
        return self.add("weights", Dated(d(on), "weight", number=kg))

    def pgx(self, gene: str, phenotype: str, on="2024-12-01", activity=None, cutoff=None):
        return self.add("pharmacogenetics", Pharmacogenetic(gene, phenotype, d(on), activity, cutoff))

    def pregnancy(self, start, end=None, kind="pregnant"):
        return self.add("pregnancies", Period(kind, d(start), d(end) if end else None))

    def contraception(self, start, end=None, method="iud"):
        return self.add("contraception", Period(method, d(start), d(end) if end else None))

    def pregnancy_test(self, on, result="negative"):
        return self.add("pregnancy_tests", Dated(d(on), result))

    def dexa(self, on):
        return self.add("dexa_scans", d(on))

    def biopsy(self, on, hai=None, stage=None, histology=""):
        return self.add("biopsies", Biopsy(d(on), hai, stage, histology))

    def acute_episode(self, presented, day0=None, encephalopathy=False, ended=None):
        return self.add(
            "acute_episodes",
            AcuteEpisode(d(presented), d(day0) if day0 else None, encephalopathy, d(ended) if ended else None),
        )

    def visit(self, on, **facts):
        return self.add("visits", VisitFacts(d(on), **facts))

    def dated(self, field: str, on, kind: str, detail: str = "", number=None):
        return self.add(field, Dated(d(on), kind, detail, number))

    def adverse_event(self, on, kind: str, course_id: int | None = None, grade: int | None = None, detail=""):
        return self.add("adverse_events", AdverseEventFact(d(on), kind, detail, course_id, grade))

    def build(self) -> Timeline:
        extra = {k: tuple(sorted(v, key=_sort_key)) for k, v in self.extra.items()}
        return Timeline(
            **self.patient,
            labs={code: tuple(sorted(series, key=lambda lab: lab.on)) for code, series in self.labs.items()},
            courses=tuple(self.courses),
            **extra,
        )


def _sort_key(item):
    for attr in ("on", "start", "presented_on"):
        if hasattr(item, attr):
            return getattr(item, attr)
    return item


def run(timeline: Timeline | TimelineBuilder, as_of, **overrides):
    """Evaluate with the default parameters (overridable); returns the Evaluation."""
    if isinstance(timeline, TimelineBuilder):
        timeline = timeline.build()
    params = {**defaults(), **overrides}
    return evaluate(timeline, d(as_of), params)


def fired(timeline, as_of, rule_id: str, **overrides):
    """The finding of `rule_id`, or None."""
    evaluation = run(timeline, as_of, **overrides)
    return next((f for f in evaluation.findings if f.rule_id == rule_id), None)


def not_evaluable(timeline, as_of, rule_id: str, **overrides):
    evaluation = run(timeline, as_of, **overrides)
    return next((n for n in evaluation.not_evaluable if n.rule_id == rule_id), None)


__all__ = ["AAA", "TimelineBuilder", "d", "day", "fired", "not_evaluable", "replace", "run"]
