"""Reference ranges: the one place the limits of a result that reports none are chosen.

A result's own reported range always wins (the loader keeps it as "reported"). Without one, the limits
are the clinic's reference interval for the patient's sex, else the clinic's interval for any sex, else
the analyte's typical values (monitoring/catalogue.py): `default_range`. The loader (engine/loader.py)
uses it for every stored result, and the visit form (labs/entry.py) to pre-fill the range it shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitoring.models import Analyte, ReferenceInterval, RefSex

Limits = tuple[float | None, float | None]  # (low, high) in the analyte's canonical unit


@dataclass(frozen=True)
class DefaultRange:
    low: float | None  # canonical unit
    high: float | None
    source: str  # "clinic", "typical", or "none" (no typical upper limit either)


def ref_sex(sex: str) -> str:
    """The reference-interval sex for a patient's recorded sex (unknown or other: "any")."""
    return sex if sex in (RefSex.FEMALE, RefSex.MALE) else RefSex.ANY


def default_range(analyte: Analyte, sex: str, clinic_intervals: Mapping[str, Limits]) -> DefaultRange:
    """The limits for a result of `analyte` that reports none, for a patient of `sex`. `clinic_intervals`:
    the clinic's intervals for this analyte, by reference-interval sex ("female", "male", "any")."""
    for key in (ref_sex(sex), RefSex.ANY):
        if key in clinic_intervals:
            low, high = clinic_intervals[key]
            return DefaultRange(low, high, "clinic")
    high = analyte.typical_uln(sex)
    return DefaultRange(analyte.typical_low, high, "typical" if high is not None else "none")


def default_ranges(*, clinic_id: int, sex: str, analytes: Iterable[Analyte]) -> dict[str, DefaultRange]:
    """Per analyte code: `default_range` for a patient of `sex` in this clinic (one query)."""
    analytes = list(analytes)
    intervals: dict[int, dict[str, Limits]] = {}
    rows = ReferenceInterval.objects.filter(
        clinic_id=clinic_id, analyte__in=analytes, sex__in={ref_sex(sex), RefSex.ANY}
    )
    for analyte_id, interval_sex, low, high in rows.values_list("analyte_id", "sex", "low", "high"):
        intervals.setdefault(analyte_id, {})[interval_sex] = (low, high)
    return {analyte.code: default_range(analyte, sex, intervals.get(analyte.pk, {})) for analyte in analytes}
