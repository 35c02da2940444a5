"""The monitoring schedule (clinical-rules.md §2.2) as plain data: which bloods are due, and when.

`monitoring_schedule(ctx)` is the recall list a nurse works: one `ScheduleItem` per panel that is
currently required, with the phase it is in, the last result, the next due date and the day after
which it is overdue. The MON rules (monitoring/rules/monitoring.py) judge the same items, so the
recall list and the alert queue always agree.

Phased schedules (MON-01, MON-05, MON-06, MON-07) are projected from the last result: a panel is
due on the first date x after base with x - base >= interval(phase(x)), and overdue from the first
date with x - base > overdue_after(phase(x)), where base = max(last result, start of the schedule).
A due date that would fall in the next phase is projected with the next phase's (longer) interval,
so the recall list never shows a date on which the rule would not fire. The dates, and the severity
of being overdue, are those of the phase in which the bloods were missed, whatever the day one looks:
bloods missed in phase A stay overdue at phase A's severity, with the due date that was missed.

A panel is drawn when its required analytes are (parameters fbc_required_analytes,
lft_required_analytes): a haemoglobin alone is not an FBC. Its date is the oldest of the required
analytes' latest dates, and an item names the required analytes drawn less recently than the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from monitoring.engine.context import Context, Severity
from monitoring.engine.dates import days_after, months_after
from monitoring.engine.timeline import Course, Lab
from regimens.catalogue import DrugClass

FBC = ("wbc", "neutrophils", "lymphocytes", "platelets", "haemoglobin")
LFT = ("alt", "ast", "alp", "ggt", "bilirubin")
LFT_CIRRHOSIS = ("albumin", "inr")  # added to the LFT panel when the patient is cirrhotic (§2.2)
TACROLIMUS_BLOODS = ("tacrolimus", "creatinine", "potassium", "glucose")
RESPONSE_BLOODS = ("alt", "igg")
STEROID_CLASSES = (DrugClass.SYSTEMIC_STEROID, DrugClass.BUDESONIDE)

SHORT_NAME = {
    "azathioprine": "AZA",
    "mercaptopurine": "6-MP",
    "thioguanine": "thioguanine",
    "mycophenolate_mofetil": "MMF",
    "mycophenolic_acid": "mycophenolate",
    "tacrolimus": "tacrolimus",
}
TEST_NAME = {"alt": "ALT", "igg": "IgG", "tacrolimus": "tacrolimus trough", "creatinine": "creatinine",
             "potassium": "potassium", "glucose": "glucose"}  # fmt: skip

OK, DUE, OVERDUE = "ok", "due", "overdue"
# How a missing analyte is named in "platelets missing since 3 Jan 2026".
ANALYTE_NAME = {"wbc": "WBC", "neutrophils": "neutrophils", "lymphocytes": "lymphocytes", "platelets": "platelets",
                "haemoglobin": "haemoglobin", "alt": "ALT", "ast": "AST", "alp": "ALP", "ggt": "GGT",
                "bilirubin": "bilirubin", "albumin": "albumin", "inr": "INR", "igg": "IgG"}  # fmt: skip


def required_analytes(text: str) -> tuple[tuple[str, ...], ...]:
    """'wbc|neutrophils, platelets' -> (("wbc", "neutrophils"), ("platelets",)): each required analyte
    with its alternatives (the form of the fbc_required_analytes parameters)."""
    groups = (tuple(code.strip() for code in part.split("|") if code.strip()) for part in text.split(","))
    return tuple(group for group in groups if group)


def short_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def missing_text(missing) -> str:
    """'platelets missing since 3 Jan 2026; IgG missing': the required analytes a panel lacks."""
    parts = []
    for group, last in missing:
        name = " or ".join(ANALYTE_NAME.get(code, code) for code in group)
        parts.append(f"{name} missing since {short_date(last)}" if last else f"{name} missing")
    return "; ".join(parts)


@dataclass(frozen=True)
class Phase:
    """A stretch of a schedule with one maximum interval between results."""

    start: date
    end: date | None  # first day of the next phase; None = open-ended
    label: str  # what a nurse reads, e.g. "AZA weeks 0–8: every 14 days"
    interval_days: int  # due this many days after the last result
    overdue_after_days: int  # overdue when more days than this have passed
    overdue_severity: Severity
    due_severity: Severity | None = None  # only MON-01/06 phase A raise an alert when merely due

    def holds(self, day: date) -> bool:
        """`day` is before this phase ends (it may be earlier than its start: already past)."""
        return self.end is None or day < self.end


@dataclass(frozen=True)
class ScheduleItem:
    """One panel a nurse must get drawn: where the schedule is and what is due when."""

    rule_id: str
    panel: str  # "FBC", "LFT", "ALT", "IgG", "ALT+IgG", "tacrolimus"...
    analytes: tuple[str, ...]
    phase: str
    phase_start: date
    last_result: date | None  # last date by which all the panel's required analytes were drawn
    next_due: date
    overdue_after: date  # overdue from the day after this
    severity_if_overdue: Severity
    restart_reason: str = ""  # why the schedule (re)started: "start", "dose increase", "treatment stopped"...
    due_severity: Severity | None = None
    # Required analytes drawn less recently than the rest of the panel: ((codes), last drawn or None).
    missing: tuple[tuple[tuple[str, ...], date | None], ...] = ()
    phases: tuple[Phase, ...] = ()  # the phases the dates were projected on (none for window checks)

    @property
    def missing_text(self) -> str:
        return missing_text(self.missing)

    def state(self, on: date) -> str:
        if on > self.overdue_after:
            return OVERDUE
        return DUE if on >= self.next_due else OK

    def severity(self, on: date) -> Severity | None:
        """Severity of the alert this item raises on `on` (the date the schedule was made for)."""
        state = self.state(on)
        if state == OVERDUE:
            return self.severity_if_overdue
        return self.due_severity if state == DUE else None

    def evidence(self, on: date) -> dict[str, Any]:
        return {
            "panel": self.panel,
            "state": self.state(on),
            "phase": self.phase,
            "phase_start": self.phase_start.isoformat(),
            "last_result": self.last_result.isoformat() if self.last_result else None,
            "next_due": self.next_due.isoformat(),
            "overdue_after": self.overdue_after.isoformat(),
            "severity_if_overdue": self.severity_if_overdue.label,
            "restart_reason": self.restart_reason,
            **({"missing": self.missing_text} if self.missing else {}),
        }


# -- phase arithmetic ---------------------------------------------------------------------------


def project(base: date, phases: Sequence[Phase]) -> tuple[Phase, date, Phase, date]:
    """(phase of the due date, due date, phase of the overdue date, overdue-after date).

    Starts from the phase in force on `base` (the last result): the bloods are missed in the phase
    they were due in, whenever one looks. A date that would fall after that phase ends is
    recomputed with the next phase's interval (see the module docstring).
    """
    current = max((i for i, phase in enumerate(phases) if phase.start <= base), default=0)
    due: tuple[Phase, date] | None = None
    overdue: tuple[Phase, date] | None = None
    for phase in phases[current:]:
        if due is None and phase.holds(candidate := days_after(base, phase.interval_days)):
            due = (phase, candidate)
        if overdue is None and phase.holds(days_after(candidate := days_after(base, phase.overdue_after_days), 1)):
            overdue = (phase, candidate)
    assert due and overdue, "the last phase of a schedule is open-ended"
    return due[0], due[1], overdue[0], overdue[1]


def _item(
    rule_id: str,
    panel: str,
    analytes: tuple[str, ...],
    phases: Sequence[Phase],
    last: date | None,
    restart_reason: str = "",
    missing=(),
) -> ScheduleItem:
    base = max(last, phases[0].start) if last else phases[0].start
    due_phase, due, overdue_phase, overdue_after = project(base, phases)
    return ScheduleItem(
        rule_id=rule_id,
        panel=panel,
        analytes=analytes,
        phase=due_phase.label,
        phase_start=due_phase.start,
        last_result=last,
        next_due=due,
        overdue_after=overdue_after,
        severity_if_overdue=overdue_phase.overdue_severity,
        restart_reason=restart_reason,
        due_severity=due_phase.due_severity,
        missing=tuple(missing),
        phases=tuple(phases),
    )


def every(days: int) -> str:
    """'every 14 days', 'every month', 'every 3 months' — what a nurse reads."""
    months = round(days / 30.44)
    if months >= 1 and abs(days - months * 30.44) <= 2:
        return "every month" if months == 1 else f"every {months} months"
    return f"every {days} days"


def _in_follow_up(ctx: Context) -> bool:
    # A discharged, transferred or deceased patient has no recall list.
    return ctx.t.status == "active"


# -- MON-01 / MON-06: thiopurine and MMF safety bloods ------------------------------------------


def restart(courses: Iterable[Course]) -> tuple[date, str] | None:
    """D0 and why: the latest start or dose increase of these courses (a decrease does not restart)."""
    events: list[tuple[date, int, str]] = []
    for course in courses:
        events.append((course.started_on, 0, "start"))
        for before, after in zip(course.doses, course.doses[1:], strict=False):
            if after.mg_per_day > before.mg_per_day:
                events.append((after.on, 1, "dose increase"))
    if not events:
        return None
    on, _, reason = max(events)  # on the same day an increase outranks a start: it is the later event
    return on, reason


def antimetabolite_phases(ctx: Context, d0: date, drug: str) -> list[Phase]:
    """Phases A, B, C of MON-01 from D0 (parameters thiopurine_*; see A-10)."""
    b_day, c_day = ctx.p("thiopurine_phase_starts_days")
    intervals = ctx.p("thiopurine_max_interval_days")
    overdue = ctx.p("thiopurine_overdue_after_days")
    b_start, c_start = days_after(d0, b_day), days_after(d0, c_day)
    month_c = round(c_day / 30.44)
    labels = (f"weeks 0–{b_day // 7}", f"week {b_day // 7} to month {month_c}", f"after month {month_c}")
    bounds = ((d0, b_start), (b_start, c_start), (c_start, None))
    phases = []
    for index, ((start, end), label, interval, late) in enumerate(zip(bounds, labels, intervals, overdue, strict=True)):
        first = index == 0  # only phase A alerts when merely due (info), and its overdue is high
        phases.append(
            Phase(start, end, f"{drug} {label}: {every(interval)}", interval, late,
                  Severity.HIGH if first else Severity.WARNING, Severity.INFO if first else None)
        )  # fmt: skip
    return phases


def lft_panel(ctx: Context) -> tuple[str, ...]:
    return LFT + LFT_CIRRHOSIS if ctx.has_cirrhosis else LFT


def fbc_required(ctx: Context) -> tuple[tuple[str, ...], ...]:
    return required_analytes(ctx.p("fbc_required_analytes"))


def lft_required(ctx: Context) -> tuple[tuple[str, ...], ...]:
    required = required_analytes(ctx.p("lft_required_analytes"))
    if ctx.has_cirrhosis:
        required += required_analytes(ctx.p("lft_required_analytes_cirrhosis"))
    return required


def drug_label(courses: Iterable[Course]) -> str:
    """ "AZA", "MMF", "AZA + MMF": the short names a nurse uses."""
    return " + ".join(dict.fromkeys(SHORT_NAME.get(c.drug, c.drug) for c in courses))


def antimetabolite_courses(ctx: Context, rule_id: str) -> list[Course]:
    """The courses whose starts and dose increases drive MON-01 / MON-06 (empty if the rule is off)."""
    if not _in_follow_up(ctx):
        return []
    on_thiopurine = bool(ctx.active(DrugClass.THIOPURINE))
    if rule_id == "MON-01":
        # An MMF course alongside also restarts it (§0A A-10: "restarted by a thiopurine or MMF start
        # or dose increase").
        return ctx.active(DrugClass.THIOPURINE, DrugClass.MYCOPHENOLATE) if on_thiopurine else []
    # MON-06 is for MMF without a thiopurine; with one, MON-01 covers the FBC.
    return [] if on_thiopurine else ctx.active(DrugClass.MYCOPHENOLATE)


def _antimetabolite_items(ctx: Context, rule_id: str, panels) -> list[ScheduleItem]:
    courses = antimetabolite_courses(ctx, rule_id)
    if not courses:
        return []
    d0, reason = restart(courses)
    phases = antimetabolite_phases(ctx, d0, drug_label(courses))
    items = []
    for panel, codes, required in panels:
        drawn = ctx.panel_drawn(required, codes)
        items.append(_item(rule_id, panel, codes, phases, drawn.on, reason, drawn.missing))
    return items


def thiopurine_items(ctx: Context) -> list[ScheduleItem]:
    """MON-01: FBC and LFT while on a thiopurine."""
    return _antimetabolite_items(
        ctx, "MON-01", (("FBC", FBC, fbc_required(ctx)), ("LFT", lft_panel(ctx), lft_required(ctx)))
    )


def mmf_items(ctx: Context) -> list[ScheduleItem]:
    """MON-06: FBC on the MON-01 phases while on MMF without a thiopurine."""
    return _antimetabolite_items(ctx, "MON-06", (("FBC", FBC, fbc_required(ctx)),))


# -- MON-02: ALT after a steroid dose change -----------------------------------------------------


@dataclass(frozen=True)
class SteroidChange:
    on: date
    kind: str  # "dose decrease", "dose increase", "stopped"
    drug: str


def steroid_changes(ctx: Context) -> list[SteroidChange]:
    """Predniso(lo)ne/budesonide dose changes and stops, oldest first. A course start is not a
    change: the response checks (MON-03) cover induction."""
    changes = []
    for course in ctx.courses:
        if course.drug_class not in STEROID_CLASSES:
            continue
        for before, after in zip(course.doses, course.doses[1:], strict=False):
            if after.mg_per_day != before.mg_per_day:
                kind = "dose increase" if after.mg_per_day > before.mg_per_day else "dose decrease"
                changes.append(SteroidChange(after.on, kind, course.drug))
        if course.stopped_on is not None:
            changes.append(SteroidChange(course.stopped_on, "stopped", course.drug))
    return sorted(changes, key=lambda change: change.on)


def unmonitored_steroid_change(ctx: Context) -> SteroidChange | None:
    """The oldest steroid change with no ALT drawn after it (an ALT on the day of the change is the
    one the change was decided on, so it does not count)."""
    last_alt = ctx.last("alt")
    pending = [c for c in steroid_changes(ctx) if last_alt is None or last_alt.on <= c.on]
    return pending[0] if pending else None


def taper_items(ctx: Context) -> list[ScheduleItem]:
    # Off all treatment the post-withdrawal schedule (MON-05) takes over.
    if not _in_follow_up(ctx) or not ctx.on_treatment:
        return []
    change = unmonitored_steroid_change(ctx)
    if change is None:
        return []
    within = ctx.p("taper_alt_within_days")
    due = days_after(change.on, within)
    name = SHORT_NAME.get(change.drug, change.drug)
    label = f"{name} {change.kind} on {change.on.isoformat()}: ALT within {within} days"
    last_alt = ctx.last("alt")
    item = ScheduleItem(
        rule_id="MON-02",
        panel="ALT",
        analytes=("alt",),
        phase=label,
        phase_start=change.on,
        last_result=last_alt.on if last_alt else None,
        next_due=due,
        overdue_after=due,  # "within 30 d": no grace period
        severity_if_overdue=Severity.WARNING,
        restart_reason=change.kind,
    )
    return [item]


# -- MON-03: response-assessment bloods -----------------------------------------------------------


@dataclass(frozen=True)
class ResponseCheck:
    name: str  # "week-4" / "6-month"
    start: date
    end: date
    missing: tuple[str, ...]  # analytes not drawn in the window (so far)


def pending_response_check(ctx: Context) -> ResponseCheck | None:
    """The response check still waiting for ALT + IgG, if any.

    A check is done when ALT and IgG were both drawn in its window, or both were drawn after the
    window closed (late, but the bloods were taken). The week-4 check gives way once the 6-month
    window opens; the 6-month check stays until its bloods are taken. A check whose window has not
    opened yet is returned too: the recall list shows it as coming.
    """
    if not _in_follow_up(ctx) or not ctx.on_treatment:
        return None
    t0 = ctx.t0
    week_from, week_to = ctx.p("response_week4_window_days")
    month_from, month_to = ctx.p("response_month6_window_months")
    checks = (
        ("week-4", days_after(t0, week_from), days_after(t0, week_to)),
        ("6-month", months_after(t0, month_from), months_after(t0, month_to)),
    )
    for index, (name, start, end) in enumerate(checks):
        superseded = index + 1 < len(checks) and ctx.as_of >= checks[index + 1][1]
        if superseded:
            continue
        missing = tuple(code for code in RESPONSE_BLOODS if not ctx.window(code, start, end))
        caught_up = all(ctx.window(code, days_after(end, 1), ctx.as_of) for code in RESPONSE_BLOODS)
        if missing and not caught_up:
            return ResponseCheck(name, start, end, missing)
    return None


def response_items(ctx: Context) -> list[ScheduleItem]:
    check = pending_response_check(ctx)
    if check is None:
        return []
    label = f"{check.name} response check: ALT + IgG between {check.start.isoformat()} and {check.end.isoformat()}"
    item = ScheduleItem(
        rule_id="MON-03",
        panel="ALT+IgG",
        analytes=RESPONSE_BLOODS,
        phase=label,
        phase_start=check.start,
        last_result=ctx.panel_drawn(tuple((code,) for code in RESPONSE_BLOODS)).on,
        next_due=check.start,
        overdue_after=check.end,  # warning after the window's end, high 30 days later (MON-03)
        severity_if_overdue=Severity.WARNING,
        restart_reason="start",
        missing=tuple(((code,), (last.on if (last := ctx.last(code)) else None)) for code in check.missing),
    )
    return [item]


# -- MON-04: maintenance ALT and IgG ---------------------------------------------------------------


def maintenance_items(ctx: Context) -> list[ScheduleItem]:
    """ALT every 3 months and IgG every 6 months on therapy, counted from T0 when none since.

    On a thiopurine the ALT part is left to MON-01, whose LFT panel (ALT included) is at least as
    frequent and has its own grace period: the clinic gets one LFT schedule, not two.
    """
    if not _in_follow_up(ctx) or not ctx.on_treatment:
        return []
    parts = [("IgG", "igg", ctx.p("maintenance_igg_interval_days"))]
    if not ctx.active(DrugClass.THIOPURINE):
        parts.insert(0, ("ALT", "alt", ctx.p("maintenance_alt_interval_days")))
    items = []
    for panel, code, interval in parts:
        phase = Phase(ctx.t0, None, f"maintenance: {panel} {every(interval)}", interval, interval, Severity.WARNING)
        last = ctx.last(code)
        items.append(_item("MON-04", panel, (code,), (phase,), last.on if last else None))
    return items


# -- MON-05: after withdrawal -----------------------------------------------------------------------


def post_withdrawal_items(ctx: Context) -> list[ScheduleItem]:
    eras = ctx.treatment_eras
    if not _in_follow_up(ctx) or not eras or eras[-1][1] is None:
        return []
    stopped = eras[-1][1]
    intervals = ctx.p("post_withdrawal_intervals_days")
    first, second = ctx.p("post_withdrawal_phase_months")
    bounds = ((stopped, months_after(stopped, first)), (months_after(stopped, first), months_after(stopped, second)),
              (months_after(stopped, second), None))  # fmt: skip
    labels = (f"months 0–{first}", f"months {first}–{second}", f"after month {second}")
    phases = [
        Phase(start, end, f"after withdrawal, {label}: {every(interval)}", interval, interval, Severity.WARNING)
        for (start, end), label, interval in zip(bounds, labels, intervals, strict=True)
    ]
    last = ctx.last("alt")
    return [_item("MON-05", "ALT", ("alt",), phases, last.on if last else None, "treatment stopped")]


# -- MON-07: tacrolimus ------------------------------------------------------------------------------


def tacrolimus_analyte_items(ctx: Context) -> list[ScheduleItem]:
    """One item per analyte MON-07 asks for (trough, creatinine, potassium, glucose)."""
    courses = ctx.active_drug("tacrolimus")
    if not _in_follow_up(ctx) or not courses:
        return []
    start = max(course.started_on for course in courses)
    early, later = ctx.p("tacrolimus_interval_days")
    months = ctx.p("tacrolimus_early_months")
    switch = months_after(start, months)
    phases = (
        Phase(start, switch, f"tacrolimus months 0–{months}: {every(early)}", early, early, Severity.WARNING),
        Phase(switch, None, f"tacrolimus after month {months}: {every(later)}", later, later, Severity.WARNING),
    )
    items = []
    for code in TACROLIMUS_BLOODS:
        last = ctx.last(code)
        items.append(_item("MON-07", TEST_NAME[code], (code,), phases, last.on if last else None, "start"))
    return items


def tacrolimus_items(ctx: Context) -> list[ScheduleItem]:
    """The four tacrolimus bloods as one recall item, dated by the one due first."""
    items = tacrolimus_analyte_items(ctx)
    if not items:
        return []
    first = min(items, key=lambda item: (item.next_due, item.overdue_after))
    return [replace(first, panel="tacrolimus", analytes=TACROLIMUS_BLOODS)]


# -- MON-09: metabolites again after under-exposure ------------------------------------------------------

METABOLITES = ("tgn", "mmp")


def metabolite_repeat_items(ctx: Context) -> list[ScheduleItem]:
    """6-TGN and 6-MMP again 2-4 weeks after a draw that showed under-exposure (S004 Table 1: "low 6-TGN,
    low 6-MMPR ... repeat levels in 2-4 weeks"), while a thiopurine runs; a newer draw ends it.

    Under-exposure is TPM-01's pattern on the latest paired draw: 6-TGN below `tgn_low`, 6-MMP not high
    and the 6-MMP/6-TGN ratio not above its cut-off (otherwise it is preferential methylation).
    """
    if not _in_follow_up(ctx) or not [c for c in ctx.active(DrugClass.THIOPURINE) if not c.planned]:
        return []
    tgn, mmp = ctx.last("tgn"), ctx.last("mmp")
    if tgn is None or mmp is None or abs((tgn.on - mmp.on).days) > ctx.p("thiopurine_lab_pairing_days"):
        return []
    shunting = mmp.value > ctx.p("mmp_high") or (tgn.value and mmp.value / tgn.value > ctx.p("mmp_tgn_ratio_high"))
    if not tgn.value < ctx.p("tgn_low") or shunting:
        return []
    drawn = max(tgn.on, mmp.on)
    due, overdue = ctx.p("metabolite_repeat_after_underexposure_days")
    phase = Phase(drawn, None, f"after low 6-TGN with low 6-MMP: repeat in {due}-{overdue} days", due, overdue,
                  Severity.WARNING)  # fmt: skip
    return [_item("MON-09", "6-TGN/6-MMP", METABOLITES, (phase,), drawn, "under-exposure")]


# -- the recall list ------------------------------------------------------------------------------------


def _all_items(ctx: Context) -> list[ScheduleItem]:
    return [
        *thiopurine_items(ctx),
        *mmf_items(ctx),
        *taper_items(ctx),
        *response_items(ctx),
        *maintenance_items(ctx),
        *post_withdrawal_items(ctx),
        *tacrolimus_analyte_items(ctx),
        *metabolite_repeat_items(ctx),
    ]


@dataclass(frozen=True)
class Currency:
    """Whether the latest result of an analyte is current, and if not, why (for 'not evaluable')."""

    lab: Lab | None
    current: bool
    why_not: str = ""  # "last neutrophils is 130 days old", "no IgG on record"


def current_result(ctx: Context, code: str) -> Currency:
    """The one definition of "current": the latest result of `code` counts for a rule exactly while the
    schedule does not yet call that analyte overdue (its interval + grace, from that result's date).
    An analyte no schedule item asks for is current for `unscheduled_result_current_days`."""
    lab = ctx.last(code)
    name = ANALYTE_NAME.get(code, TEST_NAME.get(code, code))
    if lab is None:
        return Currency(None, False, f"no {name} on record")
    limits = []
    for item in _all_items(ctx):
        if code not in item.analytes:
            continue
        if item.phases:
            limits.append(project(max(lab.on, item.phases[0].start), item.phases)[3])
        elif lab.on < item.phase_start:
            # a window check (MON-02 after a steroid change, MON-03) that this result does not satisfy
            missing_codes = {c for group, _ in item.missing for c in group}
            if not item.missing or code in missing_codes:
                limits.append(item.overdue_after)
    if not limits:
        limits.append(days_after(lab.on, ctx.p("unscheduled_result_current_days")))
    if ctx.as_of <= min(limits):
        return Currency(lab, True)
    return Currency(lab, False, f"last {name} is {(ctx.as_of - lab.on).days} days old")


def monitoring_schedule(ctx: Context) -> list[ScheduleItem]:
    """Every panel currently required for this patient, soonest due first; one item per panel.

    Where two rules ask for the same panel, the one due first is kept; an ALT item due no earlier
    than the LFT panel is dropped (drawing the LFT panel draws the ALT).
    """
    items = [
        *thiopurine_items(ctx),
        *mmf_items(ctx),
        *taper_items(ctx),
        *response_items(ctx),
        *maintenance_items(ctx),
        *post_withdrawal_items(ctx),
        *tacrolimus_items(ctx),
        *metabolite_repeat_items(ctx),
    ]
    by_panel: dict[str, ScheduleItem] = {}
    for item in sorted(items, key=lambda item: (item.next_due, item.overdue_after)):
        by_panel.setdefault(item.panel, item)
    lft = by_panel.get("LFT")
    if lft and "ALT" in by_panel and by_panel["ALT"].next_due >= lft.next_due:
        del by_panel["ALT"]
    return sorted(by_panel.values(), key=lambda item: (item.next_due, item.panel))
