"""Disease activity: ALT / IgG trajectories in multiples of the ULN.

An insufficient response (no normalisation, a plateau above the ULN) is
`scenarios.insufficient_responder.insufficient_response`, with the numbers of that scenario.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from .clinical import (
    ALT_FOLD_AT_DIAGNOSIS,
    ALT_FOLD_DAY_14,
    ALT_FOLD_DAY_28,
    ALT_JUST_NORMAL_FOLD,
    ALT_NORMAL_AFTER_DAYS,
    ALT_REMISSION_FOLD,
    IGG_FOLD_AT_DIAGNOSIS,
    IGG_FOLD_DAY_30,
    IGG_JUST_NORMAL_FOLD,
    IGG_NORMAL_AFTER_DAYS,
    IGG_REMISSION_FOLD,
    LEAD_IN_DAYS,
    LEAD_IN_FOLD,
    REMISSION_SETTLES_DAYS,
    Band,
    DaySpan,
)
from .helpers import curve_value, uniform
from .plans import PatientPlan


@dataclass(frozen=True)
class Response:
    """How ALT and IgG (x ULN) move after treatment starts. None = never normalises."""

    alt_at_start: float
    igg_at_start: float
    alt_normal_after: int | None
    igg_normal_after: int | None
    alt_remission: float
    igg_remission: float
    alt_plateau: float = 1.0  # for non-normalisers, from `plateau_from` days
    igg_plateau: float = 1.0
    plateau_from: int = 150


def typical_response(rng: random.Random, **overrides: Band | DaySpan) -> Response:
    bands = {
        "alt_at_start": ALT_FOLD_AT_DIAGNOSIS,
        "igg_at_start": IGG_FOLD_AT_DIAGNOSIS,
        "alt_normal_after": ALT_NORMAL_AFTER_DAYS,
        "igg_normal_after": IGG_NORMAL_AFTER_DAYS,
        **overrides,
    }
    return Response(
        alt_at_start=uniform(rng, bands["alt_at_start"]),
        igg_at_start=uniform(rng, bands["igg_at_start"]),
        alt_normal_after=rng.randint(*bands["alt_normal_after"]),
        igg_normal_after=rng.randint(*bands["igg_normal_after"]),
        alt_remission=uniform(rng, ALT_REMISSION_FOLD),
        igg_remission=uniform(rng, IGG_REMISSION_FOLD),
    )


def add_response_curves(plan: PatientPlan, start: date, response: Response, *, lead_in: bool = True) -> None:
    alt = plan.curves.setdefault("alt", [])
    igg = plan.curves.setdefault("igg", [])
    a0, g0 = response.alt_at_start, response.igg_at_start
    if lead_in:
        alt.append((start - timedelta(days=LEAD_IN_DAYS), a0 * LEAD_IN_FOLD))
        igg.append((start - timedelta(days=LEAD_IN_DAYS), g0 * 0.95))
    if response.alt_normal_after is None:
        day28 = max(a0 * ALT_FOLD_DAY_28 * 1.8, response.alt_plateau * 1.4)
        later = [(response.plateau_from, response.alt_plateau)]
    else:
        day28 = max(a0 * ALT_FOLD_DAY_28, ALT_JUST_NORMAL_FOLD * 1.2)
        normal = response.alt_normal_after
        later = [(normal, ALT_JUST_NORMAL_FOLD), (normal + REMISSION_SETTLES_DAYS, response.alt_remission)]
    day14 = max(a0 * ALT_FOLD_DAY_14, day28)
    alt += [(start + timedelta(days=n), fold) for n, fold in [(0, a0), (14, day14), (28, day28), *later]]
    if response.igg_normal_after is None:
        later = [(response.plateau_from, response.igg_plateau)]
    else:
        normal = response.igg_normal_after
        later = [(normal, IGG_JUST_NORMAL_FOLD), (normal + REMISSION_SETTLES_DAYS, response.igg_remission)]
    day30 = max(g0 * IGG_FOLD_DAY_30, IGG_JUST_NORMAL_FOLD + 0.1)
    igg += [(start + timedelta(days=n), fold) for n, fold in [(0, g0), (30, day30), *later]]


def add_flare(plan: PatientPlan, on: date, fold: float, lasting: int) -> None:
    """A transient loss of remission: ALT up to `fold` x ULN and back over `lasting` days."""
    settled = curve_value(plan, "alt", on)
    plan.curves["alt"] += [
        (on - timedelta(days=21), settled),
        (on, fold),
        (on + timedelta(days=lasting), settled),
    ]
