"""Steroid course that needs a DEXA scan (demo patient 11, family name Bone).

"On prednisolone for more than 90 days without a DEXA scan (STER-01)."

Prednisolone (with bone protection) and azathioprine from 120-240 days before `as_of`; the
response is typical and the taper still under way, so the patient has been on prednisolone for
more than 90 days, and no DEXA scan was ever done.

Exercises STER-01 (DEXA due).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..activity import typical_response
from ..clinical import TREATMENT_AFTER_DIAGNOSIS_DAYS, DaySpan
from ..diagnosis import diagnose
from ..helpers import days
from ..plans import PatientPlan
from ..schedule import finish
from ..treatment import induce
from . import _start_scenario


@dataclass(frozen=True)
class SteroidNeedsDexa:
    t0_days_ago: DaySpan = (120, 240)  # prednisolone > 90 days, still tapering


STEROID_NEEDS_DEXA = SteroidNeedsDexa()


def build_steroid_needs_dexa(plan: PatientPlan, rng: random.Random) -> None:
    t0 = plan.as_of - days(rng, STEROID_NEEDS_DEXA.t0_days_ago)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on)
    diagnose(plan, rng, diagnosed_on)
    induce(plan, rng, t0, typical_response(rng), dexa=False)
    finish(plan, rng)
