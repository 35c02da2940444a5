"""TPMT intermediate metaboliser (demo patient 6, family name Middleton).

"TPMT intermediate metaboliser on a reduced azathioprine dose (AZA-03)."

TPMT testing at diagnosis finds an intermediate metaboliser (genotype *1/*3A, activity in
`diagnosis.TPMT_INTERMEDIATE_ACTIVITY`, 8-13 U/mL RBC). After prednisolone induction the patient is
started anyway, 150-330 days before `as_of`, on a full AIH azathioprine dose: after the usual 50 mg
start, the smallest whole-tablet dose of at least 1.65 mg/kg, above AZA-03's reduced ceiling (80%
of 2 mg/kg). AZA-03 is quiet once the dose is within the reduced range, so the description above
(the patient's notes) names the dose the rule asks for, not the one the patient takes.

Exercises AZA-03 (TPMT or NUDT15 intermediate metaboliser: CPIC asks for 30-80% of the normal dose).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from patients.models import MetaboliserPhenotype

from ..activity import typical_response
from ..clinical import AZA_LEAD_IN_DAYS, TREATMENT_AFTER_DIAGNOSIS_DAYS, DaySpan
from ..diagnosis import diagnose
from ..helpers import days
from ..plans import PatientPlan
from ..schedule import finish
from ..treatment import induce, start_azathioprine, unreduced_azathioprine_mg
from . import _start_scenario


@dataclass(frozen=True)
class TpmtIntermediate:
    aza_started_days_ago: DaySpan = (150, 330)


TPMT_INTERMEDIATE = TpmtIntermediate()


def build_tpmt_intermediate(plan: PatientPlan, rng: random.Random) -> None:
    aza_on = plan.as_of - days(rng, TPMT_INTERMEDIATE.aza_started_days_ago)
    t0 = aza_on - timedelta(days=AZA_LEAD_IN_DAYS)
    diagnosed_on = t0 - days(rng, TREATMENT_AFTER_DIAGNOSIS_DAYS)
    _start_scenario(plan, rng, diagnosed_on)
    diagnose(plan, rng, diagnosed_on, tpmt=MetaboliserPhenotype.INTERMEDIATE)
    # Started on a full AIH dose: the scenario shows AZA-03 asking for the reduced one.
    induce(plan, rng, t0, typical_response(rng), with_azathioprine=False)
    start_azathioprine(plan, rng, aza_on, target_mg=unreduced_azathioprine_mg(plan.weight_kg))
    finish(plan, rng)
