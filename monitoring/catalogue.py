"""Analyte catalogue (clinical-rules.md §4): LOINC codes, canonical units, accepted units, ranges.

Canonical units are SI so that converting an accepted unit into the canonical one is a
multiplication by a terminating decimal (mg/dL bilirubin × 17.1, g/dL albumin × 10...).
`typical_low` / `typical_high` are the typical adult intervals of §4.1, used only when
neither the result nor the clinic gives a range (and the finding then says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

MICRO = "µ"


@dataclass(frozen=True)
class AnalyteEntry:
    code: str
    name: str
    loinc: str
    canonical_unit: str
    units: dict[str, float]  # accepted unit spelling -> factor to the canonical unit
    plausible_min: float
    plausible_max: float
    typical_low: float | None = None
    typical_high: float | None = None
    typical_high_female: float | None = None
    typical_high_male: float | None = None
    other_loincs: tuple[str, ...] = field(default=())
    panel: str = ""
    decimals: int = 1


_ENZYME = {"U/L": 1.0, "IU/L": 1.0, "u/l": 1.0, "ukat/L": 60.0, f"{MICRO}kat/L": 60.0}
_COUNT = {"10*9/L": 1.0, "10^9/L": 1.0, "x10^9/L": 1.0, "10*3/uL": 1.0, "10^3/uL": 1.0, "giga.l-1": 1.0, "/nL": 1.0}
_BILIRUBIN = {"umol/L": 1.0, f"{MICRO}mol/L": 1.0, "mg/dL": 17.1}

ANALYTES: tuple[AnalyteEntry, ...] = (
    AnalyteEntry(
        "alt",
        "ALT",
        "1742-6",
        "U/L",
        _ENZYME,
        0,
        20000,
        0,
        40,
        other_loincs=("1743-4", "1744-2"),
        panel="LFT",
        decimals=0,
    ),
    AnalyteEntry("ast", "AST", "1920-8", "U/L", _ENZYME, 0, 20000, 0, 40, panel="LFT", decimals=0),
    AnalyteEntry("alp", "ALP", "6768-6", "U/L", _ENZYME, 0, 10000, 30, 130, panel="LFT", decimals=0),
    AnalyteEntry(
        "ggt",
        "GGT",
        "2324-2",
        "U/L",
        _ENZYME,
        0,
        10000,
        0,
        60,
        typical_high_female=40,
        typical_high_male=60,
        panel="LFT",
        decimals=0,
    ),
    AnalyteEntry(
        "bilirubin",
        "Total bilirubin",
        "14631-6",
        "umol/L",
        _BILIRUBIN,
        0,
        1500,
        0,
        21,
        other_loincs=("1975-2",),
        panel="LFT",
    ),
    AnalyteEntry(
        "direct_bilirubin", "Direct bilirubin", "14629-0", "umol/L", _BILIRUBIN, 0, 1200, 0, 5, other_loincs=("1968-7",)
    ),
    AnalyteEntry("albumin", "Albumin", "1751-7", "g/L", {"g/L": 1.0, "g/dL": 10.0}, 5, 70, 35, 50),
    AnalyteEntry("total_protein", "Total protein", "2885-2", "g/L", {"g/L": 1.0, "g/dL": 10.0}, 10, 150, 60, 80),
    AnalyteEntry(
        "inr",
        "INR",
        "6301-6",
        "{INR}",
        {"{INR}": 1.0, "INR": 1.0, "{ratio}": 1.0, "ratio": 1.0, "": 1.0},
        0.5,
        15,
        0.8,
        1.2,
        other_loincs=("34714-6", "38875-1"),
        decimals=2,
    ),
    AnalyteEntry(
        "creatinine",
        "Creatinine",
        "14682-9",
        "umol/L",
        {"umol/L": 1.0, f"{MICRO}mol/L": 1.0, "mg/dL": 88.4},
        5,
        3000,
        45,
        110,
        other_loincs=("2160-0",),
        decimals=0,
    ),
    AnalyteEntry(
        "sodium",
        "Sodium",
        "2951-2",
        "mmol/L",
        {"mmol/L": 1.0, "mEq/L": 1.0, "meq/L": 1.0},
        90,
        200,
        135,
        145,
        other_loincs=("2947-0",),
        decimals=0,
    ),
    AnalyteEntry("potassium", "Potassium", "2823-3", "mmol/L", {"mmol/L": 1.0, "mEq/L": 1.0}, 1, 10, 3.5, 5.1),
    AnalyteEntry(
        "glucose",
        "Glucose",
        "2345-7",
        "mmol/L",
        {"mmol/L": 1.0, "mg/dL": 0.0555},
        0.5,
        60,
        3.9,
        7.8,
        other_loincs=("2339-0",),
    ),
    AnalyteEntry("igg", "IgG", "2465-3", "g/L", {"g/L": 1.0, "mg/dL": 0.01}, 0, 150, 7, 16),
    AnalyteEntry("wbc", "White cells", "6690-2", "10*9/L", _COUNT, 0, 500, 4.0, 11.0, panel="FBC"),
    AnalyteEntry(
        "neutrophils",
        "Neutrophils",
        "751-8",
        "10*9/L",
        _COUNT,
        0,
        300,
        2.0,
        7.5,
        other_loincs=("26499-4",),
        panel="FBC",
        decimals=2,
    ),
    AnalyteEntry(
        "lymphocytes",
        "Lymphocytes",
        "731-0",
        "10*9/L",
        _COUNT,
        0,
        300,
        1.0,
        4.0,
        other_loincs=("26474-7",),
        panel="FBC",
        decimals=2,
    ),
    AnalyteEntry(
        "eosinophils", "Eosinophils", "711-2", "10*9/L", _COUNT, 0, 100, 0.0, 0.5, other_loincs=("26449-9",), decimals=2
    ),
    AnalyteEntry("platelets", "Platelets", "777-3", "10*9/L", _COUNT, 0, 3000, 150, 400, panel="FBC", decimals=0),
    AnalyteEntry(
        "haemoglobin",
        "Haemoglobin",
        "718-7",
        "g/L",
        {"g/L": 1.0, "g/dL": 10.0},
        10,
        250,
        120,
        170,
        typical_high_female=155,
        typical_high_male=170,
        panel="FBC",
        decimals=0,
    ),
    # No verified LOINC for thiopurine metabolites (§4): labs supply their own codes.
    AnalyteEntry(
        "tgn",
        "6-TGN",
        "",
        "pmol/8x10^8 RBC",
        {"pmol/8x10^8 RBC": 1.0, "pmol/8x10*8 RBC": 1.0, "pmol/{8.10*8.RBCs}": 1.0},
        0,
        5000,
        235,
        450,
        decimals=0,
    ),
    AnalyteEntry(
        "mmp",
        "6-MMP",
        "",
        "pmol/8x10^8 RBC",
        {"pmol/8x10^8 RBC": 1.0, "pmol/8x10*8 RBC": 1.0, "pmol/{8.10*8.RBCs}": 1.0},
        0,
        100000,
        0,
        5700,
        decimals=0,
    ),
    AnalyteEntry(
        "tacrolimus",
        "Tacrolimus trough",
        "11253-2",
        "ng/mL",
        {"ng/mL": 1.0, "ug/L": 1.0, f"{MICRO}g/L": 1.0},
        0,
        100,
        3,
        8,
        other_loincs=("74097-7", "74096-9"),
    ),
)

BY_CODE: dict[str, AnalyteEntry] = {a.code: a for a in ANALYTES}

# The visit form's lab grid, in the order a clinician reads a panel.
VISIT_PANEL = (
    "alt", "ast", "alp", "ggt", "bilirubin", "albumin", "inr", "igg", "creatinine", "sodium",
    "wbc", "neutrophils", "lymphocytes", "platelets", "haemoglobin", "tgn", "mmp", "tacrolimus",
)  # fmt: skip


class UnitNotAccepted(ValueError):
    pass


def normalise_unit_spelling(unit: str) -> str:
    return unit.strip().replace("mcmol", "umol").replace("μ", MICRO)


# Other spellings that labs send (HL7 OBX-6, FHIR valueQuantity) for a unit the analytes above
# list under another spelling: the one place where they are mapped. Keys and values are unit
# keys (see `unit_key`). "G/L" is deliberately absent: case-blind, it would read as grams.
UNIT_ALIASES: dict[str, str] = {
    "iu/l": "u/l",
    "[iu]/l": "u/l",
    "units/l": "u/l",
    "micromol/l": "umol/l",
    "mcg/l": "ug/l",
    "10e9/l": "10*9/l",
    "x10e9/l": "10*9/l",
    "x10*9/l": "10*9/l",
    "×10^9/l": "10*9/l",
    "10⁹/l": "10*9/l",
    "×10⁹/l": "10*9/l",
    "giga/l": "10*9/l",
    "giga.l-1": "10*9/l",
    "gpt/l": "10*9/l",
    "k/ul": "10*3/ul",
    "10e3/ul": "10*3/ul",
    "x10e3/ul": "10*3/ul",
    "x10^3/ul": "10*3/ul",
    "thou/ul": "10*3/ul",
    "tera.l-1": "10*12/l",
    "10e12/l": "10*12/l",
    "x10e12/l": "10*12/l",
}


@lru_cache(maxsize=4096)
def unit_key(unit: str) -> str:
    """How a unit spelling is compared: case-blind, without spaces, µ as u, aliases resolved."""
    key = normalise_unit_spelling(unit).lower().replace(" ", "").replace(MICRO, "u")
    return UNIT_ALIASES.get(key, key)


def to_canonical(units: dict[str, float], value: float, unit: str, analyte_name: str = "This analyte") -> float:
    """Convert a value in one of the accepted `units` (spelling -> factor) into the canonical unit."""
    spelled = unit_key(unit)
    factors = {unit_key(k): v for k, v in units.items()}
    if spelled not in factors:
        accepted = ", ".join(sorted(u for u in units if u))
        raise UnitNotAccepted(f"{analyte_name} is not reported in '{unit}'. Accepted units: {accepted}.")
    # Rounding to 6 decimals removes float noise (4.2 x 17.1 = 71.82000000000001).
    return round(value * factors[spelled], 6)


def sync_analyte_catalogue(analyte_model) -> None:
    """Insert or update every catalogue analyte; analytes a clinic added itself are left alone."""
    for entry in ANALYTES:
        analyte_model.objects.update_or_create(
            code=entry.code,
            defaults={
                "name": entry.name,
                "loinc": entry.loinc,
                "other_loincs": list(entry.other_loincs),
                "canonical_unit": entry.canonical_unit,
                "units": dict(entry.units),
                "plausible_min": entry.plausible_min,
                "plausible_max": entry.plausible_max,
                "typical_low": entry.typical_low,
                "typical_high": entry.typical_high,
                "typical_high_female": entry.typical_high_female,
                "typical_high_male": entry.typical_high_male,
                "panel": entry.panel,
                "decimals": entry.decimals,
            },
        )
