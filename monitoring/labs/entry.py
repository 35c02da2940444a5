"""Lab entry by hand (the visit form): unit choices, unit-slip and duplicate checks.

Conversion and the hard refusals (negative, implausible, future, unknown unit) are
labs/services.py's `convert_lab_value`; this module adds what a person typing a lab report
needs on top: which units to offer, and the warnings that do not block
(a likely unit slip, a probable duplicate). The thresholds are clinical parameters
(`lab_entry_unit_slip_*` in monitoring/parameters.py); the range to pre-fill is labs/ranges.py's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from monitoring.catalogue import BY_CODE, MICRO, normalise_unit_spelling
from monitoring.models import Analyte, LabResult


def _unit_key(unit: str) -> str:
    return normalise_unit_spelling(unit).lower().replace(MICRO, "u")


def unit_choices(analyte: Analyte) -> list[str]:
    """The analyte's accepted units, one spelling each ("µmol/L" rather than "umol/L" and "µmol/L")."""
    chosen: dict[str, str] = {}
    # In the catalogue's order (the usual unit first): PostgreSQL's jsonb does not keep key order.
    entry = BY_CODE.get(analyte.code)
    order = {unit: i for i, unit in enumerate(entry.units if entry else ())}
    for unit in sorted(analyte.units, key=lambda u: (order.get(u, len(order)), u)):
        if not unit:
            continue
        key = _unit_key(unit)
        if key not in chosen or (MICRO in unit and MICRO not in chosen[key]):
            chosen[key] = unit
    return list(chosen.values())


def display_unit(analyte: Analyte, unit: str) -> str:
    """The spelling `unit_choices` offers for `unit` (the canonical "umol/L" shows as "µmol/L")."""
    key = _unit_key(unit)
    return next((u for u in unit_choices(analyte) if _unit_key(u) == key), unit)


def unit_factor(analyte: Analyte, unit: str) -> float:
    """How many canonical units one `unit` is (the catalogue's conversion of 1)."""
    return analyte.to_canonical(1.0, unit)


def from_canonical(analyte: Analyte, canonical: float, unit: str) -> float:
    """A canonical value expressed in `unit` (to show a pre-filled range in the unit the user chose)."""
    return canonical / unit_factor(analyte, unit)


@dataclass(frozen=True)
class UnitSlip:
    """The value as typed would be ordinary in `unit`, where it is `canonical` in the canonical unit."""

    unit: str
    canonical: float


def _is_extreme(analyte: Analyte, canonical: float, sex: str, params: dict) -> bool:
    if not analyte.plausible_min <= canonical <= analyte.plausible_max:
        return True
    uln = analyte.typical_uln(sex)
    if uln and canonical > uln * params["lab_entry_unit_slip_uln_multiple"]:
        return True
    low = analyte.typical_low
    return bool(low) and canonical < low * params["lab_entry_unit_slip_lln_fraction"]


def likely_unit_slip(analyte: Analyte, value: float, unit: str, *, sex: str, params: dict) -> UnitSlip | None:
    """If `value` is extreme in `unit` but ordinary in another accepted unit, that other unit."""
    if value <= 0 or not _is_extreme(analyte, analyte.to_canonical(value, unit), sex, params):
        return None
    factor = unit_factor(analyte, unit)
    for other in unit_choices(analyte):
        if unit_factor(analyte, other) == factor:
            continue
        canonical = analyte.to_canonical(value, other)
        if not _is_extreme(analyte, canonical, sex, params):
            return UnitSlip(other, canonical)
    return None


def same_value(analyte: Analyte, a: float, b: float) -> bool:
    """Equal at the precision the analyte is reported to (6 mg/dL and 102.6 µmol/L bilirubin are one value)."""
    return round(a, analyte.decimals) == round(b, analyte.decimals)


def results_on(*, patient, on: date, analytes: Iterable[Analyte]) -> dict[str, list[float]]:
    """Canonical values already stored for the patient on that day, per analyte code (for duplicates)."""
    found: dict[str, list[float]] = {}
    rows = LabResult.objects.filter(patient=patient, analyte__in=list(analytes), collected_at__date=on)
    for code, value in rows.values_list("analyte__code", "value"):
        found.setdefault(code, []).append(value)
    return found
