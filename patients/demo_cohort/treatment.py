"""Treatment building blocks: steroid induction and taper (prednisolone, budesonide), bone
protection and DEXA, azathioprine, second-line drugs, `induce` (the whole induction regimen),
withdrawal and stopping for intolerance."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from patients.models import DexaCategory, DexaScan
from regimens.models import StopReason

from .activity import Response, add_response_curves
from .clinical import (
    AZA_DOSE_LIMITS_MG_PER_KG,
    AZA_INCREASE_AFTER_DAYS,
    AZA_LEAD_IN_DAYS,
    AZA_REDUCED_MG_PER_KG,
    AZA_START_MG,
    AZA_TABLET_MG,
    AZA_TARGET_MG_PER_KG,
    AZA_UNREDUCED_MIN_MG_PER_KG,
    BUDESONIDE_INDUCTION_MG,
    BUDESONIDE_LAST_MG,
    BUDESONIDE_PROTOCOL,
    BUDESONIDE_RESPONSE_MG,
    CALCIUM_VITAMIN_D_MG,
    DEXA_AFTER_STEROID_START_DAYS,
    DEXA_OSTEOPENIA_T,
    DEXA_OSTEOPOROSIS_T,
    DEXA_REPEAT_DAYS,
    DEXA_T_SCORE,
    INTOLERANCE_ONSET_BEFORE_STOP_DAYS,
    INTOLERANCE_RESOLVES_DAYS,
    MMF_START_MG,
    MMF_TARGET_MG,
    PREDNISOLONE_AFTER_INDUCTION_MG,
    PREDNISOLONE_AT_NORMALISATION_MG,
    PREDNISOLONE_INDUCTION_STEPS,
    PREDNISOLONE_LAST_STEP_MG,
    PREDNISOLONE_MAINTENANCE_MG,
    PREDNISOLONE_MONTHS_AT_7_5_MG,
    PREDNISOLONE_PROTOCOL,
    PREDNISOLONE_START_LIMITS_MG,
    PREDNISOLONE_START_MG_PER_KG,
    PREDNISOLONE_TABLET_MG,
    PREDNISOLONE_TAPER_OUT_STEP_MONTHS,
    TACROLIMUS_MG_PER_KG,
    Band,
)
from .helpers import IMMUNOSUPPRESSANTS, days, mg_label, round_to, uniform
from .plans import AdverseEventPlan, CoursePlan, DosePlan, PatientPlan, TaperStepPlan


def daily(mg: float) -> str:
    return f"{mg_label(mg)} once daily"


def prednisolone_start_mg(rng: random.Random, weight_kg: float) -> float:
    low, high = PREDNISOLONE_START_LIMITS_MG
    mg = round_to(weight_kg * uniform(rng, PREDNISOLONE_START_MG_PER_KG), PREDNISOLONE_TABLET_MG)
    return min(max(mg, low), high)


def prednisolone_taper(
    rng: random.Random, start: date, start_mg: float, normal_on: date | None, hold_mg: float | None
) -> list[TaperStepPlan]:
    """§0A weight-based protocol: weekly to 10 mg over 4 weeks; 7.5 mg at normalisation; 5 mg after
    3 months; then out in 3-4-month steps. `hold_mg` stops the taper there; no normalisation holds 10 mg."""
    doses: list[tuple[date, float, str]] = []
    ratio = (PREDNISOLONE_AFTER_INDUCTION_MG / start_mg) ** (1 / PREDNISOLONE_INDUCTION_STEPS)
    for week in range(PREDNISOLONE_INDUCTION_STEPS + 1):
        mg = max(round_to(start_mg * ratio**week, PREDNISOLONE_TABLET_MG), PREDNISOLONE_AFTER_INDUCTION_MG)
        if week == PREDNISOLONE_INDUCTION_STEPS:
            mg = PREDNISOLONE_AFTER_INDUCTION_MG
        if not doses or mg < doses[-1][1]:
            doses.append((start + timedelta(weeks=week), mg, "Induction" if week == 0 else "Weekly taper"))
    if normal_on is not None:
        on = max(normal_on, start + timedelta(weeks=PREDNISOLONE_INDUCTION_STEPS + 1))
        doses.append((on, PREDNISOLONE_AT_NORMALISATION_MG, "Transaminases normal"))
        on += relativedelta(months=PREDNISOLONE_MONTHS_AT_7_5_MG)
        doses.append((on, PREDNISOLONE_MAINTENANCE_MG, "Maintenance"))
        for mg, note in ((PREDNISOLONE_LAST_STEP_MG, "Taper out"), (0.0, "Stop")):
            on += days(rng, PREDNISOLONE_TAPER_OUT_STEP_MONTHS)
            doses.append((on, mg, note))
    if hold_mg is not None:
        kept = [d for d in doses if d[1] >= hold_mg]
        if kept[-1][1] > hold_mg:
            last_on = doses[len(kept)][0] if len(kept) < len(doses) else kept[-1][0] + timedelta(weeks=1)
            kept.append((last_on, hold_mg, "Lowest dose that holds remission"))
        doses = kept
    return [TaperStepPlan(i, on, mg, note) for i, (on, mg, note) in enumerate(doses, start=1)]


def course_from_taper(
    plan: PatientPlan, key: str, drug: str, protocol: str, steps: list[TaperStepPlan], schedule: Callable[[float], str]
) -> CoursePlan:
    """The course carries out every step due by `as_of`; a final 0 mg step stops it."""
    course = CoursePlan(key, drug, steps[0].starts_on, taper_protocol=protocol, taper_steps=steps)
    for step in steps:
        if step.starts_on > plan.as_of:
            break
        if step.mg == 0:
            course.stop(step.starts_on, StopReason.REMISSION, "Steroid taper completed in remission.")
            break
        course.doses.append(DosePlan(step.starts_on, step.mg, schedule(step.mg), step.note, step.sequence))
    plan.courses.append(course)
    return course


def start_prednisolone(
    plan: PatientPlan,
    rng: random.Random,
    start: date,
    *,
    normal_on: date | None,
    hold_mg: float | None = None,
    key: str = "prednisolone",
) -> CoursePlan:
    steps = prednisolone_taper(rng, start, prednisolone_start_mg(rng, plan.weight_kg), normal_on, hold_mg)
    return course_from_taper(plan, key, "prednisolone", PREDNISOLONE_PROTOCOL, steps, daily)


BUDESONIDE_SCHEDULES = {
    BUDESONIDE_INDUCTION_MG: "3 mg three times daily",
    BUDESONIDE_RESPONSE_MG: "3 mg twice daily",
    BUDESONIDE_LAST_MG: "3 mg once daily",
}


def budesonide_schedule(mg: float) -> str:
    return BUDESONIDE_SCHEDULES[mg]


def start_budesonide(plan: PatientPlan, rng: random.Random, start: date, *, normal_on: date | None) -> CoursePlan:
    steps = [TaperStepPlan(1, start, BUDESONIDE_INDUCTION_MG, "Induction")]
    if normal_on is not None:
        later = normal_on + relativedelta(months=3)
        stop = later + days(rng, PREDNISOLONE_TAPER_OUT_STEP_MONTHS)
        steps += [
            TaperStepPlan(2, normal_on, BUDESONIDE_RESPONSE_MG, "Response"),
            TaperStepPlan(3, later, BUDESONIDE_LAST_MG, "Taper"),
            TaperStepPlan(4, stop, 0.0, "Stop"),
        ]
    return course_from_taper(plan, "budesonide", "budesonide", BUDESONIDE_PROTOCOL, steps, budesonide_schedule)


def start_bone_protection(plan: PatientPlan, steroid: CoursePlan) -> CoursePlan:
    course = CoursePlan("bone", "calcium_vitamin_d", steroid.started_on)
    course.doses.append(
        DosePlan(steroid.started_on, CALCIUM_VITAMIN_D_MG, "Calcium 500 mg + vitamin D3 400 IU twice daily")
    )
    if steroid.stopped_on:
        course.stop(steroid.stopped_on, StopReason.OTHER, "Steroids stopped.")
    plan.courses.append(course)
    return course


def azathioprine_target_mg(rng: random.Random, weight_kg: float, band: Band) -> float:
    """A dose in whole tablets inside AZA_DOSE_LIMITS_MG_PER_KG."""
    low, high = AZA_DOSE_LIMITS_MG_PER_KG
    mg = max(round_to(weight_kg * uniform(rng, band), AZA_TABLET_MG), AZA_TABLET_MG)
    while mg / weight_kg > high:
        mg -= AZA_TABLET_MG
    while mg / weight_kg < low:
        mg += AZA_TABLET_MG
    return mg


def unreduced_azathioprine_mg(weight_kg: float) -> float:
    """The smallest whole-tablet dose that is not a TPMT-intermediate reduced dose."""
    return math.ceil(weight_kg * AZA_UNREDUCED_MIN_MG_PER_KG / AZA_TABLET_MG) * AZA_TABLET_MG


def start_azathioprine(
    plan: PatientPlan,
    rng: random.Random,
    start: date,
    *,
    band: Band = AZA_TARGET_MG_PER_KG,
    reduced: bool = False,
    target_mg: float | None = None,
    key: str = "azathioprine",
) -> CoursePlan:
    course = CoursePlan(key, "azathioprine", start)
    if reduced:
        mg = max(round_to(plan.weight_kg * uniform(rng, AZA_REDUCED_MG_PER_KG), AZA_TABLET_MG), AZA_TABLET_MG)
        course.doses.append(DosePlan(start, mg, daily(mg), "Reduced dose: TPMT intermediate metaboliser"))
    else:
        target = target_mg or azathioprine_target_mg(rng, plan.weight_kg, band)
        first = min(AZA_START_MG, target)
        course.doses.append(DosePlan(start, first, daily(first), "Starting dose"))
        if target > first:
            increase_on = start + days(rng, AZA_INCREASE_AFTER_DAYS)
            course.doses.append(DosePlan(increase_on, target, daily(target), "Target dose, FBC stable"))
    course.doses = [d for d in course.doses if d.effective_on <= plan.as_of]
    plan.courses.append(course)
    return course


def start_mycophenolate(plan: PatientPlan, rng: random.Random, start: date, *, line: int) -> CoursePlan:
    course = CoursePlan("mycophenolate", "mycophenolate_mofetil", start, line=line)
    target = rng.choice(MMF_TARGET_MG)
    course.doses.append(DosePlan(start, MMF_START_MG, "500 mg twice daily", "Starting dose"))
    increase_on = start + days(rng, AZA_INCREASE_AFTER_DAYS)
    course.doses.append(DosePlan(increase_on, target, f"{target / 2:g} mg twice daily", "Target dose"))
    course.doses = [d for d in course.doses if d.effective_on <= plan.as_of]
    plan.courses.append(course)
    return course


def start_tacrolimus(plan: PatientPlan, start: date, *, line: int) -> CoursePlan:
    mg = max(round_to(plan.weight_kg * TACROLIMUS_MG_PER_KG, 1.0), 1.0)
    course = CoursePlan("tacrolimus", "tacrolimus", start, line=line)
    course.doses.append(DosePlan(start, mg, f"{mg / 2:g} mg twice daily", "Trough target 3-8 ng/mL"))
    plan.courses.append(course)
    return course


def add_dexa_scans(plan: PatientPlan, rng: random.Random, steroid: CoursePlan) -> None:
    """A baseline scan after the steroid start, repeated every 1-2 years while the steroid runs (STER-01)."""
    on = steroid.started_on + days(rng, DEXA_AFTER_STEROID_START_DAYS)
    while on < plan.as_of and (steroid.stopped_on is None or on <= steroid.stopped_on):
        t_score = round(uniform(rng, DEXA_T_SCORE), 1)
        plan.add(DexaScan, scanned_on=on, lowest_t_score=t_score, category=dexa_category(t_score))
        on += days(rng, DEXA_REPEAT_DAYS)


def dexa_category(t_score: float) -> str:
    if t_score <= DEXA_OSTEOPOROSIS_T:
        return DexaCategory.OSTEOPOROSIS
    return DexaCategory.OSTEOPENIA if t_score < DEXA_OSTEOPENIA_T else DexaCategory.NORMAL


@dataclass
class Regimen:
    steroid: CoursePlan
    azathioprine: CoursePlan | None
    bone: CoursePlan


def induce(
    plan: PatientPlan,
    rng: random.Random,
    start: date,
    response: Response,
    *,
    budesonide: bool = False,
    steroid_hold_mg: float | None = None,
    aza_band: Band = AZA_TARGET_MG_PER_KG,
    aza_reduced: bool = False,
    with_azathioprine: bool = True,
    dexa: bool = True,
    lead_in: bool = True,
    key_suffix: str = "",
) -> Regimen:
    """Steroid induction (taper from the response), bone protection, AZA after the lead-in, curves."""
    plan.t0 = plan.t0 or start
    add_response_curves(plan, start, response, lead_in=lead_in)
    normal_on = start + timedelta(days=response.alt_normal_after) if response.alt_normal_after else None
    if budesonide:
        steroid = start_budesonide(plan, rng, start, normal_on=normal_on)
    else:
        steroid = start_prednisolone(
            plan, rng, start, normal_on=normal_on, hold_mg=steroid_hold_mg, key=f"prednisolone{key_suffix}"
        )
    bone = start_bone_protection(plan, steroid)
    bone.key += key_suffix
    aza = None
    aza_start = start + timedelta(days=AZA_LEAD_IN_DAYS)
    if with_azathioprine and aza_start <= plan.as_of:
        aza = start_azathioprine(
            plan, rng, aza_start, band=aza_band, reduced=aza_reduced, key=f"azathioprine{key_suffix}"
        )
    if dexa:
        add_dexa_scans(plan, rng, steroid)
    return Regimen(steroid, aza, bone)


def taper_off(plan: PatientPlan, rng: random.Random, steroid: CoursePlan, normal_on: date) -> None:
    """Resume a held prednisolone taper once a later drug has normalised the ALT (dose changes by hand)."""
    on = normal_on
    for mg in (PREDNISOLONE_AT_NORMALISATION_MG, PREDNISOLONE_MAINTENANCE_MG, PREDNISOLONE_LAST_STEP_MG, 0.0):
        if on > plan.as_of:
            return
        if mg == 0:
            steroid.stop(on, StopReason.REMISSION, "Steroid taper completed in remission.")
            return
        steroid.doses.append(DosePlan(on, mg, daily(mg), "Taper resumed after response"))
        on += days(rng, PREDNISOLONE_TAPER_OUT_STEP_MONTHS)


def withdraw_all(plan: PatientPlan, on: date) -> None:
    """Planned withdrawal in remission: every immunosuppressant still running stops."""
    for course in plan.courses:
        if course.drug in IMMUNOSUPPRESSANTS and course.is_active_on(on):
            course.stop(on, StopReason.REMISSION, "Planned withdrawal after sustained remission.")
        elif course.drug == "calcium_vitamin_d" and course.is_active_on(on):
            course.stop(on, StopReason.OTHER, "Steroids stopped.")


def stop_for_intolerance(
    plan: PatientPlan, course: CoursePlan, on: date, kind: str, description: str, grade: int
) -> None:
    resolved_on = on + timedelta(days=INTOLERANCE_RESOLVES_DAYS)
    event = AdverseEventPlan(
        kind, on - timedelta(days=INTOLERANCE_ONSET_BEFORE_STOP_DAYS), description, grade,
        resolved_on=resolved_on if resolved_on <= plan.as_of else None,
    )  # fmt: skip
    course.stop(on, StopReason.INTOLERANCE, description, event)
