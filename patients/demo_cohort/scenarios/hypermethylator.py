"""Hypermethylator (demo patient 5, family name Methven).

"6-TGN ~180 with 6-MMP ~9500 pmol/8x10^8 RBC on azathioprine (TPM-02)."

A typical responder on azathioprine for 240-400 days (at least 6 months) at a full dose
(1.6-1.9 mg/kg). The first metabolite check at steady state (84 days after the last dose change)
finds 6-TGN 190-215 with 6-MMP 6500-8000 pmol/8x10^8 RBC; the latest draw 6-TGN ~180 (170-190)
with 6-MMP ~9500 (9000-10000): the drug goes down the methylation pathway. No routine metabolite
checks besides these two.

Exercises TPM-02 (preferential methylation). The random mix's hypermethylators use the same numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from ..activity import typical_response
from ..clinical import AZA_LEAD_IN_DAYS, METABOLITES_AFTER_DOSE_DAYS, TREATMENT_AFTER_DIAGNOSIS_DAYS, Band, DaySpan
from ..diagnosis import diagnose
from ..helpers import days, uniform
from ..plans import PatientPlan
from ..schedule import draw_nearest, finish, pin_metabolites
from ..treatment import induce
from . import _start_scenario


@dataclass(frozen=True)
class Hypermethylator:
    aza_started_days_ago: DaySpan = (240, 400)  # on AZA >= 6 months
    aza_mg_per_kg: Band = (1.6, 1.9)
    tgn_first: Band = (190.0, 215.0)
    mmp_first: Band = (6500.0, 8000.0)
    tgn_recent: Band = (170.0, 190.0)  # ~180 (TPM-02)
    mmp_recent: Band = (9000.0, 10000.0)  # ~9500


HYPERMETHYLATOR = Hypermethylator()


def build_hypermethylator(plan: PatientPlan, rng: random.Random) -> None:
    spec = HYPERMETHYLATOR
    aza_on = plan.as_of - days(rng, spec.aza_started_days_ago)
    t0 = aza_on - timedelta(days=AZA_LEAD_IN_DAYS)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on)
    diagnose(plan, rng, diagnosed_on)
    regimen = induce(plan, rng, t0, typical_response(rng), aza_band=spec.aza_mg_per_kg)
    finish(plan, rng, metabolites=False)
    aza = regimen.azathioprine
    assert aza is not None
    first_on = aza.doses[-1].effective_on + timedelta(days=METABOLITES_AFTER_DOSE_DAYS)
    pin_metabolites(
        draw_nearest(plan, first_on, not_before=first_on), uniform(rng, spec.tgn_first), uniform(rng, spec.mmp_first)
    )
    pin_metabolites(plan.draws[-1], uniform(rng, spec.tgn_recent), uniform(rng, spec.mmp_recent))
