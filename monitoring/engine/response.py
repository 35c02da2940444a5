"""Response state over time (clinical-rules.md §1): the states a patient went through, with dates.

States: induction, non_response, complete_response (CBR by 6 months), insufficient_response,
remission (normalised later, or regained), loss_of_remission, probable_relapse, relapse,
off_treatment. Pure function of a rules Context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

from monitoring.engine.dates import days_after, months_after
from monitoring.engine.formulas import is_above, is_at_or_above, percent_fall
from monitoring.engine.timeline import Lab


class Context(Protocol):
    """What the response history reads of a rules Context (engine/context.py, which builds it)."""

    as_of: date

    def p(self, key: str) -> Any: ...
    def last(self, code: str, on_or_before: date | None = None) -> Lab | None: ...
    def window(self, code: str, start: date, end: date) -> tuple[Lab, ...]: ...
    def nearest(self, code: str, target: date, start: date, end: date) -> Lab | None: ...
    def is_normal(self, lab: Lab) -> bool | None: ...

    @property
    def treatment_eras(self) -> list[tuple[date, date | None]]: ...


class State(StrEnum):
    INDUCTION = "induction"
    NON_RESPONSE = "non_response"
    COMPLETE_RESPONSE = "complete_response"
    INSUFFICIENT_RESPONSE = "insufficient_response"
    REMISSION = "remission"
    LOSS_OF_REMISSION = "loss_of_remission"
    PROBABLE_RELAPSE = "probable_relapse"
    RELAPSE = "relapse"
    OFF_TREATMENT = "off_treatment"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    State.INDUCTION: "Induction",
    State.NON_RESPONSE: "Non-response at 4 weeks",
    State.COMPLETE_RESPONSE: "Complete biochemical response",
    State.INSUFFICIENT_RESPONSE: "Insufficient response at 6 months",
    State.REMISSION: "Biochemical remission",
    State.LOSS_OF_REMISSION: "Loss of remission",
    State.PROBABLE_RELAPSE: "Probable relapse",
    State.RELAPSE: "Relapse",
    State.OFF_TREATMENT: "Off treatment",
}
IN_REMISSION = frozenset({State.COMPLETE_RESPONSE, State.REMISSION})
AFTER_REMISSION = frozenset({State.LOSS_OF_REMISSION, State.PROBABLE_RELAPSE, State.RELAPSE})


@dataclass(frozen=True)
class Change:
    on: date
    state: State
    detail: str = ""


@dataclass(frozen=True)
class ResponseHistory:
    changes: tuple[Change, ...]

    @property
    def current(self) -> State | None:
        return self.changes[-1].state if self.changes else None

    @property
    def since(self) -> date | None:
        return self.changes[-1].on if self.changes else None

    def ever(self, *states: State, after: date | None = None) -> bool:
        return any(c.state in states and (after is None or c.on >= after) for c in self.changes)

    def first(self, state: State, after: date | None = None) -> Change | None:
        return next((c for c in self.changes if c.state == state and (after is None or c.on >= after)), None)

    @property
    def in_remission(self) -> bool:
        return self.current in IN_REMISSION


def normalised_on(history: ResponseHistory, since: date) -> date | None:
    """The first day on or after `since` the engine found the patient biochemically normal (complete
    response or remission: aminotransferases, and IgG, within limits), or None if not yet: the day taper
    steps "at normalisation" are due from."""
    return next((c.on for c in history.changes if c.on >= since and c.state in IN_REMISSION), None)


def biochemically_normal(ctx: Context, on: date, since: date) -> bool | None:
    """ALT (and AST if measured) and IgG, each the latest drawn in [since, on], all ≤ ULN.

    None when ALT or IgG has not been drawn in that span (status unknown).
    """
    alt, igg = ctx.last("alt", on), ctx.last("igg", on)
    if alt is None or igg is None or alt.on < since or igg.on < since:
        return None
    checks = [alt, igg]
    ast = ctx.last("ast", on)
    if ast is not None and ast.on >= since:
        checks.append(ast)
    verdicts = [ctx.is_normal(lab) for lab in checks]
    if any(v is None for v in verdicts):
        return None
    return all(verdicts)


def relapse_tier(ctx: Context, on: date) -> State:
    """How far ALT has gone: relapse (≥ 3× ULN), probable relapse (> 2×), else loss of remission."""
    alt = ctx.last("alt", on)
    if alt is not None and alt.uln:
        if is_at_or_above(alt.value, alt.uln, ctx.p("relapse_uln_multiple")):
            return State.RELAPSE
        if is_above(alt.value, alt.uln, ctx.p("probable_relapse_uln_multiple")):
            return State.PROBABLE_RELAPSE
    return State.LOSS_OF_REMISSION


def week4_fall(ctx: Context, t0: date) -> tuple[str, float, object, object] | None:
    """(analyte, fraction fallen, baseline lab, week-4 lab) for the RESP-01 check, or None."""
    for code in ("alt", "ast"):
        baseline = ctx.last(code, t0)
        if baseline is None or baseline.on < days_after(t0, -14) or not baseline.value:
            continue
        week4 = ctx.nearest(code, days_after(t0, 28), days_after(t0, 21), days_after(t0, 42))
        if week4 is None:
            continue
        return code, percent_fall(baseline.value, week4.value), baseline, week4
    return None


def response_history(ctx: Context) -> ResponseHistory:
    changes: list[Change] = []

    def add(on: date, state: State, detail: str = "") -> None:
        if not changes or changes[-1].state != state:
            changes.append(Change(on, state, detail))

    eras = ctx.treatment_eras
    in_remission = False
    for index, (start, stop) in enumerate(eras):
        end = stop or ctx.as_of
        add(start, State.INDUCTION)
        deadline = months_after(start, ctx.p("cbr_deadline_months"))
        fall = week4_fall(ctx, start)
        if fall and fall[1] < ctx.p("nonresponse_min_fall"):
            add(fall[3].on, State.NON_RESPONSE, f"{fall[0].upper()} fell {fall[1]:.0%}")
        reached = False
        insufficient_marked = False
        for day in _result_days(ctx, start, end):
            if not reached and not insufficient_marked and day > deadline:
                add(deadline, State.INSUFFICIENT_RESPONSE)
                insufficient_marked = True
            normal = biochemically_normal(ctx, day, start)
            if normal is None:
                continue
            if normal and not in_remission:
                add(day, State.COMPLETE_RESPONSE if day <= deadline and not reached else State.REMISSION)
                reached = in_remission = True
            elif not normal and in_remission:
                add(day, relapse_tier(ctx, day))
                in_remission = False
            elif not normal and reached:
                tier = relapse_tier(ctx, day)
                if _worse(tier, changes[-1].state):
                    add(day, tier)
        if not reached and not insufficient_marked and ctx.as_of >= deadline and end >= deadline:
            add(deadline, State.INSUFFICIENT_RESPONSE)
        if stop is not None:
            add(stop, State.OFF_TREATMENT)
            next_start = eras[index + 1][0] if index + 1 < len(eras) else ctx.as_of
            for day in _result_days(ctx, stop, next_start):
                alt = ctx.last("alt", day)
                if alt and alt.on >= stop and ctx.is_normal(alt) is False:
                    tier = relapse_tier(ctx, day)
                    if changes[-1].state == State.OFF_TREATMENT or _worse(tier, changes[-1].state):
                        add(day, tier)
            in_remission = False
    return ResponseHistory(tuple(changes))


_SEVERITY_ORDER = [State.LOSS_OF_REMISSION, State.PROBABLE_RELAPSE, State.RELAPSE]


def _worse(new: State, old: State) -> bool:
    if new not in _SEVERITY_ORDER or old not in _SEVERITY_ORDER:
        return False
    return _SEVERITY_ORDER.index(new) > _SEVERITY_ORDER.index(old)


def _result_days(ctx: Context, start: date, end: date) -> list[date]:
    """Days in [start, end] with an ALT, AST or IgG result."""
    days = {lab.on for code in ("alt", "ast", "igg") for lab in ctx.window(code, start, end)}
    return sorted(days)
