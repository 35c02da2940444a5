"""The eleven built-in scenarios: demo patients 1..len(SCENARIOS), one module each, named by its key.

Each module holds the scenario's story (what the patient goes through, which rules it exercises)
as its docstring, its clinical numbers as a frozen spec dataclass, and `build_<key>(plan, rng)`.
Scenarios are made of the building blocks (diagnosis, activity, treatment, schedule, labs), which
never import them; `generator.SCENARIO_BUILDERS` maps each key to its builder.

`_start_scenario` gives a scenario patient its demographics and fixed family name.
"""

from __future__ import annotations

import random
from datetime import date

from ..diagnosis import set_demographics
from ..identity import SCENARIO_FAMILY_NAMES
from ..plans import PatientPlan


def _start_scenario(plan: PatientPlan, rng: random.Random, diagnosed_on: date, **demographics) -> None:
    set_demographics(
        plan, rng, diagnosed_on=diagnosed_on, family_name=SCENARIO_FAMILY_NAMES[plan.scenario], **demographics
    )
