"""Acute severe AIH (demo patient 9, family name Sharpe).

"Acute severe AIH; bilirubin and INR not improved at day 7 (ASA-02)."

Admitted 8-10 days before `as_of` (so day 7 falls on or before `as_of` - 1), aged 20-60, after
three weeks of jaundice and climbing ALT. On day 0 ALT is 25-35x ULN, bilirubin 12-14x ULN, INR
1.65-1.8 (>= 1.5, ASA-01; < 2.0, so no ASA-04), IgG 2.0-2.4x ULN and albumin 29-32 g/L; a
transjugular biopsy on day 2 shows typical histology (HAI 15). Prednisolone 60 mg/day from
admission (steroid day 0) with bone protection; no encephalopathy. Bloods only on inpatient days
0, 1, 2, 3, 5 and 7, and ward reviews on days 0 and 7. By day 7 ALT has fallen to 60% but
bilirubin (x1.08-1.12) and INR (x1.06-1.09) have not improved; both are drawn without noise so
the margins hold.

Exercises ASA-02 (no improvement by day 7).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import time as clock
from datetime import timedelta

from patients.models import AcuteSevereEpisode, Histology

from ..clinical import ACUTE_SEVERE_PREDNISOLONE_MG, Band, DaySpan
from ..diagnosis import diagnose
from ..helpers import days, uniform
from ..plans import CoursePlan, DosePlan, Draw, PatientPlan, VisitPlan
from ..schedule import finish
from ..treatment import daily, start_bone_protection
from . import _start_scenario


@dataclass(frozen=True)
class AcuteSevere:
    presented_days_ago: DaySpan = (8, 10)  # day 7 falls on or before as_of - 1
    age_years: DaySpan = (20, 60)
    onset_days_before = 21  # jaundice and ALT climbing for three weeks before admission
    onset_ratio = 0.5
    inpatient_draw_days: tuple[int, ...] = (0, 1, 2, 3, 5, 7)
    alt_fold_day0: Band = (25.0, 35.0)
    alt_fold_day7_ratio = 0.6
    bilirubin_fold_day0: Band = (12.0, 14.0)  # well above ULN
    bilirubin_day7_ratio: Band = (1.08, 1.12)  # not improved (ASA-02)
    inr_day0: Band = (1.65, 1.8)  # >= 1.5 (ASA-01) and < 2.0 (no ASA-04)
    inr_day7_ratio: Band = (1.06, 1.09)
    igg_fold: Band = (2.0, 2.4)
    albumin_g_per_l: Band = (29.0, 32.0)
    biopsy_day = 2  # transjugular
    biopsy_hai = 15


ACUTE_SEVERE = AcuteSevere()


def build_acute_severe_aih(plan: PatientPlan, rng: random.Random) -> None:
    spec = ACUTE_SEVERE
    presented_on = plan.as_of - days(rng, spec.presented_days_ago)
    _start_scenario(plan, rng, presented_on, age_years=spec.age_years)
    diagnose(
        plan,
        rng,
        presented_on,
        hai=spec.biopsy_hai,
        histology=Histology.TYPICAL,
        biopsy_on=presented_on + timedelta(days=spec.biopsy_day),
        antibodies_on=presented_on,
    )
    plan.first_draw_on = presented_on
    plan.use_schedule = False
    plan.t0 = presented_on
    day7 = presented_on + timedelta(days=7)
    alt0, bili0, inr0 = (
        uniform(rng, spec.alt_fold_day0),
        uniform(rng, spec.bilirubin_fold_day0),
        uniform(rng, spec.inr_day0),
    )
    before = presented_on - timedelta(days=spec.onset_days_before)
    plan.curves = {
        "alt": [(before, alt0 * spec.onset_ratio), (presented_on, alt0), (day7, alt0 * spec.alt_fold_day7_ratio)],
        "igg": [(presented_on, uniform(rng, spec.igg_fold))],
        "bilirubin": [
            (before, bili0 * spec.onset_ratio),
            (presented_on, bili0),
            (day7, bili0 * uniform(rng, spec.bilirubin_day7_ratio)),
        ],
        "inr": [(presented_on, inr0), (day7, inr0 * uniform(rng, spec.inr_day7_ratio))],
        "albumin": [(presented_on, uniform(rng, spec.albumin_g_per_l))],
    }
    plan.exact_analytes = frozenset({"bilirubin", "inr"})
    course = CoursePlan("prednisolone", "prednisolone", presented_on)
    course.doses.append(
        DosePlan(presented_on, ACUTE_SEVERE_PREDNISOLONE_MG, daily(ACUTE_SEVERE_PREDNISOLONE_MG), "Acute severe AIH")
    )
    plan.courses.append(course)
    start_bone_protection(plan, course)
    plan.add(
        AcuteSevereEpisode,
        presented_on=presented_on,
        steroid_day0=presented_on,
        hepatic_encephalopathy=False,
        notes="Icteric presentation, INR raised, no encephalopathy. High-dose steroids from admission.",
    )
    for offset in spec.inpatient_draw_days:
        plan.extra_draws.append(Draw(presented_on + timedelta(days=offset), clock(6, 30), with_igg=offset == 0))
    plan.visits = [
        VisitPlan(presented_on, notes="Admitted: acute severe AIH.", jaundice=True),
        VisitPlan(day7, notes="Day-7 ward review.", jaundice=True),
    ]
    finish(plan, rng, metabolites=False)
