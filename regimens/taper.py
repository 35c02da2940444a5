"""Taper plans: protocol (data, regimens/protocols.py) -> dated steps; planned vs actual doses.

Pure functions on plain data: no ORM. The views feed the generated steps to an editable formset,
and `regimens/services.py` stores what the physician saved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta

from regimens.protocols import (
    DEFAULT_NORMALISATION_WEEKS,
    DOSE_ROUNDING_MG,
    TAPER_STEP_GRACE_DAYS,
    Anchor,
    ProtocolStep,
    TaperProtocol,
)


class TaperError(ValueError):
    """The protocol cannot be generated with what was given (e.g. no weight for a weight-based start)."""


@dataclass(frozen=True)
class PlannedStep:
    sequence: int
    starts_on: date
    dose_mg_per_day: float
    schedule: str = ""
    note: str = ""
    # A step "at normalisation" (seed 000: "7.5 mg at normalisation, 5 mg after 3 months") is due from
    # the day the engine finds the aminotransferases normalised, plus this offset; `starts_on` is then
    # only the placeholder the physician sees in the plan, never the date it is due from.
    after_normalisation: bool = False
    months_after_normalisation: int = 0
    weeks_after_normalisation: int = 0


def round_dose(mg: float, to: float = DOSE_ROUNDING_MG) -> float:
    """Round half up to a multiple of `to` (tablet strengths)."""
    return math.floor(mg / to + 0.5) * to


def weight_based_start_dose(
    protocol: TaperProtocol, weight_kg: float, mg_per_kg: float, params: dict[str, Any]
) -> float:
    """mg/kg × weight, capped at the clinic's maximum starting dose, rounded to tablets."""
    spec = protocol.weight_based
    if spec is None:
        raise TaperError(f"{protocol.name} is not weight-based.")
    low, high = spec.mg_per_kg_range
    if not low <= mg_per_kg <= high:
        raise TaperError(f"{protocol.name}: the starting dose is {low:g}-{high:g} mg/kg/day, not {mg_per_kg:g}.")
    return min(round_dose(mg_per_kg * weight_kg), params[spec.max_dose_parameter])


def _step_dose(step: ProtocolStep, params: dict[str, Any]) -> float:
    return float(params[step.dose_parameter]) if step.dose_parameter else float(step.dose_mg)


def _step_date(step: ProtocolStep, start: date, normalisation_on: date) -> date:
    anchor = start if step.anchor == Anchor.START else normalisation_on
    return anchor + timedelta(weeks=step.weeks) + relativedelta(months=step.months)


def default_normalisation(start: date) -> date:
    return start + timedelta(weeks=DEFAULT_NORMALISATION_WEEKS)


def generate_taper(
    protocol: TaperProtocol,
    *,
    start: date,
    params: dict[str, Any],
    weight_kg: float | None = None,
    mg_per_kg: float | None = None,
    start_dose_mg: float | None = None,
    normalisation_on: date | None = None,
) -> list[PlannedStep]:
    """The protocol's dated steps from `start`.

    Weight-based protocols start at `start_dose_mg` if given, else at `mg_per_kg` (default: the
    protocol's) × `weight_kg`, capped; then equal weekly steps down to the target. Fixed protocols
    take `start_dose_mg`, if given, for their first step. Consecutive steps with the same dose are
    merged (a dose "for weeks 3-4" is one step). Steps "at normalisation" are dated from
    `normalisation_on` (default: `DEFAULT_NORMALISATION_WEEKS` after the start), never before the
    last induction step.
    """
    normalisation_on = normalisation_on or default_normalisation(start)
    raw: list[tuple[date, float, str, str, ProtocolStep | None]] = []
    spec = protocol.weight_based
    if spec is not None:
        if start_dose_mg is None:
            if weight_kg is None:
                raise TaperError("No weight on file: record a weight, or give the starting dose in mg/day.")
            start_dose_mg = weight_based_start_dose(protocol, weight_kg, mg_per_kg or spec.default_mg_per_kg, params)
        weeks = spec.weeks_to_target
        for week in range(weeks + 1):
            dose = start_dose_mg + (spec.target_mg - start_dose_mg) * week / weeks
            note = "Starting dose" if week == 0 else (f"Week {week + 1}" if week < weeks else f"{spec.target_mg:g} mg")
            raw.append((start + timedelta(weeks=week), round_dose(dose) if 0 < week < weeks else dose, "", note, None))
    for index, step in enumerate(protocol.steps):
        dose = _step_dose(step, params)
        if index == 0 and spec is None and start_dose_mg is not None:
            dose = start_dose_mg
        raw.append((_step_date(step, start, normalisation_on), dose, step.schedule, step.note, step))
    # Normalisation cannot come before the induction it follows: keep dates non-decreasing.
    steps: list[PlannedStep] = []
    for on, dose, schedule, note, step in raw:
        if steps and on <= steps[-1].starts_on:
            on = steps[-1].starts_on + timedelta(weeks=1)
        if steps and dose == steps[-1].dose_mg_per_day:
            continue
        anchored = step is not None and step.anchor == Anchor.NORMALISATION
        steps.append(
            PlannedStep(
                len(steps) + 1,
                on,
                dose,
                schedule,
                note,
                after_normalisation=anchored,
                months_after_normalisation=step.months if anchored else 0,
                weeks_after_normalisation=step.weeks if anchored else 0,
            )
        )
    return steps


# -- planned vs actual -----------------------------------------------------------------------------


class StepState(StrEnum):
    GIVEN = "given"  # a dose change is linked, on time
    LATE = "late"  # linked, but recorded more than the grace after the planned date
    MISSED = "missed"  # due more than the grace ago and nothing recorded
    DUE = "due"  # due within the grace
    UPCOMING = "upcoming"
    WAITING = "waiting"  # a step at normalisation: the aminotransferases have not normalised yet

    @property
    def label(self) -> str:
        return "waiting for normalisation" if self is StepState.WAITING else self.value


@dataclass(frozen=True)
class StepStatus:
    sequence: int
    starts_on: date
    dose_mg_per_day: float
    state: StepState
    actual_on: date | None = None
    actual_mg_per_day: float | None = None
    days_late: int = 0

    @property
    def needs_attention(self) -> bool:
        return self.state in (StepState.MISSED, StepState.LATE)

    @property
    def dose_differs(self) -> bool:
        return self.actual_mg_per_day is not None and self.actual_mg_per_day != self.dose_mg_per_day


def due_after_normalisation(normalised_on: date, months: int, weeks: int) -> date:
    """The date a step "at normalisation" (plus its offset) is due, once the engine found normalisation."""
    return normalised_on + relativedelta(months=months) + timedelta(weeks=weeks)


def step_status(
    *,
    sequence: int,
    starts_on: date,
    dose_mg_per_day: float,
    actual_on: date | None,
    actual_mg_per_day: float | None,
    today: date,
    grace_days: int = TAPER_STEP_GRACE_DAYS,
    after_normalisation: bool = False,
    months_after_normalisation: int = 0,
    weeks_after_normalisation: int = 0,
    normalised_on: date | None = None,
) -> StepStatus:
    """Where one planned step stands on `today`, given the dose change linked to it (if any).

    A step at normalisation is due from `normalised_on` (when the engine found the aminotransferases
    normalised; None: not yet) plus its offset, and waits, never missed, until then.
    """
    if after_normalisation:
        if normalised_on is None:
            if actual_on is not None:
                return StepStatus(sequence, starts_on, dose_mg_per_day, StepState.GIVEN, actual_on, actual_mg_per_day)
            return StepStatus(sequence, starts_on, dose_mg_per_day, StepState.WAITING)
        starts_on = due_after_normalisation(normalised_on, months_after_normalisation, weeks_after_normalisation)
    if actual_on is not None:
        late = (actual_on - starts_on).days
        state = StepState.LATE if late > grace_days else StepState.GIVEN
        return StepStatus(
            sequence, starts_on, dose_mg_per_day, state, actual_on, actual_mg_per_day, max(late, 0) if late > 0 else 0
        )
    overdue = (today - starts_on).days
    if overdue > grace_days:
        return StepStatus(sequence, starts_on, dose_mg_per_day, StepState.MISSED, days_late=overdue)
    if overdue >= 0:
        return StepStatus(sequence, starts_on, dose_mg_per_day, StepState.DUE, days_late=overdue)
    return StepStatus(sequence, starts_on, dose_mg_per_day, StepState.UPCOMING)
