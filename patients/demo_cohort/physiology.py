"""Body and blood: baseline physiology and how activity moves the panel."""

from __future__ import annotations

from dataclasses import dataclass

from patients.models import Sex

from .clinical import Band, DaySpan

AGE_AT_DIAGNOSIS_YEARS: DaySpan = (18, 75)
WEIGHT_KG = {Sex.FEMALE: (50.0, 95.0), Sex.MALE: (62.0, 110.0)}
WEIGHT_NOISE_KG = 0.8
STEROID_WEIGHT_GAIN_KG = 2.5  # while prednisolone >= 10 mg/day
REPRODUCTIVE_AGE_LIMIT = 50


@dataclass(frozen=True)
class Physiology:
    """One patient's resting values (enzymes as multiples of ULN, the rest in canonical units)."""

    alp_fold: float
    ggt_fold: float
    ast_ratio: float  # AST fold / ALT fold
    bilirubin: float
    albumin: float
    inr: float
    creatinine: float
    sodium: float
    wbc: float
    neutrophil_fraction: float
    lymphocyte_fraction: float
    platelets: float
    haemoglobin: float


@dataclass(frozen=True)
class PhysiologyRanges:
    alp_fold: Band = (0.4, 0.8)
    ggt_fold: Band = (0.3, 0.7)
    ast_ratio: Band = (0.7, 0.95)
    bilirubin: Band = (5.0, 15.0)
    albumin: Band = (39.0, 46.0)
    inr: Band = (0.92, 1.08)
    creatinine_female: Band = (55.0, 85.0)
    creatinine_male: Band = (65.0, 100.0)
    sodium: Band = (137.0, 142.0)
    wbc: Band = (4.8, 8.5)
    neutrophil_fraction: Band = (0.5, 0.65)
    lymphocyte_fraction: Band = (0.2, 0.3)
    platelets: Band = (180.0, 350.0)
    haemoglobin_female: Band = (122.0, 145.0)
    haemoglobin_male: Band = (136.0, 160.0)


@dataclass(frozen=True)
class CirrhosisEffect:
    bilirubin_factor: float = 1.6
    albumin_drop: float = 6.0
    inr_rise: float = 0.2
    platelet_factor: float = 0.45
    sodium_drop: float = 3.0


@dataclass(frozen=True)
class ActivityEffect:
    """How far each analyte moves per 1x ULN of ALT above the ULN (capped)."""

    alp_per_fold: float = 0.04
    alp_cap: float = 1.6
    ggt_per_fold: float = 0.10
    ggt_cap: float = 4.0
    bilirubin_per_fold: float = 0.10
    albumin_per_fold: float = 0.25
    inr_per_fold: float = 0.01
    fold_cap: float = 20.0


@dataclass(frozen=True)
class Noise:
    """Bounded multiplicative noise (+/- fraction): a scenario's margins survive it."""

    alt: float = 0.10
    ast: float = 0.10
    alp: float = 0.08
    ggt: float = 0.10
    bilirubin: float = 0.10
    igg: float = 0.05
    albumin: float = 0.03
    inr: float = 0.03
    creatinine: float = 0.06
    sodium: float = 0.014  # about +/- 2 mmol/L
    count: float = 0.08
    differential: float = 0.05
    haemoglobin: float = 0.03


PHYSIOLOGY = PhysiologyRanges()
CIRRHOSIS = CirrhosisEffect()
ACTIVITY = ActivityEffect()
NOISE = Noise()
AZA_WBC_FACTOR = 0.8
AZA_LYMPHOCYTE_FACTOR = 0.85
