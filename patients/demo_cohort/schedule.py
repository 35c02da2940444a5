"""Draws, visits, adherence: the monitoring schedule of whatever the patient is on, clinic reviews,
routine metabolites and drug levels; `finish` completes a plan whose treatment is decided.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from datetime import time as clock

from dateutil.relativedelta import relativedelta

from regimens.models import AdherenceMethod

from .clinical import (
    ADHERENCE_MISSED_ANY_PROBABILITY,
    ADHERENCE_RECORD_PROBABILITY,
    AFTER_WITHDRAWAL_INTERVALS,
    ALT_AFTER_STEROID_CHANGE_DAYS,
    ALT_AFTER_STEROID_CHANGE_DRAW,
    GLUCOSE_MMOL_L,
    IGG_EARLY_GAP_DAYS,
    IGG_EARLY_MONTHS,
    IGG_LATE_GAP_DAYS,
    METABOLITE_NORMAL_MMP,
    METABOLITE_NORMAL_TGN,
    METABOLITES_AFTER_DOSE_DAYS,
    METABOLITES_YEARLY_PROBABILITY,
    PHASE_A_DAYS,
    PHASE_A_INTERVAL,
    PHASE_B_DAYS,
    PHASE_B_INTERVAL,
    PHASE_C_INTERVAL,
    POTASSIUM_MMOL_L,
    PRE_TREATMENT_INTERVAL,
    PREDNISOLONE_AFTER_INDUCTION_MG,
    SNAP_MIN_GAP,
    TACROLIMUS_TROUGH,
    VISIT_GAPS,
    DaySpan,
)
from .helpers import ANTIMETABOLITES, IMMUNOSUPPRESSANTS, STEROIDS, THIOPURINES, days, uniform
from .physiology import STEROID_WEIGHT_GAIN_KG, WEIGHT_NOISE_KG
from .plans import AdherencePlan, CoursePlan, Draw, PatientPlan, VisitPlan


def _latest_restart(plan: PatientPlan, on: date) -> date | None:
    """MON-01 D0: the latest antimetabolite start or dose increase on or before `on`, if still on it."""
    latest = None
    for course in plan.courses:
        if course.drug in ANTIMETABOLITES and course.is_active_on(on):
            for d in [course.started_on, *course.increase_dates()]:
                if d <= on and (latest is None or d > latest):
                    latest = d
    return latest


def _phase_interval(since: int) -> DaySpan:
    """MON-01 phases, ends included: A to D0+56, B to D0+183, then C."""
    if since <= PHASE_A_DAYS:
        return PHASE_A_INTERVAL
    return PHASE_B_INTERVAL if since <= PHASE_B_DAYS else PHASE_C_INTERVAL


def _interval_for(plan: PatientPlan, on: date) -> DaySpan:
    restart = _latest_restart(plan, on)
    if restart is not None:
        return _phase_interval((on - restart).days)
    active = [c for c in plan.courses if c.drug in IMMUNOSUPPRESSANTS and c.is_active_on(on)]
    if active:
        since = (on - max(c.started_on for c in active)).days
        return PRE_TREATMENT_INTERVAL if since < PHASE_A_DAYS else _phase_interval(since)
    stops = [c.stopped_on for c in plan.courses if c.drug in IMMUNOSUPPRESSANTS and c.stopped_on and c.stopped_on <= on]
    if stops:
        since = (on - max(stops)).days
        return next(span for limit, span in AFTER_WITHDRAWAL_INTERVALS if since < limit)
    return PRE_TREATMENT_INTERVAL


def _snap_points(plan: PatientPlan) -> list[date]:
    """Days that get a draw of their own: every immunosuppressant start and antimetabolite increase."""
    points = {plan.t0} if plan.t0 else set()
    for course in plan.courses:
        if course.drug in IMMUNOSUPPRESSANTS:
            points.add(course.started_on)
        if course.drug in ANTIMETABOLITES:
            points.update(course.increase_dates())
    return sorted(points)


def _steroid_changes(plan: PatientPlan) -> list[date]:
    changes = set()
    for course in plan.courses:
        if course.drug in STEROIDS:
            changes.update(d.effective_on for d in course.doses)
            if course.stopped_on:
                changes.add(course.stopped_on)
    return sorted(changes)


def schedule_draw_dates(plan: PatientPlan, rng: random.Random) -> list[date]:
    """Blood draws following the monitoring schedule of whatever the patient is on at the time."""
    assert plan.first_draw_on is not None
    end = plan.last_draw_on or plan.as_of - timedelta(days=1)
    snaps, steroid_changes = _snap_points(plan), _steroid_changes(plan)
    current, dates = plan.first_draw_on, [plan.first_draw_on]
    while True:
        next_on = current + days(rng, _interval_for(plan, current))
        next_on = min([next_on, *(s for s in snaps if current + SNAP_MIN_GAP < s < next_on)])
        for change in steroid_changes:  # MON-02: an ALT within 30 days of every steroid change
            if current < change and next_on > change + timedelta(days=ALT_AFTER_STEROID_CHANGE_DAYS):
                next_on = change + days(rng, ALT_AFTER_STEROID_CHANGE_DRAW)
                break
        if next_on > end:
            return dates
        dates.append(next_on)
        current = next_on


def schedule_draws(plan: PatientPlan, rng: random.Random) -> None:
    dates = set(schedule_draw_dates(plan, rng)) if plan.use_schedule else set()
    extra = {draw.on: draw for draw in plan.extra_draws}
    draws = [extra.get(on) or Draw(on) for on in sorted(dates | set(extra))]
    t0 = plan.t0 or draws[0].on
    last_igg: date | None = None
    early_until = t0 + relativedelta(months=IGG_EARLY_MONTHS)
    for draw in draws:
        if draw.on not in extra:
            draw.at = clock(rng.randint(8, 11), rng.randrange(0, 60, 5))
        since = (draw.on - last_igg).days if last_igg else None
        due = since is None or since >= IGG_LATE_GAP_DAYS or (draw.on <= early_until and since >= IGG_EARLY_GAP_DAYS)
        draw.with_igg = draw.with_igg or due
        if draw.with_igg:
            last_igg = draw.on
    plan.draws = draws


def draw_nearest(plan: PatientPlan, target: date, *, not_before: date | None = None) -> Draw | None:
    candidates = [d for d in plan.draws if not_before is None or d.on >= not_before]
    return min(candidates, key=lambda d: (abs((d.on - target).days), d.on)) if candidates else None


def pin_metabolites(draw: Draw | None, tgn: float, mmp: float) -> None:
    if draw is not None:
        draw.pinned.update({"tgn": tgn, "mmp": mmp})


def add_routine_metabolites(plan: PatientPlan, rng: random.Random, course: CoursePlan | None) -> None:
    """A first 6-TGN/6-MMP at steady state after the last dose change, then now and then."""
    if course is None or not course.doses:
        return
    check_on = course.doses[-1].effective_on + timedelta(days=METABOLITES_AFTER_DOSE_DAYS)
    end = min(course.stopped_on or plan.as_of, plan.as_of)
    while check_on < end:
        draw = draw_nearest(plan, check_on, not_before=check_on - timedelta(days=14))
        if draw and course.is_active_on(draw.on) and "tgn" not in draw.pinned:
            pin_metabolites(draw, uniform(rng, METABOLITE_NORMAL_TGN), uniform(rng, METABOLITE_NORMAL_MMP))
        check_on += timedelta(days=365)
        while check_on < end and rng.random() > METABOLITES_YEARLY_PROBABILITY:
            check_on += timedelta(days=365)


def pin_tacrolimus_levels(plan: PatientPlan, rng: random.Random, course: CoursePlan) -> None:
    for draw in plan.draws:
        if course.is_active_on(draw.on) and draw.on >= course.started_on + timedelta(days=3):
            draw.pinned.update(
                {
                    "tacrolimus": uniform(rng, TACROLIMUS_TROUGH),
                    "potassium": uniform(rng, POTASSIUM_MMOL_L),
                    "glucose": uniform(rng, GLUCOSE_MMOL_L),
                }
            )


def _visit_gap(plan: PatientPlan, on: date) -> int:
    since = (on - (plan.t0 or on)).days
    return next(gap for until, gap in VISIT_GAPS if since < until)


def weight_on(plan: PatientPlan, rng: random.Random, on: date) -> float:
    steroid_mg = sum(c.dose_on(on) for c in plan.courses if c.drug == "prednisolone")
    gain = STEROID_WEIGHT_GAIN_KG if steroid_mg >= PREDNISOLONE_AFTER_INDUCTION_MG else 0.0
    return round(plan.weight_kg + gain + rng.uniform(-WEIGHT_NOISE_KG, WEIGHT_NOISE_KG), 1)


def schedule_visits(plan: PatientPlan, rng: random.Random) -> None:
    """Clinic reviews on draw days: at diagnosis, monthly at first, then 3- and 6-monthly."""
    planned = {v.on: v for v in plan.visits}
    last: date | None = None
    for draw in plan.draws:
        if draw.on < (plan.diagnosis_date or draw.on):
            continue
        if draw.on in planned or last is None or (draw.on - last).days >= _visit_gap(plan, draw.on):
            visit = planned.get(draw.on) or VisitPlan(draw.on, notes="Review" if last else "New patient: AIH diagnosis")
            planned[draw.on] = visit
            last = draw.on
    for visit in planned.values():
        visit.weight_kg = visit.weight_kg or weight_on(plan, rng, visit.on)
        if plan.cirrhosis_diagnosed_on and visit.on >= plan.cirrhosis_diagnosed_on:
            visit.splenomegaly = True
    plan.visits = sorted(planned.values(), key=lambda v: v.on)


def add_routine_adherence(plan: PatientPlan, rng: random.Random) -> None:
    for visit in plan.visits:
        on_treatment = [
            c
            for c in plan.courses
            if c.drug in IMMUNOSUPPRESSANTS and c.is_active_on(visit.on) and c.started_on < visit.on
        ]
        if not on_treatment or rng.random() > ADHERENCE_RECORD_PROBABILITY:
            continue
        missed = rng.randint(1, 3) if rng.random() < ADHERENCE_MISSED_ANY_PROBABILITY else 0
        plan.adherence.append(
            AdherencePlan(
                visit.on,
                AdherenceMethod.SELF_REPORT,
                missed,
                "Forgot doses while travelling" if missed else "",
                on_treatment[-1].key,
            )
        )


def finish(plan: PatientPlan, rng: random.Random, *, metabolites: bool = True) -> None:
    """Draws, visits, routine metabolites and adherence for a plan whose treatment is decided."""
    schedule_draws(plan, rng)
    if metabolites:
        for course in plan.courses:
            if course.drug in THIOPURINES:
                add_routine_metabolites(plan, rng, course)
    tacrolimus = plan.course("tacrolimus")
    if tacrolimus:
        pin_tacrolimus_levels(plan, rng, tacrolimus)
    schedule_visits(plan, rng)
    add_routine_adherence(plan, rng)
