"""Small helpers: drug families, draws from bands and day spans, dose labels, activity curves."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from datetime import date, timedelta

from .clinical import Band, DaySpan
from .plans import PatientPlan

ANTIMETABOLITES = frozenset({"azathioprine", "mercaptopurine", "mycophenolate_mofetil", "mycophenolic_acid"})
THIOPURINES = frozenset({"azathioprine", "mercaptopurine"})
STEROIDS = frozenset({"prednisolone", "prednisone", "budesonide", "methylprednisolone"})
IMMUNOSUPPRESSANTS = ANTIMETABOLITES | STEROIDS | {"tacrolimus", "cyclosporine"}


def uniform(rng: random.Random, band: Band) -> float:
    return rng.uniform(band[0], band[1])


def days(rng: random.Random, span: DaySpan) -> timedelta:
    return timedelta(days=rng.randint(span[0], span[1]))


def jitter(rng: random.Random, spread: float) -> float:
    return 1.0 + rng.uniform(-spread, spread)


def round_to(value: float, step: float) -> float:
    return round(value / step) * step


def mg_label(mg: float) -> str:
    return f"{mg:g} mg"


class Curve:
    """A trajectory through dated keyframes, interpolated log-linearly (exponential fall and rise)."""

    __slots__ = ("_days", "_logs")

    def __init__(self, points: Sequence[tuple[date, float]]) -> None:
        merged = dict(sorted(points, key=lambda p: p[0]))
        self._days = [d.toordinal() for d in merged]
        self._logs = [math.log(max(v, 1e-6)) for v in merged.values()]

    def at(self, on: date) -> float:
        day = on.toordinal()
        i = bisect.bisect_right(self._days, day)
        if i == 0:
            return math.exp(self._logs[0])
        if i == len(self._days):
            return math.exp(self._logs[-1])
        d0, d1 = self._days[i - 1], self._days[i]
        share = (day - d0) / (d1 - d0)
        return math.exp(self._logs[i - 1] + share * (self._logs[i] - self._logs[i - 1]))


def curve_value(plan: PatientPlan, key: str, on: date) -> float:
    return Curve(plan.curves[key]).at(on)
