"""Complete responder (demo patient 1, family name Goodwin): the patient doing well.

"Prednisolone taper and azathioprine; ALT and IgG normal by month 3-5 and since."

Treatment starts 600-900 days before `as_of` with ALT 8-20x and IgG 1.4-2.0x ULN. Weight-based
prednisolone follows the §0A protocol (weekly to 10 mg over 4 weeks, 7.5 mg at normalisation,
5 mg after 3 months, then out in 3-4-month steps) with bone protection and DEXA scans while it
runs; azathioprine starts two weeks after the steroid (A-1) and rises to its target dose once the
FBC is stable. ALT is normal by month 3-5 (80-120 days) and IgG by 100-140 days, in remission
since. Immune to hepatitis A (naturally) and B (vaccinated).

Exercises: the absence of every failure alert. A > 50% ALT fall by week 4 (no RESP-01), response
at 6 months (no RESP-02), bloods on the azathioprine schedule (no MON-01): tests/patients/test_demo_scenarios.py
checks it raises none of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from patients.models import ImmunityStatus

from ..activity import typical_response
from ..clinical import TREATMENT_AFTER_DIAGNOSIS_DAYS, Band, DaySpan
from ..diagnosis import diagnose
from ..helpers import days
from ..plans import PatientPlan
from ..schedule import finish
from ..treatment import induce
from . import _start_scenario


@dataclass(frozen=True)
class CompleteResponder:
    t0_days_ago: DaySpan = (600, 900)
    alt_fold_at_t0: Band = (8.0, 20.0)
    igg_fold_at_t0: Band = (1.4, 2.0)
    alt_normal_after_days: DaySpan = (80, 120)  # by month 3-5
    igg_normal_after_days: DaySpan = (100, 140)


COMPLETE_RESPONDER = CompleteResponder()


def build_complete_responder(plan: PatientPlan, rng: random.Random) -> None:
    spec = COMPLETE_RESPONDER
    t0 = plan.as_of - days(rng, spec.t0_days_ago)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on)
    diagnose(plan, rng, diagnosed_on, hav=ImmunityStatus.IMMUNE_NATURAL, hbv=ImmunityStatus.IMMUNE_VACCINATED)
    response = typical_response(
        rng,
        alt_at_start=spec.alt_fold_at_t0,
        igg_at_start=spec.igg_fold_at_t0,
        alt_normal_after=spec.alt_normal_after_days,
        igg_normal_after=spec.igg_normal_after_days,
    )
    induce(plan, rng, t0, response)
    finish(plan, rng)
