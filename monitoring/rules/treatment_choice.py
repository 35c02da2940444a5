"""Seed statements about choosing and dosing a treatment that the spec's rule ids do not cover.

Each rule has an id in its family's series (after the spec's own), a title, a sentence a clinician
reads, and the seed passage it rests on. Most are prescribing checks (regimens/prescribing.py):
they look at a course being prescribed now (`planned`) and, where it matters, at one already running.

* AZA-11: thiopurine rechallenge after azathioprine hepatotoxicity or a severe adverse event (S004 §4, §7.1).
* AZA-12: a thiopurine with an active malignancy, where the seeds advise predniso(lo)ne alone (S000, S001).
* OTH-06: tacrolimus starting dose per kg against S001's 0.075 mg/kg/day.
* ASA-05: the systemic steroid dose in acute severe AIH against the seeds' "≥ 1 mg/kg" (S000, S001).
* AZA-13: high TPMT activity on a thiopurine: watch 6-MMP and liver tests (clinical-rules.md A-17).
* MON-09: thiopurine metabolites repeated 2-4 weeks after a draw showing under-exposure (S004 Table 1),
  judged on the schedule item of engine/schedule.py (the recall list shows the same item).
* LT-07: after a liver transplant, AIH recurrence is watched (S004 §7.5.4); LT-01..06 referrals stop.
* `adherence_qualifier()`: whether full adherence was confirmed (S004: failure is "despite full adherence"),
  which RESP-02 adds to its sentence and to its second-line advice.
* `escalation_regimen()`: S001's escalation for non-responders (prednisone 30 mg + azathioprine 150 mg),
  which AZA-07 recognises instead of calling the azathioprine dose an overdose.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from monitoring.engine.formulas import is_above, mg_per_kg
from monitoring.engine.response import State
from monitoring.engine.schedule import OVERDUE, metabolite_repeat_items
from monitoring.engine.timeline import Course, Dated
from monitoring.rules.base import (
    Context,
    Family,
    Finding,
    NotEvaluable,
    Severity,
    days_after,
    days_between,
    lab_evidence,
    months_after,
    rule,
)
from regimens.catalogue import DRUGS, DrugClass

DRUG_NAMES = {entry.code: entry.name for entry in DRUGS}
# The thiopurines seed 004 names for rechallenge and cross-toxicity: azathioprine itself and its
# active metabolite 6-MP. Thioguanine is the seed's own option after AZA intolerance (Table 2).
RECHALLENGE_DRUGS = ("azathioprine", "mercaptopurine")
# Adverse events seed 004 names as ruling out a thiopurine again whatever their recorded grade:
# hepatotoxicity (§4 "rechallenge is generally contraindicated") and pancreatitis (§7.1).
NO_RECHALLENGE_KINDS = {"hepatotoxicity": "hepatotoxicity", "pancreatitis": "pancreatitis"}


MALIGNANCY_NAMES = {
    "hcc": "hepatocellular carcinoma",
    "lymphoma": "lymphoma",
    "skin": "non-melanoma skin cancer",
    "other": "malignancy",
}


def _name(code: str) -> str:
    return DRUG_NAMES.get(code, code).lower()


# == AZA-11 ======================================================================================


def _thiopurine_course_of(ctx: Context, event: Dated) -> Course | None:
    """The azathioprine / 6-MP course an adverse event is attributed to, or, when no course is named,
    the one running at its onset (an unattributed event on a thiopurine is not ignored)."""
    courses = [c for c in ctx.courses if c.drug in RECHALLENGE_DRUGS and not c.planned]
    if event.number is not None:
        return next((c for c in courses if c.id == event.number), None)
    return next((c for c in courses if c.active_on(event.on)), None)


def _disqualifying_events(ctx: Context, before: date) -> list[tuple[Dated, Course, str]]:
    """Thiopurine adverse events before `before` that rule out a rechallenge: (event, course, why)."""
    severe = ctx.p("thiopurine_rechallenge_severe_grade")
    found = []
    for event in ctx.t.adverse_events:
        if event.on >= before:
            continue
        course = _thiopurine_course_of(ctx, event)
        if course is None:
            continue
        grade = getattr(event, "grade", None)
        if event.kind in NO_RECHALLENGE_KINDS:
            why = NO_RECHALLENGE_KINDS[event.kind] + (f" (grade {grade})" if grade else "")
        elif grade is not None and grade >= severe:
            why = f"{event.kind.replace('_', ' ')} grade {grade}"
        else:
            continue
        found.append((event, course, why))
    return found


@rule(
    "AZA-11",
    family=Family.THIOPURINE,
    title="Thiopurine again after azathioprine hepatotoxicity or a severe adverse event",
    source="S004 §4, §7.1",
)
def thiopurine_rechallenge(ctx: Context):
    new = [c for c in ctx.active_drug(*RECHALLENGE_DRUGS) if c.planned]
    if not new:
        # Already running: a rechallenge that went ahead (a course started after the event) stays in view.
        running = [c for c in ctx.active_drug(*RECHALLENGE_DRUGS) if not c.planned]
        new = [c for c in running if any(e.on < c.started_on for e, _, _ in _disqualifying_events(ctx, c.started_on))]
        if not new:
            return None
    course = new[0]
    events = [item for item in _disqualifying_events(ctx, course.started_on) if item[1].id != course.id]
    if not events:
        return None
    event, earlier, why = events[-1]
    drug, was = _name(course.drug), _name(earlier.drug)
    cross = drug != was
    evidence: dict[str, Any] = {
        "drug": drug,
        "status": "planned" if course.planned else "running",
        "adverse_events": [
            {"event": w, "onset": e.on.isoformat(), "on": _name(c.drug), "description": e.detail} for e, c, w in events
        ],
    }
    message = f"{drug.capitalize()} {'being prescribed' if course.planned else 'restarted'} after {why} on {was} "
    message += f"({event.on:%d %b %Y})" + (": cross-toxicity is possible." if cross else ": rechallenge.")
    return Finding(
        "AZA-11",
        Severity.CRITICAL if course.planned else Severity.HIGH,
        message,
        evidence,
        "Rechallenge is generally contraindicated because the reaction tends to recur, and 6-mercaptopurine "
        "can cross-react after azathioprine hepatotoxicity; choose an alternative such as mycophenolate. "
        "6-mercaptopurine is an option only after an immediate-type hypersensitivity to azathioprine.",
        'S004 §4 ("rechallenge is generally contraindicated due to high recurrence risk"); S004 §7.1 (6-MP: '
        '"cross-toxicity may occur ... not supported in severe AZA-induced adverse events such as pancreatitis, '
        'myelotoxicity, or cholestatic hepatitis"); severe = CTCAE grade 3 or more (E-m)',
        {},
    )


# == AZA-12 ======================================================================================


@rule(
    "AZA-12",
    family=Family.THIOPURINE,
    title="Thiopurine with an active malignancy (predniso(lo)ne alone advised)",
    source="S000, S001",
)
def thiopurine_with_active_malignancy(ctx: Context):
    courses = ctx.active(DrugClass.THIOPURINE)
    if not courses:
        return None
    window = ctx.p("active_malignancy_months")
    active = [m for m in ctx.t.malignancies if ctx.as_of < months_after(m.on, window)]
    if not active:
        return None
    planned = any(c.planned for c in courses)
    drugs = " and ".join(sorted({_name(c.drug) for c in courses}))
    latest = active[-1]
    what = MALIGNANCY_NAMES.get(latest.kind, latest.kind)
    return Finding(
        "AZA-12",
        Severity.HIGH if planned else Severity.WARNING,
        f"{what.capitalize()} diagnosed {latest.on:%d %b %Y} with {drugs} "
        + ("being prescribed" if planned else "running")
        + ": with an active malignancy the seeds advise predniso(lo)ne alone.",
        {
            "thiopurine": drugs,
            "status": "planned" if planned else "running",
            "malignancies": [
                {"kind": MALIGNANCY_NAMES.get(m.kind, m.kind), "diagnosed": m.on.isoformat()} for m in active
            ],
            "counted_as_active_for_months": window,
        },
        "Prefer prednisone or prednisolone alone (60 mg/day, tapering to a 20 mg maintenance) while the malignancy "
        "is active; discuss any antimetabolite with the oncologist.",
        'S000 ("Use prednisone alone ... only in these specific situations: ... active malignancy"); S001 '
        '("prednisone alone ... for patients with ... malignancy")',
        {},
    )


# == OTH-06 ======================================================================================


def _starting(ctx: Context, *drugs: str, classes: tuple[str, ...] = ()) -> list[Course]:
    """Courses being prescribed now, or started within the starting-dose check window (as STER-04)."""
    since = days_after(ctx.as_of, -ctx.p("steroid_start_check_days"))
    courses = ctx.active_drug(*drugs) if drugs else ctx.active(*classes)
    return [c for c in courses if c.planned or c.started_on >= since]


@rule("OTH-06", family=Family.OTHER, title="Tacrolimus starting dose per kg", source="S001")
def tacrolimus_starting_dose(ctx: Context):
    outcomes: list[Finding | NotEvaluable] = []
    for course in _starting(ctx, "tacrolimus"):
        dose = course.dose_on(course.started_on)
        if dose is None:
            outcomes.append(NotEvaluable("OTH-06", "no tacrolimus starting dose recorded"))
            continue
        weight = ctx.weight_on()
        if weight is None:
            outcomes.append(NotEvaluable("OTH-06", "no weight recorded to check the tacrolimus dose per kg"))
            continue
        target, tolerance = ctx.p("tacrolimus_start_mg_per_kg"), ctx.p("tacrolimus_start_tolerance_mg_per_kg")
        per_kg = round(mg_per_kg(dose, weight), 4)
        low, high = round(target - tolerance, 4), round(target + tolerance, 4)
        if low <= per_kg <= high:
            continue
        above = per_kg > high
        outcomes.append(
            Finding(
                "OTH-06",
                Severity.WARNING if above else Severity.INFO,
                f"Tacrolimus {dose:g} mg/day at {weight:g} kg is {per_kg:.3f} mg/kg/day, "
                + ("above" if above else "below")
                + f" the usual starting dose of {target:g} mg/kg/day ({target * weight:.1f} mg/day at this weight).",
                {
                    "dose_mg_per_day": dose,
                    "weight_kg": weight,
                    "mg_per_kg": per_kg,
                    "accepted_mg_per_kg": [low, high],
                    "status": "planned" if course.planned else "running",
                },
                f"Check the dose: start near {target:g} mg/kg/day ({low * weight:.1f}-{high * weight:.1f} mg/day at "
                f"{weight:g} kg), then adjust to a trough of {ctx.p('tacrolimus_trough_range')[0]:g}-"
                f"{ctx.p('tacrolimus_trough_range')[1]:g} ng/mL.",
                'S001 ("Tacrolimus (starting dose 0.075 mg/kg daily)"); trough 3-8 ng/mL S004 citing EASL 2025',
                {},
            )
        )
    return outcomes


# == ASA-05 ======================================================================================


@rule("ASA-05", family=Family.ACUTE, title="Steroid dose below 1 mg/kg in acute severe AIH", source="S000, S001")
def acute_severe_steroid_dose(ctx: Context):
    outcomes: list[Finding | NotEvaluable] = []
    minimum = ctx.p("asaih_min_steroid_mg_per_kg")
    for course in _starting(ctx, classes=(DrugClass.SYSTEMIC_STEROID,)):
        if not ctx.in_acute_episode(course.started_on):
            continue
        dose = course.dose_on(course.started_on)
        name = DRUG_NAMES.get(course.drug, course.drug)
        if dose is None:
            outcomes.append(NotEvaluable("ASA-05", f"no {name.lower()} dose recorded"))
            continue
        weight = ctx.weight_on()
        if weight is None:
            outcomes.append(NotEvaluable("ASA-05", f"no weight recorded to check the {name.lower()} dose per kg"))
            continue
        equivalent = dose * (course.prednisolone_equivalent or 1.0)
        per_kg = round(mg_per_kg(equivalent, weight), 4)
        if per_kg >= minimum:
            continue
        as_pred = "" if equivalent == dose else f" ({equivalent:g} mg prednisolone-equivalent)"
        outcomes.append(
            Finding(
                "ASA-05",
                Severity.WARNING,
                f"Acute severe AIH: {name.lower()} {dose:g} mg/day{as_pred} at {weight:g} kg is "
                f"{per_kg:.2f} mg/kg/day, below the {minimum:g} mg/kg/day the seeds advise "
                f"({minimum * weight:g} mg/day).",
                {
                    "drug": name,
                    "dose_mg_per_day": dose,
                    "prednisolone_equivalent_mg": equivalent,
                    "weight_kg": weight,
                    "mg_per_kg": per_kg,
                    "status": "planned" if course.planned else "running",
                },
                f"Give high-dose corticosteroids as early as possible, intravenously, at {minimum:g} mg/kg/day or "
                "more; if there is no improvement within 7 days, evaluate for liver transplantation. (The ACG 2023 "
                "guideline accepts 0.5-1 mg/kg or 60 mg/day in AS-AIH without liver failure.)",
                'S000, S001 ("high-dose intravenous corticosteroids (≥1 mg/kg) as early as possible"); ACG 2023 '
                "(Shingina et al., Am J Gastroenterol 2023, E-v); A-3",
                {},
            )
        )
    return outcomes


# == S001's escalation regimen (read by AZA-07) ===================================================

ESCALATION_STATES = frozenset({State.NON_RESPONSE, State.INSUFFICIENT_RESPONSE})


def escalation_regimen(ctx: Context, aza_mg: float, weight: float) -> dict[str, Any] | None:
    """Evidence that an azathioprine dose above 2 mg/kg is S001's escalation for non-response, else None.

    S001: "For non-responding patients, escalate to ... prednisone (30 mg daily) with azathioprine (150 mg
    daily), continued for at least 1 month." Recognised when the response is non-response or
    insufficient, a systemic steroid of at least the regimen's dose runs with it, the azathioprine dose
    is not above the regimen's, and it stays within the absolute per-kg ceiling.
    """
    state = ctx.response.current
    if state not in ESCALATION_STATES:
        return None
    if is_above(aza_mg, 1.0, ctx.p("escalation_aza_mg")) or is_above(
        aza_mg, weight, ctx.p("escalation_aza_max_mg_per_kg")
    ):
        return None
    steroid_floor = ctx.p("escalation_steroid_with_aza_mg")
    steroids = [
        (c, dose * (c.prednisolone_equivalent or 1.0))
        for c in ctx.active(DrugClass.SYSTEMIC_STEROID)
        if (dose := c.dose_on(ctx.as_of)) is not None
    ]
    steroids = [(c, mg) for c, mg in steroids if mg >= steroid_floor]
    if not steroids:
        return None
    course, mg = max(steroids, key=lambda item: item[1])
    return {
        "response": state.value,
        "steroid": DRUG_NAMES.get(course.drug, course.drug),
        "steroid_mg_per_day": course.dose_on(ctx.as_of),
        "prednisolone_equivalent_mg": mg,
    }


# == Adherence before calling it treatment failure (read by RESP-02) ==============================


def adherence_qualifier(ctx: Context, since: date) -> tuple[str, str, dict[str, Any]]:
    """(sentence for the message, advice, evidence) on adherence since `since` (T0).

    S004 §2: "treatment failure refers to worsening laboratory or histological parameters despite full
    adherence"; "before labeling a patient as a non-responder, poor adherence to therapy must be
    actively excluded". The latest record within `adherence_confirmed_recent_days` decides.
    """
    recent = days_after(ctx.as_of, -ctx.p("adherence_confirmed_recent_days"))
    records = [a for a in ctx.t.adherence if a.on >= since and a.on >= recent]
    latest = records[-1] if records else None
    if latest is not None and getattr(latest, "confirmed_full", False):
        return (
            f"Full adherence confirmed on {latest.on:%d %b %Y}: treatment failure.",
            "Full adherence is confirmed, so this is treatment failure: consider second-line therapy (MMF, "
            "tacrolimus) with a specialist, after checking thiopurine metabolites and intolerance.",
            {"adherence": {"confirmed_full": True, "date": latest.on.isoformat(), "method": latest.kind}},
        )
    if latest is not None and latest.number:
        return (
            f"{latest.number:g} missed doses reported on {latest.on:%d %b %Y}.",
            "Doses are being missed: address adherence before calling this treatment failure or escalating "
            "(unrecognised non-adherence prompts unnecessary second-line therapy).",
            {"adherence": {"confirmed_full": False, "missed_doses": latest.number, "date": latest.on.isoformat()}},
        )
    return (
        "Full adherence not yet confirmed.",
        "Confirm full adherence first (self-report, pill count, refill record, metabolites): only then is this "
        "treatment failure and second-line therapy (MMF, tacrolimus) to be considered with a specialist.",
        {"adherence": {"confirmed_full": False, "last_record": latest.on.isoformat() if latest else None}},
    )


# == AZA-13 ======================================================================================


@rule(
    "AZA-13", family=Family.THIOPURINE, title="High TPMT activity: watch 6-MMP and liver tests", source="S004 §4; A-17"
)
def high_tpmt_activity(ctx: Context):
    courses = ctx.active(DrugClass.THIOPURINE)
    if not courses:
        return None
    results = [r for r in ctx.t.pharmacogenetics if r.gene == "tpmt" and r.phenotype != "indeterminate"]
    if not results or results[-1].phenotype != "high":
        return None
    result = results[-1]
    planned = any(c.planned for c in courses)
    start = min(c.started_on for c in courses)
    mmp = ctx.last("mmp")
    if not planned and mmp is not None and mmp.on >= start:
        return None  # 6-MMP measured on this exposure: TPM-04 / HEP-02 judge it
    drugs = " and ".join(sorted({_name(c.drug) for c in courses}))
    evidence: dict[str, Any] = {"thiopurine": drugs, "tpmt": {"phenotype": "high", "date": result.on.isoformat()}}
    if result.activity is not None:
        evidence["tpmt"]["activity"] = result.activity
    return Finding(
        "AZA-13",
        Severity.INFO,
        f"High TPMT activity ({result.on:%d %b %Y}) with {drugs} "
        + ("being prescribed" if planned else "running, and no 6-MMP measured yet")
        + ": more 6-MMP is made, with a risk of liver toxicity.",
        evidence,
        "Watch 6-MMP and liver tests: measure thiopurine metabolites once at steady state (about 4 weeks) and "
        "act on a high 6-MMP or a rise in ALP, GGT or ALT.",
        "A-17: high TPMT activity may cause hepatotoxicity (lab catalogues, E-v) through 6-MMP (S004 §4: "
        '"preferential shunting toward excessive production of 6-MMPR has been associated with cholestatic '
        'injury")',
        {},
    )


# == MON-09 ======================================================================================


@rule("MON-09", family=Family.MONITORING, title="Metabolites again 2-4 weeks after under-exposure", source="S004")
def metabolites_after_under_exposure(ctx: Context):
    items = metabolite_repeat_items(ctx)
    if not items or items[0].state(ctx.as_of) != OVERDUE:
        return None
    item = items[0]
    tgn, mmp = ctx.last("tgn"), ctx.last("mmp")
    return Finding(
        "MON-09",
        Severity.WARNING,
        f"Thiopurine metabolites not repeated: 6-TGN {tgn.value:g} with 6-MMP {mmp.value:g} on "
        f"{item.last_result:%d %b %Y} showed under-exposure; the repeat was due by {item.overdue_after:%d %b %Y}.",
        {"panel": item.evidence(ctx.as_of), "tgn": tgn.value, "mmp": mmp.value},
        "Draw 6-TGN and 6-MMP now (after checking adherence and any dose increase) to see whether exposure "
        "has improved.",
        'S004 Table 1 (low 6-TGN, low 6-MMPR: "assess adherence; increase AZA dose if tolerated; repeat levels '
        'in 2-4 weeks")',
        {},
    )


# == LT-07 ======================================================================================

LT07_SOURCE = (
    'S004 §7.5.4 ("Post-transplant recurrence of AIH occurs in up to 30% of patients, necessitating long-term '
    'immunosuppression, often with CNIs and low-dose steroids")'
)


@rule("LT-07", family=Family.TRANSPLANT, title="AIH recurrence after liver transplant", source="S004 §7.5.4")
def post_transplant_recurrence(ctx: Context):
    transplanted = ctx.t.transplanted_on
    if transplanted is None or ctx.t.status != "active":
        return None
    interval = ctx.p("post_transplant_alt_interval_days")
    alt = ctx.last("alt")
    alt = alt if alt is not None and alt.on > transplanted else None
    since = alt.on if alt is not None else transplanted
    if days_between(since, ctx.as_of) > interval:
        return Finding(
            "LT-07",
            Severity.WARNING,
            f"Liver transplant {transplanted:%d %b %Y}: no ALT "
            + (f"since {alt.on:%d %b %Y}" if alt else "since the transplant")
            + f" (at least every {interval} days to detect AIH recurrence).",
            {"transplanted_on": transplanted.isoformat(), "last_alt": lab_evidence("alt", alt) if alt else None},
            "Draw ALT (with IgG) now: AIH recurs after transplant in up to 30% of patients.",
            LT07_SOURCE,
            {},
        )
    raised = [
        (code, lab)
        for code in ("alt", "igg")
        if (lab := ctx.last(code)) is not None and lab.on > transplanted and ctx.is_normal(lab) is False
    ]
    if not raised:
        return None
    described = " and ".join(f"{lab_evidence(code, lab)['test']} {lab.fold_uln:.1f}× ULN" for code, lab in raised)
    return Finding(
        "LT-07",
        Severity.WARNING,
        f"Possible AIH recurrence after the liver transplant of {transplanted:%d %b %Y}: {described}.",
        {"transplanted_on": transplanted.isoformat(), "results": [lab_evidence(code, lab) for code, lab in raised]},
        "Review with the transplant team: exclude rejection, biliary and viral causes, consider a biopsy, and keep "
        "long-term immunosuppression (calcineurin inhibitor with low-dose steroids; a rapid steroid taper "
        "predisposes to recurrence).",
        LT07_SOURCE + "; predictors: HLA-DR3, rapid corticosteroid taper, prior refractory disease",
        {},
    )
