"""Dose arithmetic for prescribing: mg/kg/day <-> mg/day with the patient's latest weight."""

from __future__ import annotations

from enum import StrEnum

from monitoring.engine.formulas import mg_per_kg


class DoseUnit(StrEnum):
    MG_PER_DAY = "mg_day"
    MG_PER_KG = "mg_kg"


DOSE_UNIT_CHOICES = [(DoseUnit.MG_PER_DAY.value, "mg/day"), (DoseUnit.MG_PER_KG.value, "mg/kg/day")]


def mg_per_day_from_mg_per_kg(dose_mg_per_kg: float, weight_kg: float) -> float:
    """mg/kg/day × kg, to 0.1 mg (the physician rounds to tablets on the confirm step)."""
    return round(dose_mg_per_kg * weight_kg, 1)


def describe_conversion(dose_mg_per_kg: float, weight_kg: float) -> str:
    mg = mg_per_day_from_mg_per_kg(dose_mg_per_kg, weight_kg)
    return f"{dose_mg_per_kg:g} mg/kg/day × {weight_kg:g} kg = {mg:g} mg/day"


def describe_per_kg(dose_mg_per_day: float, weight_kg: float | None) -> str:
    """ "108 mg/day = 1.50 mg/kg/day at 72 kg", or "" without a weight."""
    if not weight_kg:
        return ""
    return f"{dose_mg_per_day:g} mg/day = {mg_per_kg(dose_mg_per_day, weight_kg):.2f} mg/kg/day at {weight_kg:g} kg"
