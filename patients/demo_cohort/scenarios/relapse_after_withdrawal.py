"""Relapse after withdrawal (demo patient 3, family name Backhouse).

"Three years of therapy, withdrawn in remission; ALT now >= 3x ULN (REL-02/REL-03)."

About three years (1035-1155 days) of prednisolone and azathioprine with a typical response; a
biopsy 30-90 days before withdrawal shows histological remission (HAI 1-3). Everything is then
withdrawn as planned, 4-6 months before `as_of` (immunosuppressants for remission, bone
protection with the steroids). From 50 days before `as_of` ALT climbs again: a draw 14-19 days
ago finds it past 2x ULN, the latest draw (1-5 days ago) at >= 3x ULN after noise (4.0-4.6x and
still rising), with IgG back to 1.15-1.35x ULN.

Exercises REL-03 (post-withdrawal relapse watch: within 12 months of stopping, ALT >= 3x ULN) and
REL-02 (relapse).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import time as clock
from datetime import timedelta

from patients.models import LiverBiopsy

from ..activity import typical_response
from ..clinical import TREATMENT_AFTER_DIAGNOSIS_DAYS, Band, DaySpan
from ..diagnosis import diagnose
from ..helpers import curve_value, days, uniform
from ..plans import Draw, PatientPlan
from ..schedule import finish
from ..treatment import induce, withdraw_all
from . import _start_scenario


@dataclass(frozen=True)
class RelapseAfterWithdrawal:
    withdrawn_days_ago: DaySpan = (120, 180)  # 4-6 months
    therapy_days: DaySpan = (1035, 1155)  # ~3 years
    rising_from_days_ago = 50
    probable_relapse_fold = 2.3
    probable_relapse_days_ago: DaySpan = (14, 19)
    relapse_fold: Band = (4.0, 4.6)  # latest ALT >= 3x ULN after noise (REL-02)
    relapse_reached_days_ago = 6
    still_rising = 1.05
    latest_draw_days_ago: DaySpan = (1, 5)
    igg_fold_at_relapse: Band = (1.15, 1.35)
    biopsy_before_withdrawal_days: DaySpan = (30, 90)
    biopsy_hai: DaySpan = (1, 3)  # histological remission (< 4)


RELAPSE_AFTER_WITHDRAWAL = RelapseAfterWithdrawal()


def build_relapse_after_withdrawal(plan: PatientPlan, rng: random.Random) -> None:
    spec = RELAPSE_AFTER_WITHDRAWAL
    withdrawn_on = plan.as_of - days(rng, spec.withdrawn_days_ago)
    t0 = withdrawn_on - days(rng, spec.therapy_days)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on)
    diagnose(plan, rng, diagnosed_on)
    induce(plan, rng, t0, typical_response(rng))
    plan.add(
        LiverBiopsy,
        performed_on=withdrawn_on - days(rng, spec.biopsy_before_withdrawal_days),
        hai=rng.randint(*spec.biopsy_hai),
        fibrosis_stage=1,
        histology="",
        notes="Pre-withdrawal biopsy: histological remission.",
    )
    withdraw_all(plan, withdrawn_on)
    _add_relapse_curves(plan, rng, spec)
    finish(plan, rng)


def _add_relapse_curves(plan: PatientPlan, rng: random.Random, spec: RelapseAfterWithdrawal) -> None:
    as_of = plan.as_of
    rising_from = as_of - timedelta(days=spec.rising_from_days_ago)
    relapse_fold = uniform(rng, spec.relapse_fold)
    plan.curves["alt"] += [
        (rising_from, curve_value(plan, "alt", rising_from)),
        (as_of - timedelta(days=spec.probable_relapse_days_ago[1] + 1), spec.probable_relapse_fold),
        (as_of - timedelta(days=spec.relapse_reached_days_ago), relapse_fold),
        (as_of, relapse_fold * spec.still_rising),
    ]
    plan.curves["igg"] += [
        (rising_from, curve_value(plan, "igg", rising_from)),
        (as_of - timedelta(days=spec.relapse_reached_days_ago), uniform(rng, spec.igg_fold_at_relapse)),
    ]
    latest = as_of - days(rng, spec.latest_draw_days_ago)
    probable = as_of - days(rng, spec.probable_relapse_days_ago)
    plan.extra_draws += [Draw(probable, clock(9, 30), with_igg=True), Draw(latest, clock(10, 15), with_igg=True)]
    plan.last_draw_on = latest - timedelta(days=1)
