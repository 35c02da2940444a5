"""Response and relapse (clinical-rules.md §2.1 and §2.11): RESP-01..06, REL-01..03."""

from __future__ import annotations

from monitoring.engine.formulas import is_above, is_at_or_above
from monitoring.engine.response import IN_REMISSION, State, week4_fall
from monitoring.rules.base import (
    Context,
    Family,
    Finding,
    NotEvaluable,
    Severity,
    days_after,
    lab_evidence,
    months_after,
    rule,
)
from monitoring.rules.treatment_choice import adherence_qualifier

IAIHG = "IAIHG 2022 (Pape et al., J Hepatol 2022;76:841-849)"


@rule("RESP-01", family=Family.RESPONSE, title="Non-response at 4 weeks", source=IAIHG)
def non_response_at_4_weeks(ctx: Context):
    t0 = ctx.t0
    # The week-4 question matters until the 6-month assessment (RESP-02) supersedes it.
    if not ctx.on_treatment or ctx.as_of < days_after(t0, 21):
        return None
    if ctx.as_of >= months_after(t0, ctx.p("cbr_deadline_months")):
        return None
    fall = week4_fall(ctx, t0)
    if fall is None:
        baselines = [ctx.last(code, t0) for code in ("alt", "ast")]
        if not any(lab and lab.on >= days_after(t0, -14) for lab in baselines):
            return NotEvaluable("RESP-01", "no ALT or AST in the 14 days before treatment started")
        return None  # MON-03 asks for the missing week-4 bloods
    code, fraction, baseline, week4 = fall
    if fraction >= ctx.p("nonresponse_min_fall"):
        return None
    if ctx.response.ever(*IN_REMISSION, after=t0):
        return None  # a slow start that has since reached a complete response is no longer non-response
    return Finding(
        "RESP-01",
        Severity.HIGH,
        f"Non-response: {code.upper()} fell only {fraction:.0%} by week 4 (less than 50%).",
        {"baseline": lab_evidence(code, baseline), "week_4": lab_evidence(code, week4), "fall": round(fraction, 3),
         "treatment_start": t0.isoformat()},
        "Check adherence first. Reconsider the diagnosis (DILI, viral, Wilson's, variant syndrome); consider AZA "
        "hepatotoxicity if AZA was started (HEP-01). Discuss dose optimisation or escalation with a specialist.",
        IAIHG + "; S001 (improvement within 2 weeks, assess at 4-8 weeks)",
        {},
    )  # fmt: skip


@rule("RESP-02", family=Family.RESPONSE, title="Insufficient response at 6 months", source=IAIHG)
def insufficient_response(ctx: Context):
    t0 = ctx.t0
    if not ctx.on_treatment:
        return None
    checkpoint = months_after(t0, ctx.p("cbr_deadline_months"))
    if ctx.as_of < checkpoint:
        return None
    window_start, window_end = months_after(t0, 5), months_after(t0, 7)
    last_day = min(ctx.as_of, window_end)
    labs = {code: ctx.last(code, last_day) for code in ("alt", "ast", "igg")}
    labs = {code: lab for code, lab in labs.items() if lab is not None and lab.on >= window_start}
    if "alt" not in labs or "igg" not in labs:
        return NotEvaluable("RESP-02", "no ALT and IgG between months 5 and 7 of treatment (see MON-03)")
    abnormal = {code: lab for code, lab in labs.items() if ctx.is_normal(lab) is False}
    if not abnormal:
        return None
    history = ctx.response
    if history.ever(*IN_REMISSION, after=t0):
        # Normal at some point of this course (before the check: a complete response since lost is
        # REL-01's loss of remission; after it: a late remission). Either way not an insufficient response.
        return None
    adherence, advice, adherence_evidence = adherence_qualifier(ctx, t0)
    return Finding(
        "RESP-02",
        Severity.HIGH,
        "Insufficient response (IAIHG): "
        + " and ".join(f"{lab_evidence(code, lab)['test']} above normal" for code, lab in abnormal.items())
        + f" {ctx.p('cbr_deadline_months')} months after starting treatment. "
        + adherence,
        {"treatment_start": t0.isoformat(), "results": [lab_evidence(code, lab) for code, lab in labs.items()]}
        | adherence_evidence,
        "Check thiopurine metabolites (TPM rules) and intolerance. " + advice,
        IAIHG + '; S001, S004 (treatment failure "despite full adherence")',
        {},
    )


@rule("RESP-04", family=Family.RESPONSE, title="No early improvement at 2 weeks", source="S001")
def no_improvement_at_2_weeks(ctx: Context):
    t0 = ctx.t0
    if not ctx.on_treatment or not days_after(t0, 10) <= ctx.as_of <= days_after(t0, 42):
        return None
    baseline = ctx.last("alt", t0)
    if baseline is None or baseline.on < days_after(t0, -14):
        return None
    early = ctx.window("alt", days_after(t0, 10), days_after(t0, 18))
    if not early or early[-1].value < baseline.value:
        return None
    severity = Severity.HIGH if ctx.in_acute_episode() else Severity.INFO
    return Finding(
        "RESP-04",
        severity,
        "No early improvement: ALT has not fallen in the first 2 weeks.",
        {"baseline": lab_evidence("alt", baseline), "day_10_18": lab_evidence("alt", early[-1])},
        "Review at the 4-week assessment; check adherence. In acute severe AIH see the ASA rules.",
        'S001 ("should improve within 2 weeks")',
        {},
    )


@rule("RESP-05", family=Family.RESPONSE, title="Prolonged therapy without remission", source="S000")
def prolonged_therapy_without_remission(ctx: Context):
    if not ctx.on_treatment:
        return None
    history = ctx.response
    if history.ever(State.COMPLETE_RESPONSE, State.REMISSION, after=ctx.t0):
        return None
    age = ctx.t.age_on(ctx.as_of)
    # The spec gives 24 months at age ≥ 60 and 36 at age ≤ 40; ages between take the longer limit.
    months = ctx.p("prolonged_therapy_months_older") if age >= 60 else ctx.p("prolonged_therapy_months_younger")
    if ctx.as_of <= months_after(ctx.t0, months):
        return None
    return Finding(
        "RESP-05",
        Severity.INFO,
        f"More than {months} months of therapy without biochemical remission.",
        {"treatment_start": ctx.t0.isoformat(), "age": age, "months_limit": months},
        "Consider long-term maintenance at the lowest dose that controls activity, or second-line therapy.",
        "S000 (continuous therapy > 3 years without resolution: cirrhosis 54%, transplantation 15%); "
        "AASLD 2002/2010 (E-m)",
        {},
    )


@rule(
    "RESP-06",
    family=Family.ADHERENCE,
    title="Adherence assessment before escalating",
    source="S004",
    after_others=True,
)
def adherence_prompt(ctx: Context):
    triggers = sorted({f.rule_id for f in ctx.findings} & {"RESP-01", "RESP-02", "REL-02", "TPM-01"})
    if not triggers:
        return None
    recent = days_after(ctx.as_of, -ctx.p("adherence_assessment_recent_days"))
    assessed = [a for a in ctx.t.adherence if a.on >= recent]
    if assessed:
        return None
    return Finding(
        "RESP-06",
        Severity.INFO,
        "Assess adherence before escalating treatment.",
        {"because_of": triggers},
        "Structured adherence assessment (self-report, pill count, refill record, metabolites).",
        "S004 (47% non-adherent in one study)",
        {},
    )


def _previously_in_remission(ctx: Context, before) -> bool:
    return any(c.state in IN_REMISSION and c.on < before for c in ctx.response.changes)


def _within_post_withdrawal_watch(ctx: Context) -> bool:
    eras = ctx.treatment_eras
    if not eras or eras[-1][1] is None:
        return False
    return ctx.as_of <= months_after(eras[-1][1], 12)


@rule("REL-01", family=Family.RESPONSE, title="Loss of remission", source="Hartl et al., J Hepatol 2015;62:642")
def loss_of_remission(ctx: Context):
    alt, igg = ctx.last("alt"), ctx.last("igg")
    abnormal = [(code, lab) for code, lab in (("alt", alt), ("igg", igg)) if lab and ctx.is_normal(lab) is False]
    if not abnormal:
        return None
    first_abnormal = min(lab.on for _, lab in abnormal)
    if not _previously_in_remission(ctx, first_abnormal):
        return None
    # One item per problem: a relapse-level ALT is REL-02's, and after withdrawal REL-03 watches.
    if alt and alt.uln and is_above(alt.value, alt.uln, ctx.p("probable_relapse_uln_multiple")):
        return None
    if _within_post_withdrawal_watch(ctx):
        return None
    confirm_from, confirm_to = ctx.p("loss_of_remission_confirm_days")
    confirmed = False
    for code, lab in abnormal:
        earlier = ctx.last(code, days_after(lab.on, -1))
        if earlier and ctx.is_normal(earlier) is False and confirm_from <= (lab.on - earlier.on).days <= confirm_to:
            confirmed = True
    return Finding(
        "REL-01",
        Severity.HIGH if confirmed else Severity.WARNING,
        "Loss of remission: "
        + " and ".join(f"{lab_evidence(code, lab)['test']} above normal" for code, lab in abnormal)
        + (" on two tests" if confirmed else "")
        + ".",
        {"results": [lab_evidence(code, lab) for code, lab in abnormal], "confirmed_on_repeat": confirmed},
        "Repeat the test, check adherence, look for other causes (alcohol, DILI, viral, AZA toxicity).",
        "Hartl et al., J Hepatol 2015;62:642-6 (E-v)",
        {},
    )


@rule("REL-02", family=Family.RESPONSE, title="Relapse", source="clinical-rules.md §1 and A-7")
def relapse(ctx: Context):
    alt = ctx.last("alt")
    if alt is None or not alt.uln:
        return None
    if not _previously_in_remission(ctx, alt.on) or _within_post_withdrawal_watch(ctx):
        return None
    if is_at_or_above(alt.value, alt.uln, ctx.p("relapse_uln_multiple")):
        label = "Relapse"
    elif is_above(alt.value, alt.uln, ctx.p("probable_relapse_uln_multiple")):
        label = "Probable relapse"
    else:
        return None
    return Finding(
        "REL-02",
        Severity.HIGH,
        f"{label}: ALT {alt.fold_uln:.2f}× ULN after remission.",
        {"alt": lab_evidence("alt", alt), "on_treatment": ctx.on_treatment},
        "Re-induce (S001: combination prednisone and azathioprine). Check adherence (S000). After 2 or more "
        "relapses, plan long-term maintenance (WD-04).",
        "§1 relapse definition; A-7 tiers (IAIHG 1999 via Dhaliwal 2012, E-v; AASLD 2002/2010, E-m)",
        {},
    )


@rule("REL-03", family=Family.WITHDRAWAL, title="Post-withdrawal relapse watch", source="S001")
def post_withdrawal_relapse(ctx: Context):
    if not _within_post_withdrawal_watch(ctx):
        return None
    stopped = ctx.treatment_eras[-1][1]
    alt = ctx.last("alt")
    if alt is None or alt.on < stopped or ctx.is_normal(alt) is not False:
        return None
    high = is_at_or_above(alt.value, alt.uln, ctx.p("relapse_uln_multiple"))
    return Finding(
        "REL-03",
        Severity.HIGH if high else Severity.WARNING,
        f"ALT {alt.fold_uln:.2f}× ULN within 12 months of stopping treatment"
        + (": relapse." if high else ": possible relapse."),
        {"alt": lab_evidence("alt", alt), "treatment_stopped": stopped.isoformat()},
        "Repeat ALT and IgG promptly; if confirmed, re-induce.",
        "S001 (50-90% relapse within 12 months of stopping); PMC8855400 (E-v)",
        {},
    )
