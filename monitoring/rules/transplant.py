"""Transplant referral (clinical-rules.md §2.9): LT-01..LT-06.

Also the small pure helpers the physician's page shows: `meld_scores()` (all three MELD variants
with the values used) and `child_pugh_score()`. Scores are defined in conventional units, so SI
results are converted with `to_conventional()` first (§3.1); Child-Pugh uses the mg/dL table (A-8).

One item per problem:
* LT-05 is the single referral item for a non-responding acute episode; it lists the ASA
  findings (ASA-02/03/04) that triggered it.
* Hepatic encephalopathy during an acute episode is the ASA rules' (AS-AIH with ALF), not LT-03's.
* Decompensation that persists despite therapy (LT-06) replaces LT-03 for that patient.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from monitoring.engine.formulas import child_pugh, meld, meld_3, meld_na, to_conventional
from monitoring.engine.timeline import Lab, VisitFacts
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
from regimens.catalogue import DrugClass

S001 = "S001 (urgent referral: decompensation, HCC, MELD > 15 or Child-Pugh > 10)"

MELD_LABELS = {"meld": "MELD", "meld_na": "MELD-Na", "meld3": "MELD 3.0"}
MELD_INPUTS: dict[str, tuple[str, ...]] = {
    "meld": ("creatinine", "bilirubin", "inr"),
    "meld_na": ("creatinine", "bilirubin", "inr", "sodium"),
    "meld3": ("creatinine", "bilirubin", "inr", "sodium", "albumin"),
}
CHILD_PUGH_LABS = ("bilirubin", "albumin", "inr")
ASCITES_LABELS = {"none": "none", "mild": "mild / diuretic-controlled", "moderate_severe": "moderate-severe"}
# Second-line agents: steroid dependence "despite optimised therapy" means one of these was tried.
SECOND_LINE = (DrugClass.MYCOPHENOLATE, DrugClass.CALCINEURIN_INHIBITOR, DrugClass.BIOLOGIC)


# -- MELD ---------------------------------------------------------------------------------------


def conventional_values(labs: dict[str, Lab]) -> dict[str, float]:
    """The inputs of the scores in the units the formulas use (§3.1)."""
    values: dict[str, float] = {}
    if "bilirubin" in labs:
        values["bilirubin_mg_dl"] = to_conventional("bilirubin", labs["bilirubin"].value, "mg/dL")
    if "creatinine" in labs:
        values["creatinine_mg_dl"] = to_conventional("creatinine", labs["creatinine"].value, "mg/dL")
    if "albumin" in labs:
        values["albumin_g_dl"] = to_conventional("albumin", labs["albumin"].value, "g/dL")
    if "inr" in labs:
        values["inr"] = labs["inr"].value
    if "sodium" in labs:
        values["sodium_mmol_l"] = labs["sodium"].value
    return values


def meld_from_labs(labs: dict[str, Lab], *, female: bool, age: int | None) -> dict[str, int | None]:
    """Each MELD variant whose inputs are all present (None otherwise). Dialysis is not recorded: none assumed."""
    v = conventional_values(labs)
    scores: dict[str, int | None] = dict.fromkeys(MELD_INPUTS)
    if not all(code in labs for code in MELD_INPUTS["meld"]):
        return scores
    scores["meld"] = meld(v["creatinine_mg_dl"], v["bilirubin_mg_dl"], v["inr"])
    if "sodium" in labs:
        scores["meld_na"] = meld_na(v["creatinine_mg_dl"], v["bilirubin_mg_dl"], v["inr"], v["sodium_mmol_l"])
        if "albumin" in labs:
            scores["meld3"] = meld_3(
                female=female,
                bilirubin_mg_dl=v["bilirubin_mg_dl"],
                sodium_mmol_l=v["sodium_mmol_l"],
                inr=v["inr"],
                creatinine_mg_dl=v["creatinine_mg_dl"],
                albumin_g_dl=v["albumin_g_dl"],
                age_years=age,
            )
    return scores


def meld_female_term(ctx: Context) -> bool:
    """MELD 3.0's sex term. Sex other or not recorded: the term is applied (the higher score, safer for referral)."""
    return ctx.t.sex != "male"


def _recent_labs(ctx: Context, codes: tuple[str, ...]) -> tuple[dict[str, Lab], list[str]]:
    """The latest result of each code drawn within `liver_score_labs_recent_days`, and the codes missing."""
    since = days_after(ctx.as_of, -ctx.p("liver_score_labs_recent_days"))
    labs = {code: lab for code in codes if (lab := ctx.last(code)) is not None and lab.on >= since}
    return labs, [code for code in codes if code not in labs]


def meld_scores(ctx: Context) -> dict[str, Any] | None:
    """MELD, MELD-Na and MELD 3.0 from recent labs, with the values used; None without creatinine, bilirubin, INR.

    A variant whose extra input (sodium, albumin) is missing is None and listed under "missing".
    """
    labs, _ = _recent_labs(ctx, MELD_INPUTS["meld3"])
    if not all(code in labs for code in MELD_INPUTS["meld"]):
        return None
    scores = meld_from_labs(labs, female=meld_female_term(ctx), age=ctx.t.age_on(ctx.as_of))
    version = ctx.p("meld_version")
    return {
        "version": version,
        "version_label": MELD_LABELS[version],
        "score": scores[version],
        "scores": {MELD_LABELS[key]: value for key, value in scores.items()},
        "missing": {
            MELD_LABELS[key]: [code for code in codes if code not in labs]
            for key, codes in MELD_INPUTS.items()
            if scores[key] is None
        },
        "inputs": [lab_evidence(code, lab) for code, lab in labs.items()],
        "conventional": {key: round(value, 3) for key, value in conventional_values(labs).items()},
        "sex_term": "female" if meld_female_term(ctx) else "male",
        "dialysis": "not recorded: none assumed",
    }


def _meld_matters(ctx: Context) -> bool:
    """MELD is asked for in cirrhosis, an acute episode, or when the latest bilirubin or INR is abnormal."""
    if ctx.has_cirrhosis or ctx.in_acute_episode():
        return True
    return any((lab := ctx.last(code)) is not None and ctx.is_normal(lab) is False for code in ("bilirubin", "inr"))


@rule("LT-01", family=Family.TRANSPLANT, title="MELD above the referral threshold", source=S001)
def meld_referral(ctx: Context):
    if ctx.t.transplanted_on is not None:
        return None  # transplanted: LT-07 follows recurrence instead of a referral
    # Outside cirrhosis, an acute episode or abnormal bilirubin/INR, a high MELD reflects the kidney
    # (creatinine), not the liver: not a transplant question for AIH.
    if not _meld_matters(ctx):
        return None
    version = ctx.p("meld_version")
    _, missing = _recent_labs(ctx, MELD_INPUTS[version])
    if missing:
        return NotEvaluable(
            "LT-01",
            f"{MELD_LABELS[version]} needs {', '.join(missing)} from the last "
            f"{ctx.p('liver_score_labs_recent_days')} days",
        )
    scores = meld_scores(ctx)
    limit = ctx.p("meld_referral_above")
    if scores["score"] <= limit:
        return None
    return Finding(
        "LT-01",
        Severity.HIGH,
        f"{scores['version_label']} is {scores['score']} (above {limit}): consider transplant referral.",
        scores,
        "Discuss referral to a liver transplant centre. The clinic's transplant centre decides which MELD version "
        "(or UKELD) it uses.",
        S001 + "; MELD version ambiguity A-8 (§0A: MELD 3.0 > 15)",
        {},
    )


# -- Child-Pugh ---------------------------------------------------------------------------------


def _latest_visit(ctx: Context) -> VisitFacts | None:
    return ctx.t.visits[-1] if ctx.t.visits else None


def _child_pugh_inputs(ctx: Context) -> tuple[dict[str, Lab], VisitFacts | None, list[str]]:
    labs, missing = _recent_labs(ctx, CHILD_PUGH_LABS)
    visit = _latest_visit(ctx)
    if visit is None or visit.on < days_after(ctx.as_of, -ctx.p("child_pugh_visit_recent_days")):
        missing.append(
            f"a clinic visit with ascites and HE grade in the last {ctx.p('child_pugh_visit_recent_days')} days"
        )
        visit = None
    return labs, visit, missing


def child_pugh_score(ctx: Context) -> dict[str, Any] | None:
    """Child-Pugh from recent bilirubin, albumin and INR and the latest visit; None when an input is missing."""
    labs, visit, missing = _child_pugh_inputs(ctx)
    if missing:
        return None
    v = conventional_values(labs)
    score = child_pugh(
        bilirubin_mg_dl=v["bilirubin_mg_dl"],
        albumin_g_dl=v["albumin_g_dl"],
        inr=v["inr"],
        ascites=visit.ascites,
        encephalopathy_grade=visit.encephalopathy_grade,
    )
    return {
        "score": score.score,
        "class": score.grade,
        "points": {
            "bilirubin": score.bilirubin_points,
            "albumin": score.albumin_points,
            "inr": score.inr_points,
            "ascites": score.ascites_points,
            "encephalopathy": score.encephalopathy_points,
        },
        "inputs": [lab_evidence(code, lab) for code, lab in labs.items()],
        "conventional": {key: round(value, 3) for key, value in v.items() if key != "sodium_mmol_l"},
        "visit": {
            "date": visit.on.isoformat(),
            "ascites": visit.ascites,
            "encephalopathy_grade": visit.encephalopathy_grade,
        },
        "table": "mg/dL (§3.5, A-8)",
    }


def _portal_hypertensive_decompensation(ctx: Context) -> bool:
    return any(v.ascites != "none" or v.variceal_bleed for v in ctx.t.visits)


@rule("LT-02", family=Family.TRANSPLANT, title="Child-Pugh above the referral threshold", source=S001)
def child_pugh_referral(ctx: Context):
    if ctx.t.transplanted_on is not None:
        return None  # transplanted: LT-07 follows recurrence instead of a referral
    # Child-Pugh grades chronic liver disease: asked for in cirrhosis (or ascites / variceal bleeding,
    # which imply it); not in acute hepatitis without cirrhosis.
    if not (ctx.has_cirrhosis or _portal_hypertensive_decompensation(ctx)):
        return None
    _, _, missing = _child_pugh_inputs(ctx)
    if missing:
        return NotEvaluable("LT-02", "Child-Pugh needs " + ", ".join(missing))
    score = child_pugh_score(ctx)
    limit = ctx.p("child_pugh_referral_above")
    if score["score"] <= limit:
        return None
    return Finding(
        "LT-02",
        Severity.HIGH,
        f"Child-Pugh score {score['score']} (class {score['class']}, above {limit}): consider transplant referral.",
        score,
        "Discuss referral to a liver transplant centre.",
        S001 + "; A-8 (> 10, i.e. ≥ 11; class C starts at 10)",
        {},
    )


# -- Decompensation -----------------------------------------------------------------------------


def decompensation_features(ctx: Context, visit: VisitFacts) -> list[str]:
    """What at this visit counts as decompensation (§2.9 LT-03).

    Jaundice counts only in cirrhosis (otherwise it is acute hepatitis). HE during an acute episode is
    AS-AIH with ALF, which the ASA rules report.
    """
    features = []
    if visit.ascites != "none":
        features.append(f"ascites ({ASCITES_LABELS.get(visit.ascites, visit.ascites)})")
    if visit.variceal_bleed:
        features.append("variceal bleed")
    if visit.encephalopathy_grade > 0 and not ctx.in_acute_episode(visit.on):
        features.append(f"hepatic encephalopathy grade {visit.encephalopathy_grade}")
    if visit.jaundice and ctx.has_cirrhosis:
        features.append("jaundice")
    return features


def _decompensated_visits(ctx: Context, since: date | None = None) -> list[tuple[VisitFacts, list[str]]]:
    return [
        (visit, features)
        for visit in ctx.t.visits
        # Features first: whether an uneventful visit is still recent does not matter (horizon.py).
        if (features := decompensation_features(ctx, visit)) and (since is None or visit.on >= since)
    ]


def _persisting_decompensation(ctx: Context) -> dict[str, Any] | None:
    """Decompensated cirrhosis still present after ≥ N months of continuous therapy, having been present before.

    The conservative reading of "progressive decompensated cirrhosis despite optimised therapy" (S004):
    the latest visit shows decompensation, that visit is at least N months into the current treatment,
    and an earlier visit showed it too (so it is not a first, isolated event).
    """
    if not ctx.has_cirrhosis or not ctx.on_treatment or not ctx.t.visits:
        return None
    latest = ctx.t.visits[-1]
    features = decompensation_features(ctx, latest)
    if not features or latest.on < months_after(ctx.t0, ctx.p("progressive_decompensation_min_therapy_months")):
        return None
    earlier = [(v, f) for v, f in _decompensated_visits(ctx) if v.on < latest.on]
    if not earlier:
        return None
    first, first_features = earlier[0]
    return {
        "latest_visit": {"date": latest.on.isoformat(), "features": features},
        "first_decompensation": {"date": first.on.isoformat(), "features": first_features},
        "treatment_start": ctx.t0.isoformat(),
        "cirrhosis_since": ctx.t.cirrhosis_on.isoformat(),
    }


@rule("LT-03", family=Family.TRANSPLANT, title="Decompensation", source=S001)
def decompensation(ctx: Context):
    if ctx.t.transplanted_on is not None:
        return None  # transplanted: LT-07 follows recurrence instead of a referral
    since = months_after(ctx.as_of, -ctx.p("decompensation_recent_months"))
    visits = _decompensated_visits(ctx, since)
    if not visits:
        return None
    if _persisting_decompensation(ctx):
        return None  # LT-06 reports it as decompensation despite therapy (one item per problem)
    latest, features = visits[-1]
    return Finding(
        "LT-03",
        Severity.HIGH,
        f"Liver decompensation recorded on {latest.on.isoformat()}: {', '.join(features)}.",
        {
            "visits": [{"date": v.on.isoformat(), "features": f} for v, f in visits],
            "cirrhosis_since": ctx.t.cirrhosis_on.isoformat() if ctx.t.cirrhosis_on else None,
            "on_treatment": ctx.on_treatment,
        },
        "Refer urgently to a liver transplant centre for assessment (decompensation at presentation or during "
        "treatment).",
        "S001 (decompensation at presentation or during treatment)",
        {},
    )


@rule("LT-04", family=Family.TRANSPLANT, title="Hepatocellular carcinoma", source=S001)
def hepatocellular_carcinoma(ctx: Context):
    if ctx.t.transplanted_on is not None:
        return None  # transplanted: LT-07 follows recurrence instead of a referral
    hcc = [m for m in ctx.t.malignancies if m.kind == "hcc"]
    if not hcc:
        return None
    return Finding(
        "LT-04",
        Severity.HIGH,
        f"Hepatocellular carcinoma diagnosed on {hcc[0].on.isoformat()}: transplant referral indicated.",
        {"hcc_diagnosed": hcc[0].on.isoformat(), "cirrhosis": ctx.has_cirrhosis},
        "Refer to a liver transplant centre / HCC multidisciplinary team.",
        "S001 (hepatocellular carcinoma)",
        {},
    )


@rule(
    "LT-05",
    family=Family.TRANSPLANT,
    title="Acute severe AIH not responding",
    source="S000, S001, S004",
    after_others=True,
)
def acute_non_response(ctx: Context):
    if ctx.t.transplanted_on is not None:
        return None  # transplanted: LT-07 follows recurrence instead of a referral
    # Only the critical ASA findings: a "day-7 assessment overdue" (ASA-02, high) is missing data, not
    # non-response.
    triggers = [
        f for f in ctx.findings if f.rule_id in ("ASA-02", "ASA-03", "ASA-04") and f.severity == Severity.CRITICAL
    ]
    if not triggers:
        return None
    return Finding(
        "LT-05",
        Severity.CRITICAL,
        "Acute severe AIH not responding to treatment: refer to a transplant centre now.",
        {"because_of": [{"rule": f.rule_id, "message": f.message} for f in triggers]},
        "Contact the liver transplant centre today for assessment; arrange transfer if acute liver failure.",
        "S000, S001 (no improvement within 7 days: evaluate for transplantation); S004 (ALF unresponsive to "
        "medical therapy)",
        {},
    )


# -- LT-06 --------------------------------------------------------------------------------------


def _steroid_dependence(ctx: Context) -> dict[str, Any] | None:
    """Systemic steroid without a break for ≥ N months, still ≥ X mg/day, although second-line therapy was tried.

    Quality of life is not recorded, so this only prompts the question (info).
    """
    steroids = sorted(
        (c for c in ctx.courses if c.drug_class == DrugClass.SYSTEMIC_STEROID and not c.planned),
        key=lambda c: c.started_on,
    )
    active = [c for c in steroids if c.active_on(ctx.as_of)]
    if not active:
        return None
    dose = sum((c.dose_on(ctx.as_of) or 0.0) * (c.prednisolone_equivalent or 1.0) for c in active)
    if dose < ctx.p("steroid_dependence_min_mg"):
        return None
    since = _continuous_since(ctx, steroids)
    months = ctx.p("steroid_dependence_months")
    if ctx.as_of < months_after(since, months):
        return None
    second_line = sorted({c.drug for c in ctx.courses if c.drug_class in SECOND_LINE and not c.planned})
    if not second_line:
        return None
    return {
        "steroid_since": since.isoformat(),
        "limit_months": months,
        "prednisolone_equivalent_mg_per_day": round(dose, 1),
        "second_line_tried": second_line,
    }


def _continuous_since(ctx: Context, steroids) -> date:
    """Start of the unbroken run of steroid courses reaching the as-of date (gaps < treatment_gap_days bridged)."""
    gap = ctx.p("treatment_gap_days")
    since = None
    reach: date | None = None
    for course in steroids:
        stop = course.stopped_on or ctx.as_of
        if since is None or reach is None or (course.started_on - reach).days > gap:
            since = course.started_on
            reach = stop
        else:
            reach = max(reach, stop)
    return since


@rule("LT-06", family=Family.TRANSPLANT, title="Decompensation despite therapy or steroid dependence", source="S004")
def refractory_disease(ctx: Context):
    if ctx.t.transplanted_on is not None:
        return None  # transplanted: LT-07 follows recurrence instead of a referral
    persisting = _persisting_decompensation(ctx)
    if persisting:
        return Finding(
            "LT-06",
            Severity.HIGH,
            "Decompensated cirrhosis persisting despite treatment "
            f"({', '.join(persisting['latest_visit']['features'])}): consider transplant assessment.",
            persisting,
            "Review adherence and optimisation of immunosuppression, and refer to a liver transplant centre.",
            "S004 (progressive decompensated cirrhosis despite optimised immunosuppression)",
            {},
        )
    dependence = _steroid_dependence(ctx)
    if dependence:
        return Finding(
            "LT-06",
            Severity.INFO,
            f"Steroid dependence: prednisolone {dependence['prednisolone_equivalent_mg_per_day']:g} mg/day, "
            f"continuously since {dependence['steroid_since']} (more than {dependence['limit_months']} months), "
            "despite second-line therapy.",
            dependence,
            "If steroid side effects impair quality of life, discuss transplant assessment with a specialist.",
            "S004 (severe steroid dependence with poor quality of life)",
            {},
        )
    return None
