"""Azathioprine cholestatic hepatotoxicity (demo patient 4, family name Yellowley).

"Cholestatic ALP/GGT rise in month 2 of azathioprine, R <= 2 (HEP-01)."

Azathioprine starts 65-85 days before `as_of`, two weeks after prednisolone (ALT 8-12x ULN at
diagnosis, bilirubin 1.5x the patient's resting value). ALT falls but settles mildly raised
(1.25-1.5x ULN); IgG normalises. ALP and GGT, normal before (0.6-0.85x and 0.5-0.8x ULN), rise in
month 2 of azathioprine (from day 35 to day 42): ALP 2.4-2.9x ULN (>= 2x ULN and >= 1.5x baseline
after noise), GGT 2.8-4.0x, bilirubin 1.3-1.6x ULN (raised but < 2x). Pruritus (grade 1) starts on
day 42-55: "Itching since the azathioprine dose was raised."

Exercises HEP-01: a cholestatic pattern, R = (ALT/ULN) / (ALP/ULN) <= 2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from regimens.models import AdverseEventKind

from ..activity import Response
from ..clinical import (
    ALT_REMISSION_FOLD,
    AZA_LEAD_IN_DAYS,
    IGG_FOLD_AT_DIAGNOSIS,
    IGG_NORMAL_AFTER_DAYS,
    IGG_REMISSION_FOLD,
    LEAD_IN_DAYS,
    TREATMENT_AFTER_DIAGNOSIS_DAYS,
    Band,
    DaySpan,
)
from ..diagnosis import diagnose
from ..helpers import days, uniform
from ..labs import plan_uln
from ..plans import AdverseEventPlan, PatientPlan
from ..schedule import finish
from ..treatment import induce
from . import _start_scenario


@dataclass(frozen=True)
class CholestaticHepatotoxicity:
    aza_started_days_ago: DaySpan = (65, 85)
    alt_fold_at_t0: Band = (8.0, 12.0)
    alt_fold_on_aza: Band = (1.25, 1.5)  # mildly raised
    alp_fold_before_aza: Band = (0.6, 0.85)
    alp_fold_month_2: Band = (2.4, 2.9)  # >= 2x ULN and >= 1.5x baseline after noise (HEP-01)
    ggt_fold_before_aza: Band = (0.5, 0.8)
    ggt_fold_month_2: Band = (2.8, 4.0)
    bilirubin_fold_month_2: Band = (1.3, 1.6)  # raised but < 2x ULN
    bilirubin_rise_at_diagnosis = 1.5  # x the patient's resting bilirubin
    rise_after_aza_days = 42  # month 2
    baseline_until_aza_days = 35
    pruritus_after_aza_days: DaySpan = (42, 55)


CHOLESTATIC_HEPATOTOXICITY = CholestaticHepatotoxicity()


def build_aza_cholestatic_hepatotoxicity(plan: PatientPlan, rng: random.Random) -> None:
    spec = CHOLESTATIC_HEPATOTOXICITY
    aza_on = plan.as_of - days(rng, spec.aza_started_days_ago)
    t0 = aza_on - timedelta(days=AZA_LEAD_IN_DAYS)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on)
    diagnose(plan, rng, diagnosed_on)
    response = Response(
        alt_at_start=uniform(rng, spec.alt_fold_at_t0),
        igg_at_start=uniform(rng, IGG_FOLD_AT_DIAGNOSIS),
        alt_normal_after=None,
        igg_normal_after=rng.randint(*IGG_NORMAL_AFTER_DAYS),
        alt_remission=uniform(rng, ALT_REMISSION_FOLD),
        igg_remission=uniform(rng, IGG_REMISSION_FOLD),
        alt_plateau=uniform(rng, spec.alt_fold_on_aza),
        plateau_from=AZA_LEAD_IN_DAYS + spec.baseline_until_aza_days,
    )
    regimen = induce(plan, rng, t0, response)
    baseline_until = aza_on + timedelta(days=spec.baseline_until_aza_days)
    rise_on = aza_on + timedelta(days=spec.rise_after_aza_days)
    start = t0 - timedelta(days=LEAD_IN_DAYS)
    for key, before, after in (
        ("alp", spec.alp_fold_before_aza, spec.alp_fold_month_2),
        ("ggt", spec.ggt_fold_before_aza, spec.ggt_fold_month_2),
    ):
        base = uniform(rng, before)
        plan.curves[key] = [(start, base), (baseline_until, base), (rise_on, uniform(rng, after))]
    assert plan.physiology is not None
    bilirubin_base = plan.physiology.bilirubin / plan_uln(plan, "bilirubin")
    plan.curves["bilirubin"] = [
        (start, bilirubin_base * spec.bilirubin_rise_at_diagnosis),
        (t0, bilirubin_base * spec.bilirubin_rise_at_diagnosis),
        (baseline_until, bilirubin_base),
        (rise_on + timedelta(days=7), uniform(rng, spec.bilirubin_fold_month_2)),
    ]
    assert regimen.azathioprine is not None
    regimen.azathioprine.adverse_events.append(
        AdverseEventPlan(
            AdverseEventKind.PRURITUS,
            aza_on + days(rng, spec.pruritus_after_aza_days),
            "Itching since the azathioprine dose was raised.",
            grade=1,
        )
    )
    finish(plan, rng)
