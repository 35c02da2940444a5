"""Lab values: each draw's panel from the plan's curves and physiology, as the reporting lab sends it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings

from monitoring.catalogue import BY_CODE, to_canonical

from .helpers import THIOPURINES, Curve, jitter
from .lab_profiles import LAB_PROFILES
from .physiology import ACTIVITY, AZA_LYMPHOCYTE_FACTOR, AZA_WBC_FACTOR, NOISE, Physiology
from .plans import Draw, PatientPlan


@dataclass(frozen=True)
class Resolved:
    """One lab's reporting of one analyte for one sex, with factors to the canonical unit."""

    unit: str
    decimals: int
    factor: float
    ref_low: float | None
    ref_high: float | None
    plausible_min: float
    plausible_max: float


@cache
def resolved_reporting(lab_name: str, sex: str) -> dict[str, Resolved]:
    lab = next(profile for profile in LAB_PROFILES if profile.name == lab_name)
    resolved = {}
    for code, reporting in lab.reporting.items():
        entry = BY_CODE[code]
        factor = to_canonical(entry.units, 1.0, reporting.unit, entry.name)
        limits = reporting.range_for(sex)
        resolved[code] = Resolved(
            unit=reporting.unit,
            decimals=reporting.decimals,
            factor=factor,
            ref_low=None if limits.low is None else round(limits.low * factor, 6),
            ref_high=None if limits.high is None else round(limits.high * factor, 6),
            plausible_min=entry.plausible_min,
            plausible_max=entry.plausible_max,
        )
    return resolved


def plan_uln(plan: PatientPlan, code: str) -> float:
    uln = resolved_reporting(plan.lab.name, plan.sex)[code].ref_high
    assert uln is not None
    return uln


class LabRow(NamedTuple):
    """One result as the lab sends it (a tuple: millions are made)."""

    drawn_on: date
    analyte: str
    value: float
    value_as_reported: str
    unit_as_reported: str
    ref_low: float | None
    ref_high: float | None
    collected_at: datetime
    source_id: str


def draw_values(plan: PatientPlan, rng: random.Random, draw: Draw, curves: dict[str, Curve]) -> dict[str, float]:
    """Canonical values of one draw's panel, before the lab's rounding."""
    assert plan.physiology is not None
    uln = {code: r.ref_high for code, r in resolved_reporting(plan.lab.name, plan.sex).items()}
    on_thiopurine = any(c.drug in THIOPURINES and c.is_active_on(draw.on) for c in plan.courses)
    values = liver_panel(plan.physiology, curves, draw.on, uln)
    if draw.with_igg:
        values["igg"] = curves["igg"].at(draw.on) * uln["igg"]
    for code, value in values.items():
        if code not in plan.exact_analytes:
            values[code] = value * jitter(rng, getattr(NOISE, code))
    values |= blood_count(plan.physiology, rng, on_thiopurine)
    values |= draw.pinned
    return values


def liver_panel(phys: Physiology, curves: dict[str, Curve], on: date, uln: dict[str, float | None]) -> dict[str, float]:
    """LFT, synthetic function and renal panel: from the curves where a scenario sets them, else from
    the patient's resting values moved by the ALT activity."""
    alt = curves["alt"].at(on)
    excess = min(max(alt - 1.0, 0.0), ACTIVITY.fold_cap)

    def fold_or(code: str, resting: float, per_fold: float, cap: float) -> float:
        return curves[code].at(on) if code in curves else min(resting * (1 + per_fold * excess), cap)

    bilirubin = (
        curves["bilirubin"].at(on) * uln["bilirubin"]
        if "bilirubin" in curves
        else phys.bilirubin * (1 + ACTIVITY.bilirubin_per_fold * excess)
    )
    return {
        "alt": alt * uln["alt"],
        "ast": alt * phys.ast_ratio * uln["ast"],
        "alp": fold_or("alp", phys.alp_fold, ACTIVITY.alp_per_fold, ACTIVITY.alp_cap) * uln["alp"],
        "ggt": fold_or("ggt", phys.ggt_fold, ACTIVITY.ggt_per_fold, ACTIVITY.ggt_cap) * uln["ggt"],
        "bilirubin": bilirubin,
        "albumin": curves["albumin"].at(on)
        if "albumin" in curves
        else phys.albumin - ACTIVITY.albumin_per_fold * excess,
        "inr": curves["inr"].at(on) if "inr" in curves else phys.inr + ACTIVITY.inr_per_fold * excess,
        "creatinine": phys.creatinine,
        "sodium": phys.sodium,
    }


def blood_count(phys: Physiology, rng: random.Random, on_thiopurine: bool) -> dict[str, float]:
    """FBC: thiopurines lower white cells and lymphocytes a little."""
    wbc = phys.wbc * (AZA_WBC_FACTOR if on_thiopurine else 1.0) * jitter(rng, NOISE.count)
    lymphocyte_fraction = phys.lymphocyte_fraction * (AZA_LYMPHOCYTE_FACTOR if on_thiopurine else 1.0)
    return {
        "wbc": wbc,
        "neutrophils": wbc * phys.neutrophil_fraction * jitter(rng, NOISE.differential),
        "lymphocytes": wbc * lymphocyte_fraction * jitter(rng, NOISE.differential),
        "platelets": phys.platelets * jitter(rng, NOISE.count),
        "haemoglobin": phys.haemoglobin * jitter(rng, NOISE.haemoglobin),
    }


def lab_rows(plan: PatientPlan, seed: int | str) -> list[LabRow]:
    """Every result of every draw, as the reporting lab would send it."""
    rng = random.Random(f"{seed}:{plan.index}:labs")
    curves = {key: Curve(points) for key, points in plan.curves.items()}
    reporting = resolved_reporting(plan.lab.name, plan.sex)
    zone = ZoneInfo(settings.TIME_ZONE)
    rows: list[LabRow] = []
    for number, draw in enumerate(plan.draws, start=1):
        collected_at = datetime.combine(draw.on, draw.at, tzinfo=zone)
        source_id = f"{plan.mrn}-S{number:04d}"
        for code, value in draw_values(plan, rng, draw, curves).items():
            lab = reporting[code]
            bounded = min(max(value, lab.plausible_min), lab.plausible_max)
            reported = round(bounded / lab.factor, lab.decimals)
            canonical = round(reported * lab.factor, 6)
            text = f"{reported:.{lab.decimals}f}"
            rows.append(
                LabRow(draw.on, code, canonical, text, lab.unit, lab.ref_low, lab.ref_high, collected_at, source_id)
            )
    return rows
