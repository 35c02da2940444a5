"""Cirrhotic patient on budesonide (demo patient 7, family name Budd).

"Cirrhosis with an active budesonide 9 mg/day course (CI-01)."

Diagnosed 45-70 days before `as_of`, with cirrhosis on the diagnostic biopsy itself (Ishak stage 6),
and started 20-40 days before `as_of` on budesonide 9 mg/day (3 mg three times daily) with bone
protection and azathioprine two weeks later. The ALT has not normalised yet, so the budesonide is
still at 9 mg.

Exercises CI-01 (budesonide in cirrhosis).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from patients.models import CirrhosisBasis

from ..activity import typical_response
from ..clinical import DaySpan
from ..diagnosis import diagnose
from ..helpers import days
from ..plans import PatientPlan
from ..schedule import finish
from ..treatment import induce
from . import _start_scenario


@dataclass(frozen=True)
class CirrhoticOnBudesonide:
    diagnosed_days_ago: DaySpan = (45, 70)
    budesonide_started_days_ago: DaySpan = (20, 40)


CIRRHOTIC_ON_BUDESONIDE = CirrhoticOnBudesonide()


def build_cirrhotic_on_budesonide(plan: PatientPlan, rng: random.Random) -> None:
    spec = CIRRHOTIC_ON_BUDESONIDE
    diagnosed_on = plan.as_of - days(rng, spec.diagnosed_days_ago)
    t0 = plan.as_of - days(rng, spec.budesonide_started_days_ago)
    _start_scenario(plan, rng, diagnosed_on)
    diagnose(plan, rng, diagnosed_on, cirrhosis=CirrhosisBasis.HISTOLOGY)
    induce(plan, rng, t0, typical_response(rng), budesonide=True)
    finish(plan, rng)
