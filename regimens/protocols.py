"""Steroid taper protocols as data (clinical-rules.md §0A, "Steroid regimens (A-3, A-4)").

This is the one place the taper numbers are written. A protocol is a list of doses, each with
when it starts (weeks or months after the course start, or after the expected normalisation of
aminotransferases) and the passage it comes from. `regimens/taper.py` turns a protocol into dated
steps; the physician edits every step before the plan is saved.

Numbers that the monitoring engine also uses (the 60 mg starting-dose ceiling, budesonide 9 and
6 mg/day) are not repeated here: a step names the clinic parameter (`monitoring/parameters.py`)
so a clinic that changes the parameter changes the protocol too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Anchor(StrEnum):
    START = "start"  # the course's first day
    NORMALISATION = "normalisation"  # the expected date aminotransferases normalise (entered by the physician)


@dataclass(frozen=True)
class ProtocolStep:
    """One dose of a protocol. `dose_mg` is a number, or `dose_parameter` names a clinic parameter."""

    anchor: Anchor
    weeks: int = 0
    months: int = 0
    dose_mg: float | None = None
    dose_parameter: str = ""
    schedule: str = ""
    note: str = ""


@dataclass(frozen=True)
class WeightBasedStart:
    """Induction dose per kg, capped, then equal weekly steps down to a target dose."""

    mg_per_kg_range: tuple[float, float]
    default_mg_per_kg: float
    max_dose_parameter: str  # the cap (mg/day) is a clinic parameter
    target_mg: float
    weeks_to_target: int


@dataclass(frozen=True)
class TaperProtocol:
    code: str
    name: str
    drugs: tuple[str, ...]  # catalogue codes the protocol may be used for
    source: str
    weight_based: WeightBasedStart | None = None
    steps: tuple[ProtocolStep, ...] = ()
    description: str = ""


# Doses are rounded to what tablets allow: prednisolone and prednisone come as 2.5 and 5 mg tablets.
DOSE_ROUNDING_MG = 2.5
DOSE_ROUNDING_SOURCE = "design (the spec is silent): 2.5 mg prednisolone/prednisone tablets"

# When the physician gives no expected normalisation date, steps "at normalisation" are dated this
# long after the start; they are placeholders to edit. The spec gives no date (IAIHG: complete
# response expected within 6 months).
DEFAULT_NORMALISATION_WEEKS = 12
DEFAULT_NORMALISATION_SOURCE = "design (the spec is silent); physician edits the date"

# A planned step with no dose recorded this many days after its date is shown as missed or late.
TAPER_STEP_GRACE_DAYS = 3
TAPER_STEP_GRACE_SOURCE = "design (the spec is silent)"

PREDNISOLONE_TYPES = ("prednisolone", "prednisone")  # 1:1 prednisolone-equivalent (regimens/catalogue.py)

PROTOCOLS: tuple[TaperProtocol, ...] = (
    TaperProtocol(
        code="prednisolone_weight_based",
        name="Prednisolone weight-based (0.5-1 mg/kg, max 60 mg, to 10 mg over 4 weeks)",
        drugs=PREDNISOLONE_TYPES,
        source="clinical-rules.md §0A (A-3, A-4); S000 (30-60 mg/day = 0.5-1 mg/kg, taper to 10 mg over 4 weeks; "
        "7.5 mg at normalisation, 5 mg after 3 months, then taper out at 3-4-month intervals); STER-04",
        weight_based=WeightBasedStart(
            mg_per_kg_range=(0.5, 1.0),
            default_mg_per_kg=1.0,
            max_dose_parameter="prednisolone_max_start_mg",
            target_mg=10.0,
            weeks_to_target=4,
        ),
        steps=(
            ProtocolStep(Anchor.NORMALISATION, dose_mg=7.5, note="At normalisation of aminotransferases"),
            ProtocolStep(Anchor.NORMALISATION, months=3, dose_mg=5.0, note="3 months after normalisation"),
            ProtocolStep(Anchor.NORMALISATION, months=6, dose_mg=2.5, note="Taper out: 3-4-monthly step"),
            ProtocolStep(Anchor.NORMALISATION, months=9, dose_mg=0.0, note="Taper out: stop (AZA continues)"),
        ),
        description="Starting dose from the latest weight; weekly steps to 10 mg by week 4.",
    ),
    TaperProtocol(
        code="prednisone_azathioprine",
        name="Prednisone + azathioprine combination (30/20/15/15 mg weekly, then 10 mg)",
        drugs=PREDNISOLONE_TYPES,
        source="clinical-rules.md §0A (A-3); S001 (prednisone 30 mg + AZA 50 mg); classic AASLD combination taper "
        "(E-m, STER-04)",
        steps=(
            ProtocolStep(Anchor.START, weeks=0, dose_mg=30.0, note="Week 1"),
            ProtocolStep(Anchor.START, weeks=1, dose_mg=20.0, note="Week 2"),
            ProtocolStep(Anchor.START, weeks=2, dose_mg=15.0, note="Weeks 3-4"),
            ProtocolStep(Anchor.START, weeks=3, dose_mg=15.0, note="Weeks 3-4"),
            ProtocolStep(Anchor.START, weeks=4, dose_mg=10.0, note="Maintenance"),
        ),
        description="Fixed weekly doses with azathioprine.",
    ),
    TaperProtocol(
        code="prednisone_monotherapy",
        name="Prednisone monotherapy (60/40/30/30 mg weekly, then 20 mg)",
        drugs=PREDNISOLONE_TYPES,
        source="clinical-rules.md §0A (A-3); S000, S001 (60 → 40 → 30 → 20 mg maintenance); STER-04",
        steps=(
            ProtocolStep(Anchor.START, weeks=0, dose_mg=60.0, note="Week 1"),
            ProtocolStep(Anchor.START, weeks=1, dose_mg=40.0, note="Week 2"),
            ProtocolStep(Anchor.START, weeks=2, dose_mg=30.0, note="Weeks 3-4"),
            ProtocolStep(Anchor.START, weeks=3, dose_mg=30.0, note="Weeks 3-4"),
            ProtocolStep(Anchor.START, weeks=4, dose_mg=20.0, note="Maintenance"),
        ),
        description="Fixed weekly doses without azathioprine (TPMT deficiency, cytopenia, pregnancy).",
    ),
    TaperProtocol(
        code="budesonide",
        name="Budesonide 9 mg/day (3 mg three times daily), 6 mg at response",
        drugs=("budesonide",),
        source="clinical-rules.md §0A (A-3); S000, S001 (9 mg/day with AZA, non-cirrhotic only); "
        "6 mg after response: Manns et al. 2010 (E-m); STER-05",
        steps=(
            ProtocolStep(
                Anchor.START,
                dose_parameter="budesonide_induction_mg",
                schedule="3 mg three times daily",
                note="Induction",
            ),
            ProtocolStep(
                Anchor.NORMALISATION,
                dose_parameter="budesonide_after_response_mg",
                schedule="3 mg twice daily",
                note="At biochemical response",
            ),
        ),
        description="Non-cirrhotic patients only (CI-01..03b are checked when it is prescribed).",
    ),
)

BY_CODE: dict[str, TaperProtocol] = {p.code: p for p in PROTOCOLS}


def protocols_for(drug_code: str) -> list[TaperProtocol]:
    return [p for p in PROTOCOLS if drug_code in p.drugs]


def uses_normalisation(protocol: TaperProtocol) -> bool:
    return any(step.anchor == Anchor.NORMALISATION for step in protocol.steps)
