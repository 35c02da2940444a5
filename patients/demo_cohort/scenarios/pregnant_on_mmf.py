"""Pregnant patient on mycophenolate (demo patient 8, family name Mumford).

"Ongoing pregnancy on mycophenolate mofetil (CI-04)."

A woman of reproductive potential, aged 27-35 at diagnosis, treated from 900-1400 days before
`as_of` with prednisolone and azathioprine. Azathioprine is stopped for intolerance 20-60 days after
it started (persistent nausea and vomiting, grade 2; the course names its adverse event), and
mycophenolate mofetil follows as second line 3-10 days later, after a negative pregnancy test and
with the contraceptive pill from a week before. She stops the pill 14-60 days before conceiving;
at `as_of` she is 6-10 weeks pregnant (positive test 4-5 weeks after conception), still on
mycophenolate.

Exercises CI-04 (mycophenolate in pregnancy).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from patients.models import (
    ContraceptionMethod,
    ContraceptionRecord,
    PregnancyEpisode,
    PregnancyKind,
    PregnancyTest,
    Sex,
    TestResult,
    YesNoUnknown,
)
from regimens.models import AdverseEventKind

from ..activity import typical_response
from ..clinical import TREATMENT_AFTER_DIAGNOSIS_DAYS, DaySpan
from ..diagnosis import diagnose
from ..helpers import days
from ..plans import PatientPlan
from ..schedule import finish
from ..treatment import induce, start_mycophenolate, stop_for_intolerance
from . import _start_scenario


@dataclass(frozen=True)
class PregnantOnMmf:
    age_years: DaySpan = (27, 35)
    t0_days_ago: DaySpan = (900, 1400)
    aza_intolerance_after_days: DaySpan = (20, 60)
    mmf_after_aza_stop_days: DaySpan = (3, 10)
    conceived_days_ago: DaySpan = (42, 70)  # 6-10 weeks
    gestation_days = 266
    positive_test_after_conception_days: DaySpan = (28, 35)
    contraception_stopped_before_conception_days: DaySpan = (14, 60)


PREGNANT_ON_MMF = PregnantOnMmf()


def build_pregnant_on_mmf(plan: PatientPlan, rng: random.Random) -> None:
    spec = PREGNANT_ON_MMF
    t0 = plan.as_of - days(rng, spec.t0_days_ago)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on, sex=Sex.FEMALE, age_years=spec.age_years)
    plan.reproductive_potential = YesNoUnknown.YES
    diagnose(plan, rng, diagnosed_on)
    regimen = induce(plan, rng, t0, typical_response(rng))
    assert regimen.azathioprine is not None
    aza_stop = regimen.azathioprine.started_on + days(rng, spec.aza_intolerance_after_days)
    stop_for_intolerance(
        plan,
        regimen.azathioprine,
        aza_stop,
        AdverseEventKind.NAUSEA,
        "Persistent nausea and vomiting on azathioprine.",
        2,
    )
    mmf_on = aza_stop + days(rng, spec.mmf_after_aza_stop_days)
    plan.add(PregnancyTest, tested_on=mmf_on - timedelta(days=3), result=TestResult.NEGATIVE)
    start_mycophenolate(plan, rng, mmf_on, line=2)
    conceived_on = plan.as_of - days(rng, spec.conceived_days_ago)
    plan.add(
        ContraceptionRecord,
        method=ContraceptionMethod.PILL,
        started_on=mmf_on - timedelta(days=7),
        ended_on=conceived_on - days(rng, spec.contraception_stopped_before_conception_days),
    )
    plan.add(
        PregnancyEpisode,
        kind=PregnancyKind.PREGNANT,
        started_on=conceived_on,
        expected_on=conceived_on + timedelta(days=spec.gestation_days),
        ended_on=None,
        outcome="",
    )
    tested_on = min(conceived_on + days(rng, spec.positive_test_after_conception_days), plan.as_of)
    plan.add(PregnancyTest, tested_on=tested_on, result=TestResult.POSITIVE)
    finish(plan, rng)
