"""Insufficient responder (demo patient 2, family name Halfpenny).

"ALT 1.5-2x ULN and IgG above ULN at month 5-7 (RESP-02)."

Treated for 215-300 days (at least 7 months) from ALT 8-15x and IgG 1.6-2.0x ULN, on prednisolone
and a full azathioprine dose (1.6-1.9 mg/kg: under-dosing is not the explanation). ALT falls but
never normalises, so the prednisolone taper holds at 10 mg: from day 150 ALT sits at 1.65-1.8x ULN
(about 1.5-2x after the +/-10% noise) and IgG at 1.15-1.3x ULN.

Exercises RESP-02 (insufficient response at 6 months). `insufficient_response` is also the
response of the random mix's insufficient responders and tacrolimus second-line patients.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..activity import Response
from ..clinical import ALT_REMISSION_FOLD, IGG_REMISSION_FOLD, TREATMENT_AFTER_DIAGNOSIS_DAYS, Band, DaySpan
from ..diagnosis import diagnose
from ..helpers import days, uniform
from ..plans import PatientPlan
from ..schedule import finish
from ..treatment import induce
from . import _start_scenario


@dataclass(frozen=True)
class InsufficientResponder:
    t0_days_ago: DaySpan = (215, 300)  # treated >= 7 months
    alt_fold_at_t0: Band = (8.0, 15.0)
    igg_fold_at_t0: Band = (1.6, 2.0)
    alt_fold_from_month_5: Band = (1.65, 1.8)  # ~1.5-2x ULN after +/-10% noise (RESP-02)
    igg_fold_from_month_5: Band = (1.15, 1.3)
    plateau_from_day = 150
    aza_mg_per_kg: Band = (1.6, 1.9)  # a full dose: under-dosing is not the explanation


INSUFFICIENT_RESPONDER = InsufficientResponder()


def insufficient_response(rng: random.Random, spec: InsufficientResponder = INSUFFICIENT_RESPONDER) -> Response:
    return Response(
        alt_at_start=uniform(rng, spec.alt_fold_at_t0),
        igg_at_start=uniform(rng, spec.igg_fold_at_t0),
        alt_normal_after=None,
        igg_normal_after=None,
        alt_remission=uniform(rng, ALT_REMISSION_FOLD),
        igg_remission=uniform(rng, IGG_REMISSION_FOLD),
        alt_plateau=uniform(rng, spec.alt_fold_from_month_5),
        igg_plateau=uniform(rng, spec.igg_fold_from_month_5),
        plateau_from=spec.plateau_from_day,
    )


def build_insufficient_responder(plan: PatientPlan, rng: random.Random) -> None:
    t0 = plan.as_of - days(rng, INSUFFICIENT_RESPONDER.t0_days_ago)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on)
    diagnose(plan, rng, diagnosed_on)
    induce(plan, rng, t0, insufficient_response(rng), aza_band=INSUFFICIENT_RESPONDER.aza_mg_per_kg)
    finish(plan, rng)
