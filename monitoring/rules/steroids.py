"""Steroids, bone and vaccination (clinical-rules.md §2.6): STER-01..05 and VAC-01."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from math import isclose

from monitoring.engine.formulas import mg_per_kg
from monitoring.engine.horizon import derived
from monitoring.engine.response import State
from monitoring.engine.timeline import Course
from monitoring.rules.base import (
    Context,
    Family,
    Finding,
    NotEvaluable,
    Severity,
    days_after,
    days_between,
    months_after,
    rule,
)
from regimens.catalogue import DRUGS, DrugClass

STEROID = DrugClass.SYSTEMIC_STEROID
BUDESONIDE = DrugClass.BUDESONIDE
DRUG_NAMES = {entry.code: entry.name for entry in DRUGS}
# STER-04 is about the predniso(lo)ne starting dose; methylprednisolone is used IV in AS-AIH (ASA rules).
PREDNISOLONE_DRUGS = ("prednisolone", "prednisone")
# Bone-protection drugs that are not a calcium or vitamin D supplement: a bisphosphonate alone does
# not answer STER-02 (it needs calcium and vitamin D repletion itself).
NOT_CALCIUM_OR_VITAMIN_D = frozenset({"alendronate"})
# Cumulative exposure is counted in days; a month is the average Gregorian month (365.25 / 12 days).
DAYS_PER_MONTH = 30.4375


def drug_name(code: str) -> str:
    return DRUG_NAMES.get(code, code.replace("_", " ").capitalize())


def course_evidence(course: Course, on: date) -> dict:
    """A course as evidence: drug, start date, whether it is being prescribed now, dose in force."""
    return {
        "drug": drug_name(course.drug),
        "started": course.started_on.isoformat(),
        "planned": course.planned,
        "mg_per_day": course.dose_on(on),
    }


def _steroid_classes(include_budesonide: bool) -> tuple[str, ...]:
    return (STEROID, BUDESONIDE) if include_budesonide else (STEROID,)


def current_steroid_exposure_start(ctx: Context, include_budesonide: bool) -> date | None:
    """First day of the steroid exposure running today (None if not on a steroid).

    Courses less than `treatment_gap_days` apart (prednisolone switched to budesonide, a short
    interruption) are one exposure. Courses being prescribed now (planned) are not exposure yet.
    """
    classes = _steroid_classes(include_budesonide)
    courses = sorted((c for c in ctx.courses if c.drug_class in classes and not c.planned), key=lambda c: c.started_on)
    if not any(c.active_on(ctx.as_of) for c in courses):
        return None
    gap = timedelta(days=ctx.p("treatment_gap_days"))
    start: date | None = None
    end: date | None = None  # None = still running
    for course in courses:
        if start is None or (end is not None and course.started_on > end + gap):
            start, end = course.started_on, course.stopped_on
        elif end is not None:
            end = None if course.stopped_on is None else max(end, course.stopped_on)
    return start


# STER-01 -------------------------------------------------------------------------------------
@rule("STER-01", family=Family.STEROID_BONE, title="DEXA due", source="S000, S001")
def dexa_due(ctx: Context):
    start = current_steroid_exposure_start(ctx, ctx.p("dexa_counts_budesonide"))
    if start is None:
        return None
    # "Expected duration ≥ 3 months" is not recorded anywhere: a course that has already run longer
    # than the baseline window is the evidence, so nothing fires in the first 90 days of steroids.
    on_steroid_days = days_between(start, ctx.as_of)
    baseline_days = ctx.p("dexa_baseline_after_days")
    if on_steroid_days <= baseline_days:
        return None
    # The start date, not a day count: the finding must not change merely because a day passed.
    steroids = {"steroid_since": start.isoformat()}
    if not ctx.t.dexa_scans:
        return Finding(
            "STER-01",
            Severity.WARNING,
            f"No DEXA scan on file, on steroids since {start.isoformat()} (more than {baseline_days} days): "
            "baseline bone density scan needed.",
            steroids,
            "Request a baseline DEXA scan (bone density).",
            "ACR 2022 glucocorticoid-induced osteoporosis guidance (E-m); §0A A-19",
            {},
        )
    last = max(ctx.t.dexa_scans)
    due_on = months_after(last, ctx.p("dexa_due_months"))
    if ctx.as_of < due_on:
        return None
    overdue_on = months_after(last, ctx.p("dexa_overdue_months"))
    overdue = ctx.as_of >= overdue_on
    return Finding(
        "STER-01",
        Severity.WARNING if overdue else Severity.INFO,
        f"DEXA {'overdue' if overdue else 'due'}: last scan {last.isoformat()}, patient still on steroids.",
        {**steroids, "last_dexa": last.isoformat(), "due_on": due_on.isoformat(), "overdue_on": overdue_on.isoformat()},
        "Request a DEXA scan (1-2 yearly while on steroids).",
        'S000, S001 ("DEXA at 1-2 yearly intervals while on steroids")',
        {},
    )


# STER-02 -------------------------------------------------------------------------------------
@rule("STER-02", family=Family.STEROID_BONE, title="Calcium and vitamin D", source="S000, S001")
def calcium_and_vitamin_d(ctx: Context):
    # Planned courses count: S001 asks for supplements "from treatment initiation".
    steroids = ctx.active(*_steroid_classes(ctx.p("bone_protection_counts_budesonide")))
    if not steroids:
        return None
    supplements = [c for c in ctx.active(DrugClass.BONE_PROTECTION) if c.drug not in NOT_CALCIUM_OR_VITAMIN_D]
    if supplements:
        return None
    names = " and ".join(sorted({drug_name(c.drug) for c in steroids}))
    return Finding(
        "STER-02",
        Severity.WARNING,
        f"On {names} with no calcium and vitamin D supplement recorded.",
        {"steroids": [course_evidence(c, ctx.as_of) for c in steroids]},
        "Prescribe calcium and vitamin D (or record the supplement the patient takes).",
        'S000; S001 ("all patients ... from treatment initiation")',
        {},
    )


# STER-03 -------------------------------------------------------------------------------------
def _counts_as_exposure(course: Course) -> bool:
    return course.drug_class == STEROID and not course.planned and course.prednisolone_equivalent is not None


def _exposure_steps(ctx: Context, today: date) -> Iterator[tuple[date, int, float]]:
    """(first day, number of days, prednisolone-equivalent mg/day) of each stretch of unchanged
    systemic-steroid dosing, oldest first, up to and including `today` (a plain date).

    Walks the dose-change steps of every systemic-steroid course taken (not planned). Overlapping
    courses add up on the days they overlap. Days without a recorded dose count as 0 mg (the
    caller reports such gaps as not evaluable). Budesonide has no prednisolone equivalent.
    """
    courses = [c for c in ctx.courses if _counts_as_exposure(c)]
    end = days_after(today, 1)  # exclusive: today counts
    cuts = {end}
    for course in courses:
        cuts.add(course.started_on)
        if course.stopped_on is not None:
            cuts.add(course.stopped_on)
        cuts.update(dose.on for dose in course.doses)
    steps = sorted(cut for cut in cuts if cut <= end)
    for step_start, step_end in zip(steps, steps[1:], strict=False):
        daily = sum(
            (c.dose_on(step_start) or 0.0) * c.prednisolone_equivalent for c in courses if c.active_on(step_start)
        )
        yield step_start, days_between(step_start, step_end), daily


def cumulative_steroid_exposure(ctx: Context) -> tuple[float, int]:
    """(total prednisolone-equivalent mg, days above `prolonged_steroid_mg`) up to and including today."""
    threshold = ctx.p("prolonged_steroid_mg")

    def exposure_until(today: date) -> tuple[float, int]:
        total, days_above = 0.0, 0
        for _, days, daily in _exposure_steps(ctx, today):
            total += daily * days
            if daily > threshold:
                days_above += days
        return total, days_above

    return derived(exposure_until, ctx.as_of)  # both only grow with the date (horizon.py)


def _months_above(days_above: int) -> float:
    return days_above / DAYS_PER_MONTH


def _limit_passed_on(ctx: Context, limit_months: int) -> date | None:
    """The day on which the time above `prolonged_steroid_mg` first came to more than `limit_months`
    months (the date STER-03 started to hold), or None if it has not yet."""
    threshold = ctx.p("prolonged_steroid_mg")

    def passed_on(today: date) -> date | None:
        days_above = 0
        for start, days, daily in _exposure_steps(ctx, today):
            if daily <= threshold:
                continue
            if _months_above(days_above + days) > limit_months:
                crossing = next(i for i in range(days) if _months_above(days_above + i + 1) > limit_months)
                return days_after(start, crossing)
            days_above += days
        return None

    return derived(passed_on, ctx.as_of)  # None until the day it is passed, then that day for good


def _undocumented_exposure(ctx: Context) -> list[Course]:
    """Systemic-steroid courses whose dose or prednisolone equivalent is unknown for part of their run."""
    return [
        c
        for c in ctx.courses
        if c.drug_class == STEROID
        and not c.planned
        and (c.prednisolone_equivalent is None or not c.doses or c.doses[0].on > c.started_on)
    ]


@rule("STER-03", family=Family.STEROID_BONE, title="Prolonged prednisolone > 10 mg/day", source="S001")
def prolonged_high_dose_steroid(ctx: Context):
    current = ctx.active(STEROID)
    if not current:
        return None  # a warning about complications of a steroid the patient no longer takes is not actionable
    _, days_above = cumulative_steroid_exposure(ctx)
    threshold_mg = ctx.p("prolonged_steroid_mg")
    limit_months = ctx.p("prolonged_steroid_months")
    if _months_above(days_above) <= limit_months:
        unknown = _undocumented_exposure(ctx)
        if unknown:
            names = ", ".join(f"{drug_name(c.drug)} from {c.started_on.isoformat()}" for c in unknown)
            return NotEvaluable("STER-03", f"dose or prednisolone equivalent not recorded for {names}")
        return None
    # The running totals grow every day while on prednisolone: the patient page shows them (decision
    # support); the alert keeps the date the limit was passed, which does not change from day to day.
    passed = _limit_passed_on(ctx, limit_months)
    return Finding(
        "STER-03",
        Severity.WARNING,
        f"Prednisolone above {threshold_mg:g} mg/day for a total of more than {limit_months} months "
        f"(limit passed on {passed.isoformat()}).",
        {"limit_passed_on": passed.isoformat(), "current": [course_evidence(c, ctx.as_of) for c in current]},
        "Review steroid-sparing options. Screen for osteoporosis, vertebral fracture, diabetes, cataracts, "
        "hypertension and mood or psychiatric effects.",
        "S001 (complications typically after 18 months at prednisone > 10 mg daily)",
        {},
    )


# STER-04 -------------------------------------------------------------------------------------
def _starting_courses(ctx: Context) -> list[Course]:
    """Predniso(lo)ne courses being prescribed now or started within the check window."""
    since = days_after(ctx.as_of, -ctx.p("steroid_start_check_days"))
    return [c for c in ctx.active_drug(*PREDNISOLONE_DRUGS) if c.planned or c.started_on >= since]


def _check_starting_dose(ctx: Context, course: Course) -> Finding | NotEvaluable | None:
    dose = course.dose_on(course.started_on)
    name = drug_name(course.drug)
    if dose is None:
        return NotEvaluable("STER-04", f"no starting dose recorded for {name} from {course.started_on.isoformat()}")
    cap = ctx.p("prednisolone_max_start_mg")
    per_kg_cap = ctx.p("prednisolone_max_mg_per_kg")
    weight, why_not = ctx.current_weight()
    if weight is None and dose <= cap:
        return NotEvaluable("STER-04", f"{why_not}: cannot check {name} {dose:g} mg/day against the mg/kg ceiling")
    reasons = []
    if dose > cap:
        reasons.append(f"above {cap:g} mg/day")
    if weight is not None and dose > per_kg_cap * weight:
        reasons.append(f"above {per_kg_cap:g} mg/kg ({per_kg_cap * weight:g} mg at {weight:g} kg)")
    if not reasons:
        return None
    evidence = course_evidence(course, course.started_on)
    if weight is not None:
        evidence |= {"weight_kg": weight, "mg_per_kg": round(mg_per_kg(dose, weight), 2)}
        evidence["ceiling_mg"] = min(cap, per_kg_cap * weight)
    return Finding(
        "STER-04",
        Severity.WARNING,
        f"{name} starting dose {dose:g} mg/day is " + " and ".join(reasons) + ".",
        evidence,
        "Check the starting dose: outside acute severe AIH the usual induction is 0.5-1 mg/kg/day, at most 60 mg.",
        "S000 (30-60 mg/day, 0.5-1 mg/kg/day); S001 (30 mg/day with AZA)",
        {},
    )


@rule("STER-04", family=Family.STEROID_BONE, title="Starting-dose sanity check", source="S000, S001")
def starting_dose(ctx: Context):
    outcomes = []
    for course in _starting_courses(ctx):
        # In acute severe AIH high-dose (IV ≥ 1 mg/kg) steroids are intended; the ASA rules watch it.
        if ctx.in_acute_episode(course.started_on):
            continue
        outcomes.append(_check_starting_dose(ctx, course))
    return outcomes


# STER-05 -------------------------------------------------------------------------------------
@rule("STER-05", family=Family.STEROID_BONE, title="Budesonide regimen check", source="S000, S001")
def budesonide_regimen(ctx: Context):
    outcomes = []
    for course in ctx.active(BUDESONIDE):
        dose = course.dose_on(ctx.as_of)
        if dose is None:
            outcomes.append(NotEvaluable("STER-05", "no budesonide dose recorded"))
            continue
        induction = ctx.p("budesonide_induction_mg")
        if isclose(dose, induction):
            continue
        after_response = ctx.p("budesonide_after_response_mg")
        # The reduced dose is right once the patient has responded in this treatment era (Manns 2010).
        responded = ctx.response.ever(State.COMPLETE_RESPONSE, State.REMISSION, after=ctx.t0)
        if responded and isclose(dose, after_response):
            continue
        expected = f"{induction:g} mg/day" + (f" or {after_response:g} mg/day after response" if responded else "")
        outcomes.append(
            Finding(
                "STER-05",
                Severity.INFO,
                f"Budesonide {dose:g} mg/day: the usual regimen is {expected}.",
                {**course_evidence(course, ctx.as_of), "response_reached": responded},
                f"Check the budesonide dose: {induction:g} mg/day (3 mg three times daily) for induction, "
                f"{after_response:g} mg/day once aminotransferases normalise; with azathioprine 1-2 mg/kg/day.",
                "S000, S001 (9 mg/day with AZA, non-cirrhotic only); Manns et al. 2010 (6 mg/day at response, E-m)",
                {},
            )
        )
    return outcomes


# VAC-01 --------------------------------------------------------------------------------------
VACCINES_FOR = {"hav": ("hav", "hav_hbv"), "hbv": ("hbv", "hav_hbv")}
VIRUS_NAMES = {"hav": "hepatitis A", "hbv": "hepatitis B"}


def _vaccination_gap(ctx: Context, virus: str) -> str | None:
    """Why the patient may need this vaccine, or None if immune, infected or vaccinated since."""
    results = [r for r in ctx.t.immunity if r.kind == virus]
    if not results:
        return f"{VIRUS_NAMES[virus]}: no immunity status recorded"
    latest = max(results, key=lambda r: r.on)
    if latest.detail != "susceptible":
        return None
    # A vaccine given before the susceptible result did not protect: only later doses count.
    given = [v for v in ctx.t.vaccinations if v.kind in VACCINES_FOR[virus] and v.on >= latest.on]
    if given:
        return None
    return f"{VIRUS_NAMES[virus]}: susceptible on {latest.on.isoformat()}, not vaccinated since"


@rule("VAC-01", family=Family.STEROID_BONE, title="Hepatitis A/B vaccination", source="S000, S001")
def hepatitis_vaccination(ctx: Context):
    # Only patients on, or starting, immunosuppression (planned courses included).
    if not any(c.is_immunosuppressant for c in ctx.active()):
        return None
    gaps = [gap for virus in VACCINES_FOR if (gap := _vaccination_gap(ctx, virus))]
    if not gaps:
        return None
    return Finding(
        "VAC-01",
        Severity.INFO,
        "Hepatitis vaccination: " + "; ".join(gaps) + ".",
        {
            "immunity": [{"virus": r.kind, "status": r.detail, "date": r.on.isoformat()} for r in ctx.t.immunity],
            "vaccinations": [{"vaccine": v.kind, "date": v.on.isoformat()} for v in ctx.t.vaccinations],
        },
        "Check hepatitis A and B serology and vaccinate susceptible patients early (HBV serology before "
        "immunosuppression).",
        'S000, S001 ("vaccinate against hepatitis A and B early in susceptible patients"); HBV serology (E-m)',
        {},
    )
