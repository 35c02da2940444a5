"""What the patient page shows: plain data gathered in a fixed number of queries.

The page reads the same plain-data timeline the rules engine reads (`load_timelines`), so the
charts, the latest results and the decision support agree with the alerts; only the open alerts
and the taper plans (which the timeline does not carry) are read separately.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from monitoring.catalogue import BY_CODE, VISIT_PANEL
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.engine.context import Context
from monitoring.engine.evaluate import evaluate
from monitoring.engine.loader import load_timelines
from monitoring.engine.response import normalised_on
from monitoring.engine.schedule import monitoring_schedule
from monitoring.engine.timeline import Dose, Timeline
from monitoring.models import Alert, AlertStatus
from monitoring.record import charts
from monitoring.record.decision_support import decision_support, response_summary, score_history
from patients.models import Patient
from regimens.models import TaperStep
from regimens.taper import due_after_normalisation


@dataclass(frozen=True)
class LatestResult:
    code: str
    name: str
    value: float
    unit: str
    decimals: int
    on: date
    lln: float | None
    uln: float | None
    range_source: str

    @property
    def range_note(self) -> str:
        """Where the range came from when it is not the lab's own: '' for the lab's, else clinic / typical."""
        return {"clinic": "clinic range", "typical": "typical range"}.get(self.range_source, "")

    @property
    def fold_uln(self) -> float | None:
        return round(self.value / self.uln, 2) if self.uln else None

    @property
    def above_uln(self) -> bool:
        return self.uln is not None and self.value > self.uln


def latest_results(timeline: Timeline) -> list[LatestResult]:
    """The most recent result per analyte, in the order a clinician reads a panel."""
    order = {code: index for index, code in enumerate(VISIT_PANEL)}
    latest = []
    for code, series in timeline.labs.items():
        if not series:
            continue
        lab = series[-1]
        entry = BY_CODE.get(code)
        latest.append(
            LatestResult(
                code,
                entry.name if entry else code,
                lab.value,
                entry.canonical_unit if entry else "",
                entry.decimals if entry else 1,
                lab.on,
                lab.lln,
                lab.uln,
                lab.range_source,
            )
        )
    return sorted(latest, key=lambda r: (order.get(r.code, len(order)), r.code))


@dataclass(frozen=True)
class TaperAhead:
    """An active taper plan's dated steps, and whether later steps wait for normalisation."""

    steps: list[Dose]
    waiting_for_normalisation: bool = False


def taper_plans(patient_id: int, timeline: Timeline, params: dict[str, Any], today: date) -> dict[int, TaperAhead]:
    """Active taper plans' steps per course id, oldest first (one query). A step "at normalisation" is
    dated from the day the engine found ALT and IgG normal since the course started (plus its offset);
    until then it and the steps after it have no date, so they are left out and the plan says so."""
    rows = list(
        TaperStep.objects.filter(plan__course__patient_id=patient_id, plan__is_active=True)
        .order_by("plan__course_id", "sequence")
        .values_list(
            "plan__course_id",
            "starts_on",
            "dose_mg_per_day",
            "after_normalisation",
            "months_after_normalisation",
            "weeks_after_normalisation",
        )
    )
    history = Context(timeline, today, params).response if any(row[3] for row in rows) else None
    starts = {course.id: course.started_on for course in timeline.courses}
    steps: dict[int, list[Dose]] = defaultdict(list)
    waiting: set[int] = set()
    for course_id, on, mg, anchored, months, weeks in rows:
        if course_id in waiting:
            continue
        if anchored:
            normalised = normalised_on(history, starts.get(course_id, on))
            if normalised is None:
                waiting.add(course_id)
                continue
            on = due_after_normalisation(normalised, months, weeks)
        steps[course_id].append(Dose(on, mg))
    return {
        course_id: TaperAhead(steps.get(course_id, []), course_id in waiting)
        for course_id in dict.fromkeys([row[0] for row in rows])
    }


def open_alerts(patient: Patient) -> list[Alert]:
    return list(Alert.objects.filter(patient=patient).exclude(status=AlertStatus.RESOLVED).order_by("-severity"))


def chart(
    panel: str,
    timeline: Timeline,
    *,
    as_of: date,
    params: dict[str, Any],
    planned: dict[int, list[Dose]],
    range_key: str,
) -> dict[str, Any] | None:
    """The chosen panel's figure as JSON for `json_script`, or None when the panel has no data yet."""
    if not charts.has_data(timeline, panel):
        return None
    if panel == "main":
        fig = charts.main_figure(timeline, as_of=as_of, planned=planned, range_key=range_key)
    elif panel == "cholestatic":
        fig = charts.cholestatic_figure(timeline, as_of=as_of, range_key=range_key)
    elif panel == "scores":
        fig = charts.scores_figure(score_history(timeline, params), as_of=as_of, params=params, range_key=range_key)
    else:
        builder = {
            "counts": charts.counts_figure,
            "metabolites": charts.metabolites_figure,
            "tacrolimus": charts.tacrolimus_figure,
        }[panel]
        fig = builder(timeline, as_of=as_of, params=params, range_key=range_key)
    return charts.figure_json(fig)


def chart_choice(query: dict[str, str]) -> tuple[str, str]:
    """(panel, range) from the query string, falling back to the defaults for anything unknown."""
    panel = query.get("panel", charts.DEFAULT_PANEL)
    range_key = query.get("range", charts.DEFAULT_RANGE)
    return (
        panel if panel in charts.PANELS else charts.DEFAULT_PANEL,
        range_key if range_key in charts.RANGES else charts.DEFAULT_RANGE,
    )


def chart_context(
    patient: Patient, timeline: Timeline, params: dict[str, Any], *, panel: str, range_key: str, today: date
) -> dict[str, Any]:
    return {
        "panel": panel,
        "range_key": range_key,
        "panels": list(charts.PANELS.values()),
        "ranges": [(key, label) for key, (label, _) in charts.RANGES.items()],
        "panel_label": charts.PANELS[panel].label,
        "chart": chart(
            panel,
            timeline,
            as_of=today,
            params=params,
            planned={k: v.steps for k, v in taper_plans(patient.pk, timeline, params, today).items()}
            if panel == "main"
            else {},
            range_key=range_key,
        ),
    }


def load_patient_page(patient: Patient) -> tuple[Timeline, dict[str, Any]]:
    timeline = load_timelines([patient.pk])[patient.pk]
    return timeline, parameters_for_clinic(patient.clinic_id)


def current_courses(timeline: Timeline, today: date) -> tuple[list[dict], list[dict]]:
    """(active, past) courses as plain rows for the page, newest first."""
    active, past = [], []
    for course in sorted(timeline.courses, key=lambda c: c.started_on, reverse=True):
        last_dose = course.doses[-1].mg_per_day if course.doses else None
        row = {
            "id": course.id,
            "drug": charts.drug_name(course.drug),
            "started_on": course.started_on,
            "stopped_on": course.stopped_on,
            "stop_reason": charts.STOP_REASONS.get(course.stop_reason, course.stop_reason),
            "dose": course.dose_on(today) if course.active_on(today) else last_dose,
        }
        (active if course.active_on(today) else past).append(row)
    return active, past


def patient_summary(patient: Patient, timeline: Timeline, today: date) -> dict[str, Any]:
    active, past = current_courses(timeline, today)
    return {
        "active_courses": active,
        "past_courses": past,
        "latest_results": latest_results(timeline),
        "open_alerts": open_alerts(patient),
        "age": patient.age_on(today),
    }


def physician_panel(timeline: Timeline, params: dict[str, Any], today: date, alerts: list[Alert]) -> dict[str, Any]:
    """The decision-support panel's data: the engine's evaluation as of today, gathered for display."""
    evaluation = evaluate(timeline, today, params)
    return decision_support(timeline, evaluation, params, today, alerts)


KEY_RESULTS = ("alt", "ast", "alp", "ggt", "bilirubin", "albumin", "inr", "igg", "wbc", "neutrophils", "platelets")


def clinic_summary(patient: Patient, timeline: Timeline, params: dict[str, Any], today: date) -> dict[str, Any]:
    """The one-page summary for the GP: regimen, taper plan ahead, last labs, response, next bloods due."""
    ctx = Context(timeline, today, params)
    active, _ = current_courses(timeline, today)
    plans = taper_plans(patient.pk, timeline, params, today)
    taper = []
    for course in active:
        plan = plans.get(course["id"], TaperAhead([]))
        upcoming = [step for step in plan.steps if step.on > today]
        if upcoming or plan.waiting_for_normalisation:
            taper.append(
                {"drug": course["drug"], "steps": upcoming, "waiting_for_normalisation": plan.waiting_for_normalisation}
            )
    return {
        "patient": patient,
        "today": today,
        "age": patient.age_on(today),
        "active_courses": active,
        "taper": taper,
        "latest_results": [r for r in latest_results(timeline) if r.code in KEY_RESULTS],
        "response": response_summary(ctx),
        "schedule": monitoring_schedule(ctx),
    }
