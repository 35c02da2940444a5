"""Monitoring labs due / overdue (clinical-rules.md §2.2): MON-01..MON-08, and OTH-01/OTH-02 (§2.12).

The schedule itself lives in monitoring/engine/schedule.py (the nurses' recall list); these rules turn
its items into alerts. One alert per patient-problem: where two rules ask for the same bloods,
the more specific one reports and the general one (MON-04) leaves that part out:
* MON-01's LFT panel covers ALT on a thiopurine, so MON-04 then watches IgG only;
* an ALT missing after a steroid change is MON-02's, and ALT/IgG missing at a response check
  is MON-03's; MON-04 leaves those out;
* MON-02 stays quiet while MON-01 already reports the LFT panel overdue.
"""

from __future__ import annotations

from datetime import date

from monitoring.engine.schedule import (
    OVERDUE,
    TEST_NAME,
    ScheduleItem,
    antimetabolite_courses,
    drug_label,
    maintenance_items,
    mmf_items,
    pending_response_check,
    post_withdrawal_items,
    restart,
    tacrolimus_analyte_items,
    taper_items,
    thiopurine_items,
)
from monitoring.rules.base import Context, Family, Finding, NotEvaluable, Severity, days_after, lab_evidence, rule
from regimens.catalogue import DrugClass

S004_SCHEDULE = (
    "S004 (citing AASLD 2019 and EASL 2025): every 1-2 weeks for 4-8 weeks, monthly to 3-6 months, then quarterly"
)


def _last_and_due(item: ScheduleItem) -> str:
    """'last 2026-07-01, due 2026-10-01': dates only, so the text does not change from one day to the
    next (the alert would be rewritten every night); the days since are counted when it is shown."""
    last = f"last {item.last_result.isoformat()}" if item.last_result else "none on record"
    return f"{last}, due {item.next_due.isoformat()}"


def _panel_state(item: ScheduleItem, on: date) -> str:
    """'FBC overdue: platelets missing since 3 Jan 2026 (last 2025-01-03, due 2025-04-05)'."""
    missing = f": {item.missing_text}" if item.missing else ""
    return f"{item.panel} {item.state(on)}{missing} ({_last_and_due(item)})"


def _panel_alert(ctx: Context, rule_id: str, items: list[ScheduleItem], source: str) -> Finding | None:
    """One finding for a drug's safety bloods, at the worse of its panels' states."""
    graded = [(item, item.severity(ctx.as_of)) for item in items]
    alerting = [(item, severity) for item, severity in graded if severity is not None]
    if not alerting:
        return None
    severity = max(severity for _, severity in alerting)
    state = "overdue" if any(item.state(ctx.as_of) == OVERDUE for item, _ in alerting) else "due"
    parts = "; ".join(_panel_state(item, ctx.as_of) for item, _ in alerting)
    phase = alerting[0][0].phase
    courses = antimetabolite_courses(ctx, rule_id)
    d0, reason = restart(courses)
    panels = " and ".join(item.panel for item in items)
    return Finding(
        rule_id,
        severity,
        f"{drug_label(courses)} safety bloods {state}: {parts}. Schedule: {phase}.",
        {
            "schedule_start": d0.isoformat(),
            "restart_reason": reason,
            "panels": [item.evidence(ctx.as_of) for item in items],
        },
        f"Draw {panels} now"
        + (
            " (within days: marrow and liver toxicity show mostly in the first weeks)"
            if severity >= Severity.HIGH
            else ""
        )
        + "; review the results before the next prescription.",
        source,
        {},
    )


@rule("MON-01", family=Family.MONITORING, title="Thiopurine safety bloods (FBC + LFT)", source="S004; §0A A-10")
def thiopurine_bloods(ctx: Context):
    return _panel_alert(ctx, "MON-01", thiopurine_items(ctx), S004_SCHEDULE + "; §0A A-10 (restart and grace: design)")


@rule("MON-06", family=Family.MONITORING, title="MMF bloods (FBC)", source="MMF label (E-m)")
def mmf_bloods(ctx: Context):
    return _panel_alert(ctx, "MON-06", mmf_items(ctx), "MMF label (E-m): CBC weekly in month 1, twice monthly in "
                        "months 2-3, then monthly to 1 year; MON-01 phases")  # fmt: skip


def _lft_overdue_on_thiopurine(ctx: Context) -> bool:
    return any(item.panel == "LFT" and item.state(ctx.as_of) == OVERDUE for item in thiopurine_items(ctx))


def _taper_alt_overdue(ctx: Context) -> ScheduleItem | None:
    items = taper_items(ctx)
    return items[0] if items and items[0].state(ctx.as_of) == OVERDUE else None


@rule("MON-02", family=Family.MONITORING, title="ALT during steroid taper", source="S001")
def taper_alt(ctx: Context):
    # Judged once the 30 days after the change have passed without an ALT (not while still pending).
    item = _taper_alt_overdue(ctx)
    if item is None or _lft_overdue_on_thiopurine(ctx):
        return None
    within = ctx.p("taper_alt_within_days")
    last_alt = ctx.last("alt")
    return Finding(
        "MON-02",
        Severity.WARNING,
        f"No ALT since the steroid {item.restart_reason} on {item.phase_start.isoformat()} "
        f"(ALT expected within {within} days, by {item.overdue_after.isoformat()}).",
        {
            "change": item.phase.split(":")[0],
            "change_date": item.phase_start.isoformat(),
            "alt_due_by": item.overdue_after.isoformat(),
            "last_alt": lab_evidence("alt", last_alt) if last_alt else None,
        },
        "Draw ALT now: small steroid decrements can trigger marked rises (flare).",
        'S001 ("monitor serum aminotransferase levels monthly, as small decrements in prednisone dose can '
        'trigger marked increases")',
        {},
    )


def _response_labs_overdue(ctx: Context):
    check = pending_response_check(ctx)
    return check if check is not None and ctx.as_of > check.end else None


@rule("MON-03", family=Family.MONITORING, title="Response-assessment labs", source="IAIHG 2022 time points (E-v)")
def response_labs(ctx: Context):
    check = _response_labs_overdue(ctx)
    if check is None:
        return None
    escalate = ctx.p("response_labs_escalate_days")
    severity = Severity.HIGH if ctx.as_of > days_after(check.end, escalate) else Severity.WARNING
    missing = " or ".join(TEST_NAME[code] for code in check.missing)
    return Finding(
        "MON-03",
        severity,
        f"The {check.name} response bloods were missed: no {missing} between {check.start.isoformat()} and "
        f"{check.end.isoformat()}.",
        {
            "check": check.name,
            "treatment_start": ctx.t0.isoformat(),
            "window": [check.start.isoformat(), check.end.isoformat()],
            "missing": [TEST_NAME[code] for code in check.missing],
            "high_after": days_after(check.end, escalate).isoformat(),
        },
        "Draw ALT and IgG now so the response to treatment can be assessed (RESP-01 / RESP-02).",
        "IAIHG 2022 time points (Pape et al., J Hepatol 2022;76:841) (E-v)",
        {},
    )


@rule("MON-04", family=Family.MONITORING, title="Maintenance monitoring (ALT, IgG)", source="S004; proposal (E-m)")
def maintenance_labs(ctx: Context):
    overdue = [item for item in maintenance_items(ctx) if item.state(ctx.as_of) == OVERDUE]
    if not overdue:
        return None
    # One item per problem: leave out what a more specific rule already reports.
    taken = set()
    if _taper_alt_overdue(ctx) and not _lft_overdue_on_thiopurine(ctx):
        taken.add("alt")
    if (check := _response_labs_overdue(ctx)) is not None:
        taken.update(check.missing)
    overdue = [item for item in overdue if item.analytes[0] not in taken]
    if not overdue:
        return None
    parts = "; ".join(f"{item.panel} ({_last_and_due(item)}, {item.phase.split(': ')[1]})" for item in overdue)
    return Finding(
        "MON-04",
        Severity.WARNING,
        f"Maintenance bloods overdue: {parts}.",
        {"tests": [item.evidence(ctx.as_of) for item in overdue], "treatment_start": ctx.t0.isoformat()},
        "Draw " + " and ".join(item.panel for item in overdue) + " at the next opportunity.",
        "S004 (quarterly LFT); 6-monthly IgG is a proposal (E-m)",
        {},
    )


@rule("MON-05", family=Family.MONITORING, title="Post-withdrawal surveillance", source="S001; proposal (E-m)")
def post_withdrawal_labs(ctx: Context):
    items = post_withdrawal_items(ctx)
    if not items or items[0].state(ctx.as_of) != OVERDUE:
        return None
    item = items[0]
    stopped = ctx.treatment_eras[-1][1]
    return Finding(
        "MON-05",
        Severity.WARNING,
        f"ALT overdue after stopping treatment ({_last_and_due(item)}); schedule: {item.phase}.",
        {"treatment_stopped": stopped.isoformat(), "alt": item.evidence(ctx.as_of)},
        "Draw ALT (and IgG) now: 50-90% relapse within 12 months of stopping.",
        "S001 (50-90% relapse within 12 months of stopping); intervals a proposal (E-m)",
        {},
    )


@rule("MON-07", family=Family.MONITORING, title="Tacrolimus bloods", source="E-m")
def tacrolimus_labs(ctx: Context):
    items = tacrolimus_analyte_items(ctx)
    overdue = [item for item in items if item.state(ctx.as_of) == OVERDUE]
    if not overdue:
        return None
    parts = "; ".join(f"{item.panel} ({_last_and_due(item)})" for item in overdue)
    # The spec gives MON-07 no severity; warning, like the other overdue-bloods rules (design).
    return Finding(
        "MON-07",
        Severity.WARNING,
        f"Tacrolimus bloods overdue: {parts}; schedule: {overdue[0].phase}.",
        {"tests": [item.evidence(ctx.as_of) for item in overdue]},
        "Draw a tacrolimus trough (before the morning dose), creatinine, potassium and glucose.",
        "Target from S004 (citing EASL 2025); monitoring intervals E-m",
        {},
    )


@rule("OTH-01", family=Family.OTHER, title="Tacrolimus trough outside target", source="S004 (citing EASL 2025)")
def tacrolimus_trough(ctx: Context):
    courses = ctx.active_drug("tacrolimus")
    trough = ctx.last("tacrolimus")
    if not courses or trough is None or trough.on < min(c.started_on for c in courses):
        return None
    low, high = ctx.p("tacrolimus_trough_range")
    if low <= trough.value <= high:
        return None
    where = "below" if trough.value < low else "above"
    return Finding(
        "OTH-01",
        Severity.WARNING,
        f"Tacrolimus trough {trough.value:g} ng/mL is {where} the {low:g}-{high:g} ng/mL target.",
        {"trough": lab_evidence("tacrolimus", trough), "target": [low, high]},
        "Check the sample was a true trough and for interacting drugs; adjust the tacrolimus dose with the "
        "prescriber and repeat the level.",
        "S004 (citing EASL 2025); starting dose 0.075 mg/kg/day, S001",
        {},
    )


@rule("OTH-02", family=Family.OTHER, title="MMF dose outside 1-2 g/day", source="S001")
def mmf_dose(ctx: Context):
    # Mycophenolic acid (enteric-coated sodium salt, 720 mg ≈ 1 g MMF) has other doses: MMF only.
    courses = ctx.active_drug("mycophenolate_mofetil")
    if not courses:
        return None
    course = max(courses, key=lambda c: c.started_on)
    dose = course.dose_on(ctx.as_of)
    if dose is None:
        return NotEvaluable("OTH-02", "MMF dose not recorded")
    low, high = ctx.p("mmf_dose_range_mg")
    if low <= dose <= high:
        return None
    where = "below" if dose < low else "above"
    return Finding(
        "OTH-02",
        Severity.INFO,
        f"MMF {dose:g} mg/day is {where} the usual {low:g}-{high:g} mg/day.",
        {"dose_mg_per_day": dose, "course_start": course.started_on.isoformat(), "planned": course.planned,
         "range_mg_per_day": [low, high]},
        "Check the MMF dose: start 1 g/day, maintenance 1.5-2 g/day.",
        "S001",
        {},
    )  # fmt: skip


def _metabolite_changes(ctx: Context) -> list[tuple[date, str]]:
    """Thiopurine starts and dose changes, and xanthine-oxidase inhibitor starts."""
    changes = []
    for course in ctx.courses:
        if course.drug_class == DrugClass.THIOPURINE:
            changes.append((course.started_on, f"{course.drug} start"))
            for before, after in zip(course.doses, course.doses[1:], strict=False):
                if after.mg_per_day != before.mg_per_day:
                    changes.append((after.on, f"{course.drug} dose change"))
        elif course.drug_class == DrugClass.XANTHINE_OXIDASE_INHIBITOR:
            changes.append((course.started_on, f"{course.drug} start"))
    return changes


@rule("MON-08", family=Family.MONITORING, title="Thiopurine metabolite timing", source="E-m; §0A A-15")
def metabolite_timing(ctx: Context):
    drawn = ctx.last_of_panel(("tgn", "mmp"))
    if drawn is None or not ctx.active(DrugClass.THIOPURINE):
        return None
    steady = ctx.p("metabolite_steady_state_days")
    # A change on the day of the draw came after the sample (results guide the dose): only earlier ones.
    recent = [(on, what) for on, what in _metabolite_changes(ctx) if 0 < (drawn - on).days < steady]
    if not recent:
        return None
    on, what = max(recent)
    results = [lab_evidence(code, lab) for code in ("tgn", "mmp") if (lab := ctx.last(code)) and lab.on == drawn]
    return Finding(
        "MON-08",
        Severity.INFO,
        f"Metabolites drawn {(drawn - on).days} days after the {what.replace('_', ' ')} "
        f"({on.isoformat()}): not at steady state, interpret with caution.",
        {"results": results, "change": what, "change_date": on.isoformat(), "days_after_change": (drawn - on).days},
        f"Interpret with caution; repeat at least {steady} days after the change if the result guides the dose.",
        "E-m (6-TGN steady state ≈ 4 weeks); LabCorp: equilibrium in 3-6 months (E-v); §0A A-15",
        {},
    )
