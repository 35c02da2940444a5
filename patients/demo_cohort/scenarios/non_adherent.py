"""Non-adherent patient (demo patient 10, family name Missen).

"Missed doses, bloods overdue (MON-01), low 6-TGN with low 6-MMP (TPM-01)."

A young patient (18-30 at diagnosis: non-adherence is commonest in the young, S000) on
azathioprine for 500-800 days after prednisolone induction. Adherence records: 5-8 doses missed
on holiday a year in (self-report), 15-25 by pill count at the last clinic ("Ran out and did not
order more.") and 28-40 at a refill check 20-40 days before `as_of` ("No azathioprine collected
since last clinic."). The last bloods, 115-150 days before `as_of` (> 106 days: phase C overdue),
show ALT drifted up to 1.2-1.5x ULN and 6-TGN ~150 with 6-MMP ~800 (both low: under-exposure).

Exercises MON-01 (thiopurine safety bloods overdue) and TPM-01 (low 6-TGN, low 6-MMP).
`make_non_adherent` is shared with the random mix's non-adherent patients, who are not always
overdue.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock

from regimens.models import AdherenceMethod

from ..activity import typical_response
from ..clinical import AZA_LEAD_IN_DAYS, TREATMENT_AFTER_DIAGNOSIS_DAYS, Band, DaySpan
from ..diagnosis import diagnose
from ..helpers import curve_value, days, uniform
from ..plans import AdherencePlan, Draw, PatientPlan, VisitPlan
from ..schedule import finish, pin_metabolites
from ..treatment import Regimen, induce
from . import _start_scenario


@dataclass(frozen=True)
class NonAdherent:
    aza_started_days_ago: DaySpan = (500, 800)  # on AZA > 1 year
    age_years: DaySpan = (18, 30)  # non-adherence is commonest in the young (S000)
    last_draw_days_ago: DaySpan = (115, 150)  # > 106 days: MON-01 phase C overdue
    tgn_last: Band = (140.0, 160.0)  # ~150 (TPM-01)
    mmp_last: Band = (700.0, 900.0)  # ~800, low
    alt_fold_last: Band = (1.2, 1.5)
    missed_doses_early: DaySpan = (5, 8)
    missed_doses_last_visit: DaySpan = (15, 25)
    missed_doses_refill: DaySpan = (28, 40)
    refill_check_days_ago: DaySpan = (20, 40)


NON_ADHERENT = NonAdherent()


def build_non_adherent(plan: PatientPlan, rng: random.Random) -> None:
    spec = NON_ADHERENT
    aza_on = plan.as_of - days(rng, spec.aza_started_days_ago)
    t0 = aza_on - timedelta(days=AZA_LEAD_IN_DAYS)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on, age_years=spec.age_years)
    diagnose(plan, rng, diagnosed_on)
    regimen = induce(plan, rng, t0, typical_response(rng))
    make_non_adherent(plan, rng, regimen, last_draw_on=plan.as_of - days(rng, spec.last_draw_days_ago))


def make_non_adherent(plan: PatientPlan, rng: random.Random, regimen: Regimen, *, last_draw_on: date | None) -> None:
    spec = NON_ADHERENT
    aza = regimen.azathioprine
    assert aza is not None
    plan.last_draw_on = last_draw_on
    if last_draw_on is not None:
        plan.extra_draws.append(Draw(last_draw_on, clock(10, 0)))
        plan.visits.append(VisitPlan(last_draw_on, notes="Review: adherence discussed."))
    last = last_draw_on or plan.as_of - timedelta(days=1)
    plan.curves["alt"] += [
        (last - timedelta(days=60), curve_value(plan, "alt", last - timedelta(days=60))),
        (last, uniform(rng, spec.alt_fold_last)),
    ]
    finish(plan, rng)
    final = plan.draws[-1]
    pin_metabolites(final, uniform(rng, spec.tgn_last), uniform(rng, spec.mmp_last))
    early = aza.started_on + timedelta(days=365)
    records = [
        (early, AdherenceMethod.SELF_REPORT, spec.missed_doses_early, "Stopped tablets while on holiday."),
        (final.on, AdherenceMethod.PILL_COUNT, spec.missed_doses_last_visit, "Ran out and did not order more."),
    ]
    if last_draw_on is not None:
        refill_on = plan.as_of - days(rng, spec.refill_check_days_ago)
        records.append(
            (
                refill_on,
                AdherenceMethod.REFILL,
                spec.missed_doses_refill,
                "No azathioprine collected since last clinic.",
            )
        )
    for on, method, missed, reason in records:
        if on < plan.as_of:
            plan.adherence.append(AdherencePlan(on, method, rng.randint(*missed), reason, aza.key))
