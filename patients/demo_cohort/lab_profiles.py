"""Reporting labs: each reports in its own units with its own (sometimes sex-specific) ranges."""

from __future__ import annotations

from dataclasses import dataclass

from patients.models import Sex


@dataclass(frozen=True)
class RefRange:
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Reporting:
    """How one lab reports one analyte: unit, decimals and reference range, in that unit."""

    unit: str
    decimals: int
    any_sex: RefRange
    female: RefRange | None = None
    male: RefRange | None = None

    def range_for(self, sex: str) -> RefRange:
        if sex == Sex.FEMALE and self.female:
            return self.female
        if sex == Sex.MALE and self.male:
            return self.male
        return self.any_sex


@dataclass(frozen=True)
class LabProfile:
    name: str
    reporting: dict[str, Reporting]


def _r(low: float | None, high: float | None) -> RefRange:
    return RefRange(low, high)


_METABOLITES_AND_DRUG_LEVELS = {
    "tgn": Reporting("pmol/8x10^8 RBC", 0, _r(235, 450)),
    "mmp": Reporting("pmol/8x10^8 RBC", 0, _r(None, 5700)),
    "tacrolimus": Reporting("ng/mL", 1, _r(None, None)),
    "potassium": Reporting("mmol/L", 1, _r(3.5, 5.3)),
    "glucose": Reporting("mmol/L", 1, _r(3.9, 7.8)),
}

LAB_PROFILES: tuple[LabProfile, ...] = (
    LabProfile(
        "Royal Infirmary Blood Sciences",  # SI units, ALT ULN 40, IgG ULN 16
        {
            "alt": Reporting("U/L", 0, _r(None, 40)),
            "ast": Reporting("U/L", 0, _r(None, 40)),
            "alp": Reporting("U/L", 0, _r(30, 130)),
            "ggt": Reporting("U/L", 0, _r(None, 60), female=_r(None, 40)),
            "bilirubin": Reporting("umol/L", 0, _r(None, 21)),
            "albumin": Reporting("g/L", 0, _r(35, 50)),
            "inr": Reporting("INR", 2, _r(0.8, 1.2)),
            "creatinine": Reporting("umol/L", 0, _r(45, 110), female=_r(45, 90), male=_r(60, 110)),
            "sodium": Reporting("mmol/L", 0, _r(135, 145)),
            "igg": Reporting("g/L", 1, _r(7.0, 16.0)),
            "wbc": Reporting("10*9/L", 1, _r(4.0, 11.0)),
            "neutrophils": Reporting("10*9/L", 2, _r(2.0, 7.5)),
            "lymphocytes": Reporting("10*9/L", 2, _r(1.0, 4.0)),
            "platelets": Reporting("10*9/L", 0, _r(150, 400)),
            "haemoglobin": Reporting("g/L", 0, _r(120, 170), female=_r(120, 150), male=_r(130, 170)),
            **_METABOLITES_AND_DRUG_LEVELS,
        },
    ),
    LabProfile(
        "Northside Pathology",  # conventional units, ACG ALT limits (33 M / 25 F), IgG ULN 15.5
        {
            "alt": Reporting("U/L", 0, _r(None, 33), female=_r(None, 25)),
            "ast": Reporting("U/L", 0, _r(None, 35)),
            "alp": Reporting("U/L", 0, _r(40, 105)),
            "ggt": Reporting("U/L", 0, _r(None, 55), female=_r(None, 38)),
            "bilirubin": Reporting("mg/dL", 1, _r(0.1, 1.2)),
            "albumin": Reporting("g/dL", 1, _r(3.5, 5.0)),
            "inr": Reporting("INR", 2, _r(0.9, 1.1)),
            "creatinine": Reporting("mg/dL", 2, _r(0.6, 1.2), female=_r(0.5, 1.0), male=_r(0.7, 1.3)),
            "sodium": Reporting("mEq/L", 0, _r(136, 145)),
            "igg": Reporting("mg/dL", 0, _r(700, 1550)),
            "wbc": Reporting("10*3/uL", 1, _r(4.5, 11.0)),
            "neutrophils": Reporting("10*3/uL", 2, _r(1.8, 7.7)),
            "lymphocytes": Reporting("10*3/uL", 2, _r(1.0, 4.8)),
            "platelets": Reporting("10*3/uL", 0, _r(150, 450)),
            "haemoglobin": Reporting("g/dL", 1, _r(12.0, 17.5), female=_r(12.0, 15.5), male=_r(13.5, 17.5)),
            **_METABOLITES_AND_DRUG_LEVELS,
        },
    ),
    LabProfile(
        "University Hospital Central Laboratory",  # SI, sex-specific enzyme limits, IgG ULN 16
        {
            "alt": Reporting("U/L", 0, _r(None, 50), female=_r(None, 35)),
            "ast": Reporting("U/L", 0, _r(None, 50), female=_r(None, 35)),
            "alp": Reporting("U/L", 0, _r(40, 129), female=_r(35, 104)),
            "ggt": Reporting("U/L", 0, _r(None, 71), female=_r(None, 42)),
            "bilirubin": Reporting("µmol/L", 0, _r(None, 17)),
            "albumin": Reporting("g/L", 0, _r(35, 52)),
            "inr": Reporting("INR", 2, _r(0.85, 1.15)),
            "creatinine": Reporting("µmol/L", 0, _r(44, 106), female=_r(44, 80), male=_r(62, 106)),
            "sodium": Reporting("mmol/L", 0, _r(136, 145)),
            "igg": Reporting("g/L", 1, _r(7.0, 16.0)),
            "wbc": Reporting("10^9/L", 1, _r(3.9, 10.2)),
            "neutrophils": Reporting("10^9/L", 2, _r(1.8, 7.7)),
            "lymphocytes": Reporting("10^9/L", 2, _r(1.0, 3.5)),
            "platelets": Reporting("10^9/L", 0, _r(150, 370)),
            "haemoglobin": Reporting("g/L", 0, _r(117, 170), female=_r(117, 155), male=_r(134, 170)),
            **_METABOLITES_AND_DRUG_LEVELS,
        },
    ),
)
