"""Treatment-withdrawal readiness (clinical-rules.md §2.10): WD-01..WD-04.

Defaults follow §0A A-6, the seeds' values (24 months of therapy, 12 months of CBR), not the
EASL 2015 values (36 / 24) the rule text names as its defaults; a clinic can set either.

`withdrawal_readiness(ctx)` lists every criterion with met / not met / unknown for the physician's
page. The alerts, one item per problem:
* WD-01 "eligible to discuss" when criteria (a)-(d) are all met and no recent biopsy shows activity;
* WD-02 favourable predictors and WD-03 the histology prompt, only for an eligible patient;
  a recent biopsy with HAI ≥ 4 makes WD-03 the single "not ready" item (WD-01/02 stay quiet);
* WD-04 lifelong maintenance, in place of WD-01, for a patient who would otherwise be a candidate
  (a and b met) but relapsed after a previous withdrawal. The spec's "or any WD-01 criterion unmet"
  is not an alert (it would fire for nearly every treated patient); the readiness list shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from monitoring.engine.response import IN_REMISSION, State
from monitoring.engine.schedule import current_result
from monitoring.engine.timeline import Biopsy, Lab
from monitoring.rules.base import (
    Context,
    Family,
    Finding,
    NotEvaluable,
    Severity,
    lab_evidence,
    months_after,
    rule,
)

WD_SOURCE = "S000, S001 (≥ 2 years and ≥ 12 months after normalisation); Hartl 2015 (E-v); §0A A-6"
HARTL = "Hartl et al., J Hepatol 2015;62:642-6 (E-v)"
# Relapse after withdrawal, as the response history names it: ALT > 2× ULN (probable) or ≥ 3× ULN.
# A loss of remission (ALT just above the ULN) is not counted as a relapse.
RELAPSE_STATES = (State.PROBABLE_RELAPSE, State.RELAPSE)

Criterion = tuple[str, bool | None, str]


@dataclass(frozen=True)
class Assessment:
    criteria: list[Criterion]
    therapy_start: date | None
    cbr_since: date | None
    relapses_after_withdrawal: list[date]
    alt: Lab | None
    igg: Lab | None
    biopsy: Biopsy | None  # the most recent within withdrawal_biopsy_recent_months

    def met(self, name: str) -> bool | None:
        return next(met for criterion, met, _ in self.criteria if criterion == name)

    @property
    def eligible(self) -> bool:
        """WD-01's criteria (a)-(d) all met."""
        return all(self.met(name) is True for name in WD01_CRITERIA)


WD01_CRITERIA = ("total_therapy", "sustained_cbr", "no_relapse_after_withdrawal", "not_pregnant")


# -- the criteria -------------------------------------------------------------------------------


def _total_therapy(ctx: Context) -> Criterion:
    months = ctx.p("withdrawal_min_total_months")
    if not ctx.on_treatment:
        return "total_therapy", False, "not on treatment"
    reached = months_after(ctx.t0, months)
    met = ctx.as_of >= reached
    return "total_therapy", met, f"on therapy since {ctx.t0.isoformat()} ({months} months on {reached.isoformat()})"


def _cbr_since(ctx: Context) -> date | None:
    """Start of the current complete biochemical response / remission (response history), or None."""
    history = ctx.response
    return history.since if history.current in IN_REMISSION else None


def _all_normal_since(ctx: Context, since: date) -> bool | None:
    """Every ALT, AST and IgG from `since` on is ≤ ULN (None if a result has no ULN)."""
    verdicts = [ctx.is_normal(lab) for code in ("alt", "ast", "igg") for lab in ctx.window(code, since, ctx.as_of)]
    if any(v is False for v in verdicts):
        return False
    return None if any(v is None for v in verdicts) else True


def _sustained_cbr(ctx: Context) -> tuple[Criterion, Lab | None, Lab | None]:
    months = ctx.p("withdrawal_min_cbr_months")
    alt, igg = ctx.last("alt"), ctx.last("igg")
    # "Sustained" needs current evidence: ALT and IgG the schedule does not call overdue (current_result).
    stale = [c.why_not for c in (current_result(ctx, "alt"), current_result(ctx, "igg")) if not c.current]
    since = _cbr_since(ctx)
    if since is None:
        return ("sustained_cbr", False, "not in complete biochemical response"), alt, igg
    normal = _all_normal_since(ctx, since)
    if normal is False:
        return ("sustained_cbr", False, "an ALT, AST or IgG above the ULN since remission"), alt, igg
    reached = months_after(since, months)
    detail = f"in CBR since {since.isoformat()} ({months} months on {reached.isoformat()})"
    if ctx.as_of < reached:
        return ("sustained_cbr", False, detail), alt, igg
    if stale or normal is None:
        return ("sustained_cbr", None, "; ".join(stale) or "a result without a ULN"), alt, igg
    return ("sustained_cbr", True, detail), alt, igg


def relapses_after_withdrawal(ctx: Context) -> list[date]:
    """Recorded relapses after withdrawal, and relapses the response history saw after an off-treatment spell."""
    dates = {r.on for r in ctx.t.relapses if r.kind == "after_withdrawal"}
    off_treatment = False
    for change in ctx.response.changes:
        if change.state == State.OFF_TREATMENT:
            off_treatment = True
        elif change.state == State.INDUCTION:
            off_treatment = False
        elif off_treatment and change.state in RELAPSE_STATES:
            dates.add(change.on)
            off_treatment = False  # one relapse per withdrawal
    return sorted(dates)


def _pregnancy(ctx: Context) -> Criterion:
    if ctx.is_pregnant():
        return "not_pregnant", False, "pregnant"
    if ctx.plans_pregnancy():
        return "not_pregnant", False, "planning a pregnancy"
    return "not_pregnant", True, "not pregnant, no pregnancy planned"


def _recent_biopsy(ctx: Context) -> Biopsy | None:
    since = months_after(ctx.as_of, -ctx.p("withdrawal_biopsy_recent_months"))
    recent = [b for b in ctx.t.biopsies if b.on >= since]
    return recent[-1] if recent else None


def _favourable(ctx: Context, alt: Lab | None, igg: Lab | None) -> Criterion:
    alt_limit, igg_limit = ctx.p("withdrawal_favourable_alt_uln"), ctx.p("withdrawal_favourable_igg_max")
    if alt is None or igg is None or not alt.uln:
        return "favourable_predictors", None, "needs the latest ALT (with its ULN) and IgG"
    fold = alt.value / alt.uln
    met = round(fold, 9) < alt_limit and igg.value <= igg_limit
    return (
        "favourable_predictors",
        met,
        f"ALT {alt.value:g} = {fold:.2f}× ULN (favourable < {alt_limit:g}×), IgG {igg.value:g} g/L "
        f"(favourable ≤ {igg_limit:g})",
    )


def _histology(ctx: Context, biopsy: Biopsy | None) -> Criterion:
    below = ctx.p("histological_remission_hai_below")
    months = ctx.p("withdrawal_biopsy_recent_months")
    if biopsy is None:
        return "histology", None, f"no liver biopsy in the last {months} months"
    if biopsy.hai is None:
        return "histology", None, f"biopsy on {biopsy.on.isoformat()} has no HAI recorded"
    met = biopsy.hai < below
    state = "histological remission" if met else "not in histological remission"
    return "histology", met, f"biopsy on {biopsy.on.isoformat()}: HAI {biopsy.hai}/18 ({state}; remission < {below})"


def assess(ctx: Context) -> Assessment:
    cbr, alt, igg = _sustained_cbr(ctx)
    relapses = relapses_after_withdrawal(ctx)
    no_relapse: Criterion = (
        "no_relapse_after_withdrawal",
        not relapses,
        f"relapse after withdrawal on {', '.join(d.isoformat() for d in relapses)}"
        if relapses
        else "no relapse after a previous withdrawal",
    )
    biopsy = _recent_biopsy(ctx)
    criteria = [
        _total_therapy(ctx),
        cbr,
        no_relapse,
        _pregnancy(ctx),
        _favourable(ctx, alt, igg),
        _histology(ctx, biopsy),
    ]
    return Assessment(criteria, ctx.t0 if ctx.on_treatment else None, _cbr_since(ctx), relapses, alt, igg, biopsy)


def withdrawal_readiness(ctx: Context) -> list[Criterion]:
    """(criterion, met: True / False / None = unknown, detail) for the physician's page.

    Criteria (a)-(d) of WD-01 (total_therapy, sustained_cbr, no_relapse_after_withdrawal, not_pregnant),
    then favourable_predictors (WD-02) and histology (WD-03).
    """
    return assess(ctx).criteria


def _histology_active(ctx: Context, assessment: Assessment) -> bool:
    biopsy = assessment.biopsy
    return biopsy is not None and biopsy.hai is not None and biopsy.hai >= ctx.p("histological_remission_hai_below")


def _evidence(assessment: Assessment) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "criteria": [{"criterion": name, "met": met, "detail": detail} for name, met, detail in assessment.criteria],
        "therapy_start": assessment.therapy_start.isoformat() if assessment.therapy_start else None,
        "cbr_since": assessment.cbr_since.isoformat() if assessment.cbr_since else None,
    }
    if assessment.alt is not None:
        evidence["alt"] = lab_evidence("alt", assessment.alt)
    if assessment.igg is not None:
        evidence["igg"] = lab_evidence("igg", assessment.igg)
    return evidence


# -- the rules ----------------------------------------------------------------------------------


@rule("WD-01", family=Family.WITHDRAWAL, title="Candidate for a withdrawal discussion", source=WD_SOURCE)
def withdrawal_candidate(ctx: Context):
    if not ctx.on_treatment:
        return None
    assessment = assess(ctx)
    if assessment.met("total_therapy") and assessment.met("sustained_cbr") is None:
        # In remission long enough on paper, but the latest ALT / IgG are too old to say it is sustained.
        return NotEvaluable("WD-01", next(d for c, _, d in assessment.criteria if c == "sustained_cbr"))
    if not assessment.eligible or _histology_active(ctx, assessment):
        return None
    # Dates rather than month counts: the stored alert does not change every month (horizon.py).
    return Finding(
        "WD-01",
        Severity.INFO,
        f"Eligible to discuss treatment withdrawal: on therapy since {assessment.therapy_start.isoformat()}, in "
        f"complete biochemical response since {assessment.cbr_since.isoformat()}.",
        _evidence(assessment),
        "Discuss withdrawal with the patient; see the favourable predictors (WD-02) and the histology prompt "
        "(WD-03). If withdrawn, monitor ALT closely for 12 months (REL-03).",
        WD_SOURCE,
        {},
    )


@rule("WD-02", family=Family.WITHDRAWAL, title="Favourable predictors for withdrawal", source=HARTL)
def favourable_predictors(ctx: Context):
    if not ctx.on_treatment:
        return None
    assessment = assess(ctx)
    if not assessment.eligible or _histology_active(ctx, assessment) or not assessment.met("favourable_predictors"):
        return None
    alt = assessment.alt
    return Finding(
        "WD-02",
        Severity.INFO,
        f"Favourable for withdrawal: ALT {alt.value / alt.uln:.2f}× ULN (below "
        f"{ctx.p('withdrawal_favourable_alt_uln'):g}×) and IgG {assessment.igg.value:g} g/L "
        f"(at most {ctx.p('withdrawal_favourable_igg_max'):g}).",
        {"alt": lab_evidence("alt", alt), "igg": lab_evidence("igg", assessment.igg)},
        "Favourable predictors of staying in remission after withdrawal; mention them in the discussion.",
        HARTL + " (all patients who stayed in remission had ALT < ½ ULN and IgG ≤ 12 g/L)",
        {},
    )


@rule("WD-03", family=Family.WITHDRAWAL, title="Histology before withdrawal", source="S001")
def histology_prompt(ctx: Context):
    if not ctx.on_treatment:
        return None
    assessment = assess(ctx)
    if not assessment.eligible:
        return None
    biopsy = assessment.biopsy
    _, _, detail = next(c for c in assessment.criteria if c[0] == "histology")
    evidence = {"biopsy": detail, "biopsy_date": biopsy.on.isoformat() if biopsy else None}
    if _histology_active(ctx, assessment):
        return Finding(
            "WD-03",
            Severity.INFO,
            f"Not ready to withdraw: liver biopsy on {biopsy.on.isoformat()} shows HAI {biopsy.hai}/18 "
            "(not in histological remission).",
            {**evidence, "hai": biopsy.hai},
            "Continue treatment; reassess later (S001: 55% of patients with normal enzymes may still have "
            "interface hepatitis).",
            "S001; IAIHG 2022 (histological remission HAI < 4/18, E-v)",
            {},
        )
    if not ctx.p("withdrawal_biopsy_prompt"):
        return None
    below = ctx.p("histological_remission_hai_below")
    if biopsy is None:
        months = ctx.p("withdrawal_biopsy_recent_months")
        message = f"Eligible for withdrawal but no liver biopsy in the last {months} months."
        action = f"Offer a liver biopsy before stopping treatment; HAI ≥ {below}/18 means not ready."
    elif biopsy.hai is None:
        message = f"Eligible for withdrawal: the biopsy of {biopsy.on.isoformat()} has no HAI recorded."
        action = f"Record the biopsy's HAI (histological remission is HAI < {below}/18)."
    else:
        return None  # recent biopsy in histological remission
    return Finding(
        "WD-03",
        Severity.INFO,
        message,
        evidence,
        action,
        "S001 (biopsy before terminating treatment); A-6 (whether a biopsy is mandatory differs between guidelines)",
        {},
    )


@rule("WD-04", family=Family.WITHDRAWAL, title="Lifelong maintenance after relapse", source="S001")
def lifelong_maintenance(ctx: Context):
    if not ctx.on_treatment:
        return None
    assessment = assess(ctx)
    # Replaces WD-01 when the question comes up: long enough on therapy and in sustained remission.
    if not (assessment.met("total_therapy") and assessment.met("sustained_cbr")):
        return None
    if not assessment.relapses_after_withdrawal:
        return None
    relapses = assessment.relapses_after_withdrawal
    last = relapses[-1]
    return Finding(
        "WD-04",
        Severity.INFO,
        f"Not a withdrawal candidate: relapsed after a previous withdrawal ({last.isoformat()}); plan lifelong "
        "maintenance.",
        {
            **_evidence(assessment),
            "relapses_after_withdrawal": [d.isoformat() for d in relapses],
            "count": len(relapses),
        },
        "Continue long-term maintenance at the lowest effective dose (S001: after more than one relapse, AZA "
        "2 mg/kg/day maintains remission in 87%).",
        "S001; Digestive Diseases 2015 review (E-v abstract): lifelong maintenance after relapse following withdrawal",
        {},
    )
