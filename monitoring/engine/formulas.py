"""Clinical formulas (clinical-rules.md §3). Pure functions over numbers; no ORM, no dates.

Inputs name their unit. Lab values are stored in SI units (see catalogue.py); the scores
below are defined in conventional units, so callers convert with `to_conventional()`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from monitoring.catalogue import BY_CODE

# Comparisons against multiples of a limit are made on values rounded to this many decimals,
# so that 1.1 × 16 g/L = 17.6 compares as 17.6 and not as 17.600000000000001.
_PRECISION = 9


def _round_half_up(value: float, places: int = 0) -> float:
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def to_conventional(code: str, si_value: float, unit: str) -> float:
    """Convert a canonical (SI) value of analyte `code` into `unit` using the catalogue's factor."""
    return si_value / BY_CODE[code].units[unit]


# --- §3.7 small derived quantities -------------------------------------------------------


def fold_uln(value: float, uln: float) -> float:
    """Value as a multiple of the upper limit of normal."""
    return round(value / uln, _PRECISION)


def is_above(value: float, limit: float, multiple: float = 1.0) -> bool:
    """value > multiple × limit, robust to float noise."""
    return round(value / limit, _PRECISION) > multiple


def is_at_or_above(value: float, limit: float, multiple: float = 1.0) -> bool:
    return round(value / limit, _PRECISION) >= multiple


def percent_fall(baseline: float, current: float) -> float:
    """Fraction by which `current` fell from `baseline` (0.45 = 45 % fall; negative = rise)."""
    return (baseline - current) / baseline


def r_ratio(alt: float, alt_uln: float, alp: float, alp_uln: float) -> float:
    """R = (ALT/ULN) ÷ (ALP/ULN): ≤ 2 cholestatic, 2-5 mixed, ≥ 5 hepatocellular."""
    return (alt / alt_uln) / (alp / alp_uln)


def mg_per_kg(dose_mg_per_day: float, weight_kg: float) -> float:
    return dose_mg_per_day / weight_kg


def metabolite_ratio(mmp: float, tgn: float) -> float:
    """6-MMP / 6-TGN."""
    return mmp / tgn


# --- §3.2 MELD (UNOS/OPTN before 2016) ------------------------------------------------------

MELD_MIN, MELD_MAX = 6, 40


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def meld_i(creatinine_mg_dl: float, bilirubin_mg_dl: float, inr: float, dialysis: bool = False) -> float:
    """OPTN MELD(i) × 10: raw score rounded to one decimal, then × 10 (e.g. 20.0)."""
    creatinine = 4.0 if dialysis else _clamp(creatinine_mg_dl, 1.0, 4.0)
    bilirubin = max(bilirubin_mg_dl, 1.0)
    inr = max(inr, 1.0)
    raw = 0.957 * math.log(creatinine) + 0.378 * math.log(bilirubin) + 1.120 * math.log(inr) + 0.643
    return _round_half_up(raw, 1) * 10


def meld(creatinine_mg_dl: float, bilirubin_mg_dl: float, inr: float, dialysis: bool = False) -> int:
    score = meld_i(creatinine_mg_dl, bilirubin_mg_dl, inr, dialysis)
    return int(_clamp(round(score), MELD_MIN, MELD_MAX))


# --- §3.3 MELD-Na (OPTN, January 2016) ------------------------------------------------------


def meld_na(
    creatinine_mg_dl: float, bilirubin_mg_dl: float, inr: float, sodium_mmol_l: float, dialysis: bool = False
) -> int:
    score = meld_i(creatinine_mg_dl, bilirubin_mg_dl, inr, dialysis)
    if score > 11:
        sodium = _clamp(sodium_mmol_l, 125, 137)
        score = score + 1.32 * (137 - sodium) - 0.033 * score * (137 - sodium)
    return int(_clamp(_round_half_up(score), MELD_MIN, MELD_MAX))


# --- §3.4 MELD 3.0 (Kim 2021; OPTN since July 2023) -----------------------------------------


def meld_3(
    *,
    female: bool,
    bilirubin_mg_dl: float,
    sodium_mmol_l: float,
    inr: float,
    creatinine_mg_dl: float,
    albumin_g_dl: float,
    dialysis: bool = False,
    age_years: int | None = None,
) -> int:
    bilirubin = max(bilirubin_mg_dl, 1.0)
    inr = max(inr, 1.0)
    creatinine = 3.0 if dialysis else _clamp(creatinine_mg_dl, 1.0, 3.0)
    sodium = _clamp(sodium_mmol_l, 125, 137)
    albumin = _clamp(albumin_g_dl, 1.5, 3.5)
    # OPTN gives the 1.33 term to every candidate aged 12-17, whatever their sex.
    female_term = 1.33 if female or (age_years is not None and 12 <= age_years <= 17) else 0.0
    score = (
        female_term
        + 4.56 * math.log(bilirubin)
        + 0.82 * (137 - sodium)
        - 0.24 * (137 - sodium) * math.log(bilirubin)
        + 9.09 * math.log(inr)
        + 11.14 * math.log(creatinine)
        + 1.85 * (3.5 - albumin)
        - 1.83 * (3.5 - albumin) * math.log(creatinine)
        + 6
    )
    return int(min(_round_half_up(score), MELD_MAX))


# --- §3.5 Child-Pugh (mg/dL table after conversion, A-8) ------------------------------------


@dataclass(frozen=True)
class ChildPugh:
    bilirubin_points: int
    albumin_points: int
    inr_points: int
    ascites_points: int
    encephalopathy_points: int

    @property
    def score(self) -> int:
        return (
            self.bilirubin_points
            + self.albumin_points
            + self.inr_points
            + self.ascites_points
            + self.encephalopathy_points
        )

    @property
    def grade(self) -> str:
        return "A" if self.score <= 6 else "B" if self.score <= 9 else "C"


ASCITES_POINTS = {"none": 1, "mild": 2, "moderate_severe": 3}


def child_pugh(
    *, bilirubin_mg_dl: float, albumin_g_dl: float, inr: float, ascites: str, encephalopathy_grade: int
) -> ChildPugh:
    """Pugh 1973, middle bands inclusive. Ascites: none / mild / moderate_severe; HE: West Haven 0-4."""
    bilirubin_points = 1 if bilirubin_mg_dl < 2 else 2 if bilirubin_mg_dl <= 3 else 3
    albumin_points = 1 if albumin_g_dl > 3.5 else 2 if albumin_g_dl >= 2.8 else 3
    inr_points = 1 if inr < 1.7 else 2 if inr <= 2.3 else 3
    he_points = 1 if encephalopathy_grade == 0 else 2 if encephalopathy_grade <= 2 else 3
    return ChildPugh(bilirubin_points, albumin_points, inr_points, ASCITES_POINTS[ascites], he_points)


# --- §3.6 IAIHG simplified diagnostic criteria (Hennes 2008) --------------------------------


@dataclass(frozen=True)
class SimplifiedScore:
    autoantibody_points: int
    igg_points: int
    histology_points: int
    viral_points: int

    @property
    def total(self) -> int:
        return self.autoantibody_points + self.igg_points + self.histology_points + self.viral_points

    @property
    def result(self) -> str:
        return "definite" if self.total >= 7 else "probable" if self.total >= 6 else "not diagnostic"


def simplified_aih_score(
    *,
    ana_titre: int | None = None,
    sma_titre: int | None = None,
    lkm1_titre: int | None = None,
    sla_positive: bool = False,
    igg: float | None,
    igg_uln: float | None,
    histology: str | None,
    viral_hepatitis_absent: bool | None,
) -> SimplifiedScore:
    """Titres are denominators (160 for 1:160); histology is typical / compatible / atypical."""
    ana_sma = max(ana_titre or 0, sma_titre or 0)
    antibody = 0
    if ana_sma >= 80 or (lkm1_titre or 0) >= 40 or sla_positive:
        antibody = 2
    elif ana_sma >= 40:
        antibody = 1
    igg_points = 0
    if igg is not None and igg_uln:
        igg_points = 2 if is_above(igg, igg_uln, 1.10) else 1 if is_above(igg, igg_uln) else 0
    histology_points = {"typical": 2, "compatible": 1}.get(histology or "", 0)
    viral_points = 2 if viral_hepatitis_absent else 0
    return SimplifiedScore(antibody, igg_points, histology_points, viral_points)
