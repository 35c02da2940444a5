"""The random mix: demo patients after the built-in scenarios, each a weighted random archetype
(`Demo profile: <archetype>` in the notes) with the numbers that only the mix uses.

Archetypes that share a built-in scenario's clinical picture reuse its numbers and helpers
(hypermethylator metabolites, `insufficient_response`, `make_non_adherent`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from datetime import time as clock

from patients.models import (
    CirrhosisBasis,
    ContraceptionMethod,
    ContraceptionRecord,
    MetaboliserPhenotype,
    PharmacogeneticTest,
    PregnancyTest,
    Relapse,
    Sex,
    TestResult,
    YesNoUnknown,
)
from regimens.models import AdverseEventKind, StopReason

from .activity import Response, add_flare, add_response_curves, typical_response
from .clinical import (
    ALLOPURINOL_MG,
    AZA_ALLOPURINOL_FRACTION,
    AZA_LEAD_IN_DAYS,
    AZA_LONG_TERM_MG_PER_KG,
    AZA_TABLET_MG,
    METABOLITE_NORMAL_MMP,
    METABOLITE_NORMAL_TGN,
    METABOLITES_AFTER_DOSE_DAYS,
    PREDNISOLONE_MAINTENANCE_MG,
    TREATMENT_AFTER_DIAGNOSIS_DAYS,
    Band,
    DaySpan,
)
from .diagnosis import diagnose, set_demographics
from .helpers import curve_value, days, round_to, uniform
from .plans import CoursePlan, DosePlan, Draw, PatientPlan
from .scenarios.hypermethylator import HYPERMETHYLATOR
from .scenarios.insufficient_responder import insufficient_response
from .scenarios.non_adherent import NON_ADHERENT, make_non_adherent
from .schedule import draw_nearest, finish, pin_metabolites
from .treatment import (
    daily,
    induce,
    start_mycophenolate,
    start_tacrolimus,
    stop_for_intolerance,
    taper_off,
    withdraw_all,
)

# --------------------------------------------------------------------------------------------
# Clinical numbers: the random mix (indexes after the scenarios)
# --------------------------------------------------------------------------------------------

ARCHETYPE_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("maintenance", 46),
    ("steroid_dependent", 8),
    ("off_treatment", 12),
    ("relapsed_retreated", 5),
    ("mmf_second_line", 7),
    ("budesonide_responder", 5),
    ("recent_diagnosis", 6),
    ("insufficient_responder", 3),
    ("hypermethylator", 2),
    ("non_adherent", 3),
    ("tacrolimus_second_line", 1),
    ("aza_hepatotoxicity_past", 2),
)
CIRRHOSIS_FRACTION = 0.12
CIRRHOSIS_BY_HISTOLOGY_FRACTION = 0.7  # the rest by elastography
TPMT_INTERMEDIATE_FRACTION = 0.10
MAINTENANCE_YEARS_DAYS: DaySpan = (365, 3650)
OFF_TREATMENT_WITHDRAWN_DAYS_AGO: DaySpan = (180, 2000)
THERAPY_BEFORE_WITHDRAWAL_DAYS: DaySpan = (1095, 1825)
RELAPSE_WITHDRAWN_DAYS_AGO: DaySpan = (700, 2500)
RELAPSE_AFTER_WITHDRAWAL_DAYS: DaySpan = (90, 330)
RELAPSE_ALT_FOLD: Band = (3.5, 8.0)
RETREATMENT_AFTER_RELAPSE_DAYS: DaySpan = (3, 10)
RECENT_DIAGNOSIS_DAYS_AGO: DaySpan = (10, 170)
RANDOM_INSUFFICIENT_DAYS_AGO: DaySpan = (215, 540)
RANDOM_AZA_YEARS_DAYS: DaySpan = (240, 2000)
AZA_INTOLERANCE_AFTER_DAYS: DaySpan = (20, 120)
AZA_NON_RESPONSE_AFTER_DAYS: DaySpan = (200, 300)
PAST_HEPATOTOXICITY_ALP_FOLD = 2.5
PAST_HEPATOTOXICITY_GGT_FOLD = 3.0
FLARE_PROBABILITY = 0.08
FLARE_ALT_FOLD: Band = (1.2, 1.8)
FLARE_DAYS: DaySpan = (30, 75)
OVERDUE_PROBABILITY = 0.5
ALLOPURINOL_PROBABILITY = 0.5

# --------------------------------------------------------------------------------------------
# The archetypes
# --------------------------------------------------------------------------------------------


def _start_random(plan: PatientPlan, rng: random.Random, t0: date, *, cirrhosis_allowed: bool = True) -> Response:
    """Demographics and diagnosis for a random patient starting treatment on t0; returns a response."""
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    set_demographics(plan, rng, diagnosed_on=diagnosed_on)
    cirrhosis = ""
    if cirrhosis_allowed and rng.random() < CIRRHOSIS_FRACTION:
        by_histology = rng.random() < CIRRHOSIS_BY_HISTOLOGY_FRACTION
        cirrhosis = CirrhosisBasis.HISTOLOGY if by_histology else CirrhosisBasis.ELASTOGRAPHY
    intermediate = rng.random() < TPMT_INTERMEDIATE_FRACTION
    tpmt = MetaboliserPhenotype.INTERMEDIATE if intermediate else MetaboliserPhenotype.NORMAL
    diagnose(plan, rng, diagnosed_on, cirrhosis=cirrhosis, tpmt=tpmt)
    return typical_response(rng)


def _is_tpmt_intermediate(plan: PatientPlan) -> bool:
    return any(
        r.model is PharmacogeneticTest and r.fields["phenotype"] == MetaboliserPhenotype.INTERMEDIATE for r in plan.rows
    )


def _maybe_flare(plan: PatientPlan, rng: random.Random, after: date, until: date) -> None:
    if rng.random() < FLARE_PROBABILITY and (until - after).days > 120:
        on = after + timedelta(days=rng.randint(60, (until - after).days - 30))
        add_flare(plan, on, uniform(rng, FLARE_ALT_FOLD), rng.randint(*FLARE_DAYS))


def build_maintenance(plan: PatientPlan, rng: random.Random, *, steroid_hold: bool = False) -> None:
    t0 = plan.as_of - days(rng, MAINTENANCE_YEARS_DAYS)
    response = _start_random(plan, rng, t0)
    hold = PREDNISOLONE_MAINTENANCE_MG if steroid_hold else None
    induce(plan, rng, t0, response, steroid_hold_mg=hold, aza_reduced=_is_tpmt_intermediate(plan))
    _maybe_flare(plan, rng, t0 + timedelta(days=365), plan.as_of)
    finish(plan, rng)


def build_off_treatment(plan: PatientPlan, rng: random.Random) -> None:
    withdrawn_on = plan.as_of - days(rng, OFF_TREATMENT_WITHDRAWN_DAYS_AGO)
    t0 = withdrawn_on - days(rng, THERAPY_BEFORE_WITHDRAWAL_DAYS)
    response = _start_random(plan, rng, t0)
    induce(plan, rng, t0, response, aza_reduced=_is_tpmt_intermediate(plan))
    withdraw_all(plan, withdrawn_on)
    finish(plan, rng)


def build_relapsed_retreated(plan: PatientPlan, rng: random.Random) -> None:
    withdrawn_on = plan.as_of - days(rng, RELAPSE_WITHDRAWN_DAYS_AGO)
    t0 = withdrawn_on - days(rng, THERAPY_BEFORE_WITHDRAWAL_DAYS)
    response = _start_random(plan, rng, t0, cirrhosis_allowed=False)
    reduced = _is_tpmt_intermediate(plan)
    induce(plan, rng, t0, response, aza_reduced=reduced)
    withdraw_all(plan, withdrawn_on)
    relapse_on = withdrawn_on + days(rng, RELAPSE_AFTER_WITHDRAWAL_DAYS)
    peak = uniform(rng, RELAPSE_ALT_FOLD)
    before = relapse_on - timedelta(days=30)
    plan.curves["alt"].append((before, curve_value(plan, "alt", before)))
    plan.curves["igg"].append((before, curve_value(plan, "igg", before)))
    plan.add(Relapse, diagnosed_on=relapse_on, after_withdrawal=True, notes="Relapse after planned withdrawal.")
    plan.extra_draws.append(Draw(relapse_on, clock(9, 0), with_igg=True))
    retreat_on = relapse_on + days(rng, RETREATMENT_AFTER_RELAPSE_DAYS)
    if retreat_on < plan.as_of:
        second = typical_response(rng, alt_at_start=(peak, peak), igg_at_start=(1.1, 1.4))
        plan.curves["alt"].append((relapse_on, peak))
        induce(
            plan, rng, retreat_on, second, aza_band=AZA_LONG_TERM_MG_PER_KG, aza_reduced=reduced,
            lead_in=False, key_suffix="-2",
        )  # fmt: skip
    else:
        plan.curves["alt"].append((relapse_on, peak))
    finish(plan, rng)


def build_mmf_second_line(plan: PatientPlan, rng: random.Random, *, hepatotoxicity: bool = False) -> None:
    t0 = plan.as_of - days(rng, MAINTENANCE_YEARS_DAYS)
    response = _start_random(plan, rng, t0)
    regimen = induce(plan, rng, t0, response, aza_reduced=_is_tpmt_intermediate(plan))
    aza = regimen.azathioprine
    assert aza is not None
    stop_on = aza.started_on + days(rng, AZA_INTOLERANCE_AFTER_DAYS)
    if hepatotoxicity:
        rise_on = stop_on - timedelta(days=10)
        phys = plan.physiology
        assert phys is not None
        for key, base, peak in (
            ("alp", phys.alp_fold, PAST_HEPATOTOXICITY_ALP_FOLD),
            ("ggt", phys.ggt_fold, PAST_HEPATOTOXICITY_GGT_FOLD),
        ):
            plan.curves[key] = [
                (rise_on - timedelta(days=14), base),
                (rise_on, peak),
                (stop_on + timedelta(days=60), base),
            ]
        kind, description, grade = AdverseEventKind.HEPATOTOXICITY, "Cholestatic liver injury on azathioprine.", 2
    else:
        kind, description, grade = rng.choice(
            (
                (AdverseEventKind.NAUSEA, "Nausea and vomiting on azathioprine.", 2),
                (AdverseEventKind.ARTHRALGIA, "Arthralgia and fever on azathioprine.", 2),
                (AdverseEventKind.PANCREATITIS, "Acute pancreatitis on azathioprine.", 3),
                (AdverseEventKind.RASH, "Rash on azathioprine.", 2),
            )
        )
    if stop_on < plan.as_of:
        stop_for_intolerance(plan, aza, stop_on, kind, description, grade)
        mmf_on = stop_on + timedelta(days=rng.randint(3, 14))
        if mmf_on < plan.as_of:
            start_mycophenolate(plan, rng, mmf_on, line=2)
            add_contraception_for_mmf(plan, rng, mmf_on)
    finish(plan, rng)


def add_contraception_for_mmf(plan: PatientPlan, rng: random.Random, mmf_on: date) -> None:
    if plan.sex != Sex.FEMALE or plan.reproductive_potential != YesNoUnknown.YES:
        return
    plan.add(PregnancyTest, tested_on=mmf_on - timedelta(days=3), result=TestResult.NEGATIVE)
    method = rng.choice((ContraceptionMethod.IUD, ContraceptionMethod.IMPLANT, ContraceptionMethod.PILL))
    plan.add(ContraceptionRecord, method=method, started_on=mmf_on - timedelta(days=30), ended_on=None)


def build_budesonide_responder(plan: PatientPlan, rng: random.Random) -> None:
    t0 = plan.as_of - days(rng, MAINTENANCE_YEARS_DAYS)
    response = _start_random(plan, rng, t0, cirrhosis_allowed=False)
    plan.advanced_fibrosis = False  # budesonide only for patients without advanced fibrosis (CI-03b)
    induce(plan, rng, t0, response, budesonide=True, aza_reduced=_is_tpmt_intermediate(plan))
    finish(plan, rng)


def build_recent_diagnosis(plan: PatientPlan, rng: random.Random) -> None:
    t0 = plan.as_of - days(rng, RECENT_DIAGNOSIS_DAYS_AGO)
    response = _start_random(plan, rng, t0)
    induce(plan, rng, t0, response, aza_reduced=_is_tpmt_intermediate(plan))
    finish(plan, rng)


def build_random_insufficient(plan: PatientPlan, rng: random.Random) -> None:
    t0 = plan.as_of - days(rng, RANDOM_INSUFFICIENT_DAYS_AGO)
    _start_random(plan, rng, t0)
    induce(plan, rng, t0, insufficient_response(rng), aza_reduced=_is_tpmt_intermediate(plan))
    finish(plan, rng)


def build_random_hypermethylator(plan: PatientPlan, rng: random.Random) -> None:
    spec = HYPERMETHYLATOR
    aza_on = plan.as_of - days(rng, RANDOM_AZA_YEARS_DAYS)
    t0 = aza_on - timedelta(days=AZA_LEAD_IN_DAYS)
    response = _start_random(plan, rng, t0)
    regimen = induce(plan, rng, t0, response, aza_band=spec.aza_mg_per_kg)
    aza = regimen.azathioprine
    assert aza is not None and aza.doses
    found_on = aza.doses[-1].effective_on + timedelta(days=METABOLITES_AFTER_DOSE_DAYS)
    reduce_on = found_on + timedelta(days=rng.randint(14, 30))
    with_allopurinol = rng.random() < ALLOPURINOL_PROBABILITY and reduce_on < plan.as_of
    if with_allopurinol:
        reduced = max(round_to(aza.doses[-1].mg * AZA_ALLOPURINOL_FRACTION, AZA_TABLET_MG), AZA_TABLET_MG)
        aza.doses.append(DosePlan(reduce_on, reduced, daily(reduced), "Reduced with allopurinol co-therapy"))
        allopurinol = CoursePlan("allopurinol", "allopurinol", reduce_on)
        allopurinol.doses.append(DosePlan(reduce_on, ALLOPURINOL_MG, daily(ALLOPURINOL_MG), "With low-dose AZA"))
        plan.courses.append(allopurinol)
    finish(plan, rng, metabolites=False)
    pin_metabolites(
        draw_nearest(plan, found_on, not_before=found_on), uniform(rng, spec.tgn_first), uniform(rng, spec.mmp_first)
    )
    if with_allopurinol:
        check_on = reduce_on + timedelta(days=METABOLITES_AFTER_DOSE_DAYS)
        if check_on < plan.as_of:
            draw = draw_nearest(plan, check_on, not_before=check_on)
            pin_metabolites(draw, uniform(rng, METABOLITE_NORMAL_TGN), uniform(rng, METABOLITE_NORMAL_MMP))
    elif plan.draws[-1].on > found_on:
        pin_metabolites(plan.draws[-1], uniform(rng, spec.tgn_recent), uniform(rng, spec.mmp_recent))


def build_random_non_adherent(plan: PatientPlan, rng: random.Random) -> None:
    aza_on = plan.as_of - days(rng, RANDOM_AZA_YEARS_DAYS)
    t0 = aza_on - timedelta(days=AZA_LEAD_IN_DAYS)
    response = _start_random(plan, rng, t0)
    regimen = induce(plan, rng, t0, response, aza_reduced=_is_tpmt_intermediate(plan))
    overdue = rng.random() < OVERDUE_PROBABILITY and (plan.as_of - aza_on).days > 400
    last = plan.as_of - days(rng, NON_ADHERENT.last_draw_days_ago) if overdue else None
    make_non_adherent(plan, rng, regimen, last_draw_on=last)


def build_tacrolimus_second_line(plan: PatientPlan, rng: random.Random) -> None:
    t0 = plan.as_of - days(rng, MAINTENANCE_YEARS_DAYS)
    _start_random(plan, rng, t0)
    regimen = induce(plan, rng, t0, insufficient_response(rng), aza_reduced=_is_tpmt_intermediate(plan))
    aza = regimen.azathioprine
    assert aza is not None
    switch_on = t0 + days(rng, AZA_NON_RESPONSE_AFTER_DAYS)
    if switch_on < plan.as_of:
        aza.stop(switch_on, StopReason.NON_RESPONSE, "Insufficient response (IAIHG) on azathioprine.")
        start_tacrolimus(plan, switch_on, line=2)
        second = typical_response(rng, alt_at_start=(1.6, 1.8), igg_at_start=(1.15, 1.3))
        add_response_curves(plan, switch_on, second, lead_in=False)
        assert second.alt_normal_after is not None
        taper_off(plan, rng, regimen.steroid, switch_on + timedelta(days=second.alt_normal_after))
        if regimen.steroid.stopped_on:
            regimen.bone.stop(regimen.steroid.stopped_on, StopReason.OTHER, "Steroids stopped.")
    finish(plan, rng)


RANDOM_BUILDERS: dict[str, Callable[[PatientPlan, random.Random], None]] = {
    "maintenance": build_maintenance,
    "steroid_dependent": lambda plan, rng: build_maintenance(plan, rng, steroid_hold=True),
    "off_treatment": build_off_treatment,
    "relapsed_retreated": build_relapsed_retreated,
    "mmf_second_line": build_mmf_second_line,
    "budesonide_responder": build_budesonide_responder,
    "recent_diagnosis": build_recent_diagnosis,
    "insufficient_responder": build_random_insufficient,
    "hypermethylator": build_random_hypermethylator,
    "non_adherent": build_random_non_adherent,
    "tacrolimus_second_line": build_tacrolimus_second_line,
    "aza_hepatotoxicity_past": lambda plan, rng: build_mmf_second_line(plan, rng, hepatotoxicity=True),
}
