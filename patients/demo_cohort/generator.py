"""The generator: `plan_patient` maps a demo index to its scenario (1..len(SCENARIOS)) or to a
random archetype, and builds its plan from the patient's own random stream."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from .diagnosis import weighted_choice
from .identity import SCENARIOS
from .plans import PatientPlan
from .random_mix import ARCHETYPE_WEIGHTS, RANDOM_BUILDERS
from .scenarios.acute_severe_aih import build_acute_severe_aih
from .scenarios.aza_cholestatic_hepatotoxicity import build_aza_cholestatic_hepatotoxicity
from .scenarios.cirrhotic_on_budesonide import build_cirrhotic_on_budesonide
from .scenarios.complete_responder import build_complete_responder
from .scenarios.hypermethylator import build_hypermethylator
from .scenarios.insufficient_responder import build_insufficient_responder
from .scenarios.non_adherent import build_non_adherent
from .scenarios.pregnant_on_mmf import build_pregnant_on_mmf
from .scenarios.relapse_after_withdrawal import build_relapse_after_withdrawal
from .scenarios.steroid_needs_dexa import build_steroid_needs_dexa
from .scenarios.tpmt_intermediate import build_tpmt_intermediate

SCENARIO_BUILDERS: dict[str, Callable[[PatientPlan, random.Random], None]] = {
    "complete_responder": build_complete_responder,
    "insufficient_responder": build_insufficient_responder,
    "relapse_after_withdrawal": build_relapse_after_withdrawal,
    "aza_cholestatic_hepatotoxicity": build_aza_cholestatic_hepatotoxicity,
    "hypermethylator": build_hypermethylator,
    "tpmt_intermediate": build_tpmt_intermediate,
    "cirrhotic_on_budesonide": build_cirrhotic_on_budesonide,
    "pregnant_on_mmf": build_pregnant_on_mmf,
    "acute_severe_aih": build_acute_severe_aih,
    "non_adherent": build_non_adherent,
    "steroid_needs_dexa": build_steroid_needs_dexa,
}


def plan_patient(seed: int | str, index: int, as_of: date) -> PatientPlan:
    """Everything about demo patient `index`, from its own random stream."""
    rng = random.Random(f"{seed}:{index}")
    plan = PatientPlan(index=index, as_of=as_of)
    if index <= len(SCENARIOS):
        plan.scenario = SCENARIOS[index - 1]
        SCENARIO_BUILDERS[plan.scenario](plan, rng)
    else:
        plan.profile = weighted_choice(rng, ARCHETYPE_WEIGHTS)
        RANDOM_BUILDERS[plan.profile](plan, rng)
    return plan
