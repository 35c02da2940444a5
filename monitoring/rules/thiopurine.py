"""Thiopurine safety (clinical-rules.md §2.3, §2.4, §2.5): AZA-01..10, HEP-01..04, TPM-01..05.

CI-08 ("thiopurine and TPMT/NUDT15 poor metaboliser, see AZA-02") and CI-09 ("thiopurine and
allopurinol/febuxostat without dose reduction, see AZA-08") of §2.7 are the same patient-problems
as AZA-02 and AZA-08. Only AZA-02 and AZA-08 are registered, so the alert queue shows one item;
their evidence carries `"also_listed_as": "CI-08"` / `"CI-09"`.

A course with `planned=True` is being prescribed now: the "at planned start" checks (AZA-01 critical,
AZA-03, AZA-04, AZA-05, AZA-07, AZA-08, AZA-09) look at planned courses; the on-treatment checks
(AZA-06, HEP-*, TPM-*) look at courses already running.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from monitoring.engine.formulas import fold_uln, is_above, is_at_or_above, metabolite_ratio, mg_per_kg, r_ratio
from monitoring.engine.response import State
from monitoring.engine.schedule import current_result
from monitoring.engine.timeline import Course, Lab, Pharmacogenetic
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
from monitoring.rules.treatment_choice import escalation_regimen
from regimens.catalogue import DRUGS, DrugClass

THIOPURINE = DrugClass.THIOPURINE
# Xanthine oxidase inactivates 6-MP (and so AZA); thioguanine is not mainly cleared that way.
XO_SENSITIVE = ("azathioprine", "mercaptopurine")
DRUG_NAMES = {entry.code: entry.name for entry in DRUGS}
GENE_NAMES = {"tpmt": "TPMT", "nudt15": "NUDT15"}
FBC_COUNTS = ("neutrophils", "platelets", "wbc", "lymphocytes")
# Response states in which an adequate 6-TGN means pharmacological non-response (TPM-05).
POOR_RESPONSE = frozenset(
    {
        State.INSUFFICIENT_RESPONSE,
        State.NON_RESPONSE,
        State.LOSS_OF_REMISSION,
        State.PROBABLE_RELAPSE,
        State.RELAPSE,
    }
)
# AZA-07: a low dose matters only when the disease is not controlled.
UNDER_TREATED = frozenset({State.INSUFFICIENT_RESPONSE, State.NON_RESPONSE})
HEP_SUPPORTING_EVENTS = ("pruritus", "jaundice", "rash", "eosinophilia")

SRC_CPIC = "CPIC thiopurine guideline (Relling et al., Clin Pharmacol Ther 2019;105:1095; E-v)"
SRC_S004_TABLE = "S004 Table 1"


# -- which courses -----------------------------------------------------------------------------


def _running(ctx: Context, *drug_classes: str) -> list[Course]:
    """Courses already being taken (planned prescriptions excluded)."""
    return [c for c in ctx.active(*drug_classes) if not c.planned]


def _planned(ctx: Context, *drug_classes: str) -> list[Course]:
    """Courses being prescribed right now (start on the as-of date)."""
    return [c for c in ctx.active(*drug_classes) if c.planned]


def _names(courses: Iterable[Course]) -> str:
    """Drug names for a sentence: "azathioprine", "azathioprine and 6-mercaptopurine"."""
    names = sorted({DRUG_NAMES.get(c.drug, c.drug).lower() for c in courses})
    return " and ".join(names)


def _exposure_start(ctx: Context, running: list[Course]) -> date:
    """Start of the current continuous thiopurine exposure.

    A switch between thiopurines (AZA → 6-MP) with a gap shorter than `treatment_gap_days` is
    one exposure: its start is what "pre-AZA baseline" and "≥ 6 months on a thiopurine" refer to.
    """
    start = min(c.started_on for c in running)
    gap = ctx.p("treatment_gap_days")
    earlier = sorted(
        (c for c in ctx.courses if c.drug_class == THIOPURINE and c.stopped_on is not None), key=lambda c: c.stopped_on
    )
    for course in reversed(earlier):
        if course.started_on < start and days_between(course.stopped_on, start) <= gap:
            start = course.started_on
    return start


# -- pharmacogenetics --------------------------------------------------------------------------


def _latest_results(ctx: Context) -> dict[str, Pharmacogenetic]:
    """The latest interpretable TPMT / NUDT15 result per gene (indeterminate results do not count)."""
    latest: dict[str, Pharmacogenetic] = {}
    for result in ctx.t.pharmacogenetics:
        if result.phenotype != "indeterminate":
            latest[result.gene] = result  # sorted oldest first: the last one wins
    return latest


def _is_deficient(result: Pharmacogenetic) -> bool:
    if result.phenotype == "poor":
        return True
    # The lab's category may lag its own cut-off: an activity below it is deficient too.
    return (
        result.activity is not None
        and result.deficiency_cutoff is not None
        and result.activity < result.deficiency_cutoff
    )


def _pgx_evidence(result: Pharmacogenetic) -> dict[str, Any]:
    item: dict[str, Any] = {
        "gene": GENE_NAMES.get(result.gene, result.gene),
        "phenotype": result.phenotype,
        "date": result.on.isoformat(),
    }
    if result.activity is not None:
        item["activity"] = result.activity
        item["deficiency_cutoff"] = result.deficiency_cutoff
    return item


# -- labs --------------------------------------------------------------------------------------


def _recent(ctx: Context, code: str, max_age_days: int) -> Lab | None:
    """The latest result no older than `max_age_days` before the as-of date."""
    lab = ctx.last(code)
    return lab if lab is not None and days_between(lab.on, ctx.as_of) <= max_age_days else None


def _paired(ctx: Context, code: str, on: date) -> Lab | None:
    """The result of `code` drawn with a reference result on `on` (same panel, within the pairing window)."""
    lab = ctx.last(code, on)
    return lab if lab is not None and days_between(lab.on, on) <= ctx.p("thiopurine_lab_pairing_days") else None


def _above_uln(lab: Lab | None, multiple: float = 1.0) -> bool | None:
    """lab > multiple × its ULN; None when there is no result or no ULN."""
    if lab is None or not lab.uln:
        return None
    return is_above(lab.value, lab.uln, multiple)


def _count_grades(ctx: Context) -> list[tuple[str, Lab, Severity, float]]:
    """AZA-06 grading of the latest current blood counts (engine/schedule.py current_result):
    (code, lab, severity, threshold crossed)."""
    grades = (Severity.WARNING, Severity.HIGH, Severity.CRITICAL)
    ladders = {
        "neutrophils": zip(ctx.p("neutrophil_thresholds"), grades, strict=False),
        "platelets": zip(ctx.p("platelet_thresholds"), grades, strict=False),
        "wbc": zip(ctx.p("wbc_thresholds"), grades, strict=False),
        "lymphocytes": [(ctx.p("lymphocyte_threshold"), Severity.WARNING)],
    }
    graded = []
    for code in FBC_COUNTS:
        lab = current_result(ctx, code).lab if current_result(ctx, code).current else None
        if lab is None:
            continue
        crossed = [(threshold, severity) for threshold, severity in ladders[code] if lab.value < threshold]
        if crossed:
            threshold, severity = max(crossed, key=lambda item: item[1])
            graded.append((code, lab, severity, threshold))
    return graded


# -- metabolites -------------------------------------------------------------------------------


def _last_change(ctx: Context, running: list[Course]) -> date:
    """Last event that changes thiopurine exposure: a start, a dose change, or a xanthine-oxidase inhibitor start."""
    events = [c.started_on for c in running]
    events += [dose.on for c in running for dose in c.doses]
    events += [c.started_on for c in _running(ctx, DrugClass.XANTHINE_OXIDASE_INHIBITOR)]
    return max(events)


def _metabolites(ctx: Context) -> tuple[Lab | None, Lab | None, list[Course]] | None:
    """The current 6-TGN and 6-MMP on a running thiopurine: (tgn, mmp, running courses) or None.

    A draw older than the last start, dose change or allopurinol start no longer describes the
    current exposure (the alert clears once the dose was acted on). 6-MMP is paired with the
    6-TGN of the same draw.
    """
    running = _running(ctx, THIOPURINE)
    if not running:
        return None
    since = _last_change(ctx, running)
    tgn, mmp = ctx.last("tgn"), ctx.last("mmp")
    tgn = tgn if tgn is not None and tgn.on >= since else None
    mmp = mmp if mmp is not None and mmp.on >= since else None
    if tgn is not None and mmp is not None and abs(days_between(tgn.on, mmp.on)) > ctx.p("thiopurine_lab_pairing_days"):
        if tgn.on > mmp.on:
            mmp = None
        else:
            tgn = None
    if tgn is None and mmp is None:
        return None
    return tgn, mmp, running


def _metabolite_evidence(ctx: Context, tgn: Lab | None, mmp: Lab | None) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    if tgn is not None:
        evidence["tgn"] = lab_evidence("tgn", tgn)
    if mmp is not None:
        evidence["mmp"] = lab_evidence("mmp", mmp)
    if tgn is not None and mmp is not None and tgn.value:
        evidence["mmp_tgn_ratio"] = round(metabolite_ratio(mmp.value, tgn.value), 1)
    # The draw before, for the trend.
    previous = []
    for code, lab in (("tgn", tgn), ("mmp", mmp)):
        if lab is not None and (before := ctx.last(code, days_after(lab.on, -1))) is not None:
            previous.append(lab_evidence(code, before))
    if previous:
        evidence["previous"] = previous
    return evidence


def _tgn_low(ctx: Context, tgn: Lab) -> bool:
    return tgn.value < ctx.p("tgn_low")


def _mmp_high(ctx: Context, mmp: Lab) -> bool:
    return mmp.value > ctx.p("mmp_high")


def _shunting(ctx: Context, tgn: Lab, mmp: Lab) -> bool:
    """Preferential methylation: 6-MMP high, or 6-MMP/6-TGN above the ratio cut-off."""
    if _mmp_high(ctx, mmp):
        return True
    return bool(tgn.value) and metabolite_ratio(mmp.value, tgn.value) > ctx.p("mmp_tgn_ratio_high")


def _hepatotoxic_mmp(ctx: Context) -> tuple[Lab, list[tuple[str, Lab]]] | None:
    """HEP-02 pattern: 6-MMP above the cut-off with ALT, ALP or GGT above the ULN (latest results)."""
    draw = _metabolites(ctx)
    if draw is None:
        return None
    _, mmp, running = draw
    if mmp is None or not _mmp_high(ctx, mmp):
        return None
    start = _exposure_start(ctx, running)
    abnormal = [
        (code, lab)
        for code in ("alt", "alp", "ggt")
        if (lab := ctx.last(code)) is not None and lab.on >= start and ctx.is_normal(lab) is False
    ]
    return (mmp, abnormal) if abnormal else None


# == §2.3 Azathioprine safety ==================================================================


@rule("AZA-01", family=Family.THIOPURINE, title="No TPMT result before a thiopurine", source="S000, S001; CPIC (E-v)")
def no_tpmt_result(ctx: Context):
    planned, running = _planned(ctx, THIOPURINE), _running(ctx, THIOPURINE)
    if not (planned or running) or "tpmt" in _latest_results(ctx):
        return None
    indeterminate = [r for r in ctx.t.pharmacogenetics if r.gene == "tpmt"]
    severity = Severity.CRITICAL if planned else Severity.HIGH
    courses = planned or running
    state = "being prescribed" if planned else "already running"
    evidence: dict[str, Any] = {
        "thiopurine": _names(courses),
        "status": "planned" if planned else "running",
        "since": min(c.started_on for c in courses).isoformat(),
        "tpmt_result": "none on file",
    }
    if indeterminate:
        evidence["tpmt_result"] = "indeterminate only"
        evidence["indeterminate_results"] = [_pgx_evidence(r) for r in indeterminate]
    return Finding(
        "AZA-01",
        severity,
        f"No TPMT result on file: {_names(courses)} {state}.",
        evidence,
        "Order TPMT activity or genotype, and NUDT15 genotype where available (especially East Asian or Hispanic "
        "ancestry), and hold the start until the result is back. TPMT activity is unreliable after a recent "
        "blood transfusion.",
        'S000, S001 ("check TPMT ... to exclude homozygote deficiency"); CPIC (E-v); NUDT15 advice E-m',
        {},
    )


@rule("AZA-02", family=Family.THIOPURINE, title="TPMT or NUDT15 poor metaboliser (also CI-08)", source=SRC_CPIC)
def poor_metaboliser(ctx: Context):
    courses = ctx.active(THIOPURINE)
    if not courses:
        return None
    deficient = [r for r in _latest_results(ctx).values() if _is_deficient(r)]
    if not deficient:
        return None
    genes = " and ".join(GENE_NAMES.get(r.gene, r.gene) for r in deficient)
    return Finding(
        "AZA-02",
        Severity.CRITICAL,
        f"{genes} poor metaboliser (deficient) on {_names(courses)}: risk of life-threatening myelosuppression.",
        {
            "thiopurine": _names(courses),
            "status": "planned" if all(c.planned for c in courses) else "running",
            "results": [_pgx_evidence(r) for r in deficient],
            "also_listed_as": "CI-08",
        },
        "Avoid the thiopurine and use an alternative such as MMF. If one is used anyway (CPIC), reduce the daily "
        "dose 10-fold and give it 3 times a week, under specialist care.",
        SRC_CPIC + '; S000 ("complete TPMT deficiency → prednisone monotherapy"); CI-08',
        {},
    )


@rule("AZA-03", family=Family.THIOPURINE, title="TPMT or NUDT15 intermediate metaboliser", source=SRC_CPIC)
def intermediate_metaboliser(ctx: Context):
    planned, running = _planned(ctx, THIOPURINE), _running(ctx, THIOPURINE)
    if not (planned or running):
        return None
    latest = _latest_results(ctx)
    if any(_is_deficient(r) for r in latest.values()):
        return None  # AZA-02's problem
    intermediate = [r for r in latest.values() if r.phenotype == "intermediate"]
    if not intermediate:
        return None
    evidence: dict[str, Any] = {
        "thiopurine": _names(planned or running),
        "results": [_pgx_evidence(r) for r in intermediate],
    }
    if not planned:
        # Already running: quiet once the azathioprine dose is within the reduced range.
        reduced_ceiling = ctx.p("aza_mg_per_kg_range")[1] * ctx.p("intermediate_metaboliser_max_fraction")
        weight = ctx.weight_on()
        doses = [c.dose_on(ctx.as_of) for c in running if c.drug == "azathioprine"]
        if weight and doses and len(doses) == len(running) and all(dose is not None for dose in doses):
            dose_per_kg = mg_per_kg(sum(doses), weight)
            evidence |= {"mg_per_kg": round(dose_per_kg, 2), "weight_kg": weight, "reduced_ceiling": reduced_ceiling}
            if not is_above(sum(doses), weight, reduced_ceiling):
                return None
    genes = " and ".join(GENE_NAMES.get(r.gene, r.gene) for r in intermediate)
    return Finding(
        "AZA-03",
        Severity.WARNING,
        f"{genes} intermediate metaboliser: use a reduced {_names(planned or running)} dose.",
        evidence,
        "Start at 30-80% of the normal dose and titrate on the blood count. (CPIC's normal dose is 2-3 mg/kg/day; "
        "AIH targets 1-2 mg/kg/day.)",
        SRC_CPIC,
        {},
    )


@rule("AZA-04", family=Family.THIOPURINE, title="Bilirubin too high to start AZA", source="S000, S001")
def bilirubin_too_high_to_start(ctx: Context):
    planned = _planned(ctx, THIOPURINE)
    if not planned:
        return None
    bilirubin = _recent(ctx, "bilirubin", ctx.p("aza_baseline_labs_max_age_days"))
    if bilirubin is None:
        return NotEvaluable(
            "AZA-04", f"no bilirubin in the {ctx.p('aza_baseline_labs_max_age_days')} days before the planned start"
        )
    limit = ctx.p("aza_max_bilirubin_umol_l")
    if not is_at_or_above(bilirubin.value, limit):
        return None
    return Finding(
        "AZA-04",
        Severity.HIGH,
        f"Bilirubin {bilirubin.value:g} µmol/L is at or above {limit:g} µmol/L (6 mg/dL): too high to start "
        f"{_names(planned)}.",
        {"bilirubin": lab_evidence("bilirubin", bilirubin), "limit_umol_l": limit, "thiopurine": _names(planned)},
        "Defer azathioprine and continue steroids.",
        'S000, S001 ("only start azathioprine when bilirubin is below 6 mg/dL"); EASL 2015 (E-m); A-11',
        {},
    )


@rule("AZA-05", family=Family.THIOPURINE, title="Baseline cytopenia", source="S000")
def baseline_cytopenia(ctx: Context):
    planned = _planned(ctx, THIOPURINE)
    if not planned:
        return None
    max_age = ctx.p("aza_baseline_labs_max_age_days")
    limits = {"wbc": ctx.p("aza_min_baseline_wbc"), "platelets": ctx.p("aza_min_baseline_platelets")}
    counts = {code: _recent(ctx, code, max_age) for code in limits}
    low = {code: lab for code, lab in counts.items() if lab is not None and lab.value < limits[code]}
    if not low:
        missing = [code for code, lab in counts.items() if lab is None]
        if missing:
            names = " and ".join("white cell count" if code == "wbc" else "platelet count" for code in missing)
            return NotEvaluable("AZA-05", f"no {names} in the {max_age} days before the planned start")
        return None
    described = ", ".join(f"{lab_evidence(code, lab)['test']} {lab.value:g}" for code, lab in low.items())
    return Finding(
        "AZA-05",
        Severity.HIGH,
        f"Low blood count before starting {_names(planned)}: {described} ×10⁹/L.",
        {
            "counts": [lab_evidence(code, lab) | {"limit": limits[code]} for code, lab in low.items()],
            "thiopurine": _names(planned),
        },
        "Azathioprine not advised. The seeds list predniso(lo)ne monotherapy for this situation; alternatives need "
        "a specialist decision.",
        "S000 (WBC < 2.5, platelets < 50); S001; AASLD 2002/2010 (E-m)",
        {},
    )


@rule("AZA-06", family=Family.THIOPURINE, title="On-treatment cytopenia (graded)", source="S004; NCI CTCAE v5.0 (E-m)")
def on_treatment_cytopenia(ctx: Context):
    running = _running(ctx, THIOPURINE, DrugClass.MYCOPHENOLATE)
    if not running:
        return None
    if not any(ctx.last(code) for code in FBC_COUNTS):
        return NotEvaluable("AZA-06", "no blood count on file")
    currency = [current_result(ctx, code) for code in FBC_COUNTS]
    if not any(c.current for c in currency):
        return NotEvaluable("AZA-06", "; ".join(c.why_not for c in currency if c.lab is not None))
    graded = _count_grades(ctx)
    if not graded:
        return None
    worst = max(severity for _, _, severity, _ in graded)
    described = ", ".join(f"{lab_evidence(code, lab)['test'].lower()} {lab.value:g}" for code, lab, _, _ in graded)
    return Finding(
        "AZA-06",
        worst,
        f"Low blood count on {_names(running)}: {described} ×10⁹/L.",
        {
            "drug": _names(running),
            "counts": [
                lab_evidence(code, lab) | {"below": threshold, "grade": severity.label}
                for code, lab, severity, threshold in graded
            ],
        },
        {
            Severity.CRITICAL: "Stop the drug today and contact the patient: repeat the blood count, check for "
            "infection and fever; specialist review. Check 6-TGN.",
            Severity.HIGH: "Withhold the drug and repeat the blood count within 1 week; check 6-TGN and TPMT/NUDT15.",
            Severity.WARNING: "Repeat the blood count; consider a dose reduction and check 6-TGN at the next review.",
        }[worst],
        'S004 ("dose-dependent cytopenias"); NCI CTCAE v5.0 grades (E-m); A-16',
        {},
    )


@rule("AZA-07", family=Family.THIOPURINE, title="Dose outside 1-2 mg/kg/day", source="S000, S001")
def dose_outside_range(ctx: Context):
    courses = ctx.active_drug("azathioprine")
    if not courses:
        return None
    course = min(courses, key=lambda c: not c.planned)  # a dose being prescribed now takes precedence
    dose = course.dose_on(ctx.as_of)
    if dose is None:
        return NotEvaluable("AZA-07", "no azathioprine dose recorded")
    weight, why_not = ctx.current_weight()
    if weight is None:
        return NotEvaluable("AZA-07", why_not)
    low, high = ctx.p("aza_mg_per_kg_range")
    dose_per_kg = round(mg_per_kg(dose, weight), 2)
    evidence = {
        "dose_mg_per_day": dose,
        "weight_kg": weight,
        "mg_per_kg": dose_per_kg,
        "range_mg": [round(low * weight), round(high * weight)],
        "status": "planned" if course.planned else "running",
    }
    if is_above(dose, weight, high) and (escalation := escalation_regimen(ctx, dose, weight)) is not None:
        return Finding(
            "AZA-07",
            Severity.INFO,
            f"Azathioprine {dose:g} mg/day ({dose_per_kg:.2f} mg/kg/day) with {escalation['steroid'].lower()} "
            f"{escalation['steroid_mg_per_day']:g} mg/day: the escalation regimen for non-response.",
            evidence | escalation,
            "Continue for at least 1 month, then reassess the response; watch the blood count and liver tests "
            "closely at this dose.",
            'S001 ("escalate to ... prednisone (30 mg daily) with azathioprine (150 mg daily), continued for at '
            'least 1 month")',
            {},
        )
    if is_above(dose, weight, high):
        return Finding(
            "AZA-07",
            Severity.WARNING,
            f"Azathioprine {dose:g} mg/day at {weight:g} kg is {dose_per_kg:.2f} mg/kg/day (above {high:g}).",
            evidence,
            f"Check the dose: the AIH range is {low:g}-{high:g} mg/kg/day "
            f"({low * weight:.0f}-{high * weight:.0f} mg/day at this weight).",
            "S000, S001 (1-2 mg/kg/day)",
            {},
        )
    if is_at_or_above(dose, weight, low):
        return None
    state = ctx.response.current
    if state not in UNDER_TREATED or _running(ctx, DrugClass.XANTHINE_OXIDASE_INHIBITOR):
        return None  # low on purpose (remission, or deliberate low-dose AZA with allopurinol)
    return Finding(
        "AZA-07",
        Severity.INFO,
        f"Azathioprine {dose:g} mg/day is {dose_per_kg:.2f} mg/kg/day (below {low:g}) with {state.label.lower()}.",
        evidence | {"response": state.value},
        "Consider raising the dose within 1-2 mg/kg/day if the blood count allows; check adherence and "
        "6-TGN/6-MMP first.",
        "S000, S001 (1-2 mg/kg/day)",
        {},
    )


def dose_before_allopurinol(thiopurine: Course, allopurinol_start: date, window_days: int) -> float | None:
    """The thiopurine dose to judge the allopurinol reduction against.

    A reduction made within `window_days` before allopurinol started anticipated it, so the reference
    is the highest dose taken in that window (up to the day before the start), not the dose the day before.
    """
    window_start = days_after(allopurinol_start, -window_days)
    doses = [thiopurine.dose_on(days_after(window_start, -1))]
    doses += [dose.mg_per_day for dose in thiopurine.doses if window_start <= dose.on < allopurinol_start]
    known = [dose for dose in doses if dose is not None]
    return max(known) if known else None


def _allopurinol_problem(ctx: Context, thiopurine: Course, allopurinol: Course) -> dict[str, Any] | None:
    """Evidence when the thiopurine dose is not reduced enough for the allopurinol, else None.

    Allopurinol added to a running thiopurine: compare with the dose before allopurinol (spec).
    Thiopurine started on top of allopurinol (no dose before it): compare azathioprine mg/kg with
    `xo_inhibitor_new_aza_max_mg_per_kg`; for 6-MP no reference exists (NotEvaluable upstream).
    """
    dose = thiopurine.dose_on(ctx.as_of)
    if dose is None:
        return {"missing": f"no {DRUG_NAMES[thiopurine.drug].lower()} dose recorded"}
    evidence: dict[str, Any] = {
        "thiopurine": DRUG_NAMES[thiopurine.drug].lower(),
        "dose_mg_per_day": dose,
        "allopurinol_start": allopurinol.started_on.isoformat(),
    }
    if thiopurine.started_on < allopurinol.started_on:
        before = dose_before_allopurinol(
            thiopurine, allopurinol.started_on, int(ctx.p("allopurinol_reduction_window_days"))
        )
        if before is None:
            return {"missing": f"no {DRUG_NAMES[thiopurine.drug].lower()} dose before allopurinol"}
        fraction = ctx.p("xo_inhibitor_max_aza_fraction")
        evidence |= {"dose_before_allopurinol": before, "fraction_of_before": round(dose / before, 2)}
        return evidence if is_above(dose, before, fraction) else None
    if thiopurine.drug != "azathioprine":
        return {"missing": "a 6-MP dose before allopurinol to judge the reduction against"}
    weight = ctx.weight_on()
    if weight is None:
        return {"missing": "no weight to judge the azathioprine dose started on allopurinol"}
    ceiling = ctx.p("xo_inhibitor_new_aza_max_mg_per_kg")
    evidence |= {"weight_kg": weight, "mg_per_kg": round(mg_per_kg(dose, weight), 2), "max_mg_per_kg": ceiling}
    return evidence if is_above(dose, weight, ceiling) else None


@rule(
    "AZA-08",
    family=Family.THIOPURINE,
    title="Xanthine-oxidase inhibitor interaction (also CI-09)",
    source="label interaction (E-m)",
)
def xanthine_oxidase_interaction(ctx: Context):
    thiopurines = ctx.active_drug(*XO_SENSITIVE)
    if not thiopurines:
        return None
    source = "Label interaction (E-m); S004 (low-dose AZA + allopurinol, Weltzsch et al., Hepatology 2024); CI-09"
    action = (
        "Reduce azathioprine/6-MP to ¼-⅓ of the dose (for example 150 → 37.5-50 mg) under specialist supervision, "
        "monitor the blood count closely and re-measure metabolites."
    )
    febuxostat = ctx.active_drug("febuxostat")
    if febuxostat:
        return Finding(
            "AZA-08",
            Severity.CRITICAL,
            f"Febuxostat with {_names(thiopurines)}: dangerous interaction (bone-marrow suppression).",
            {
                "thiopurine": _names(thiopurines),
                "febuxostat_start": febuxostat[0].started_on.isoformat(),
                "also_listed_as": "CI-09",
            },
            "Do not combine: stop febuxostat (choose another urate-lowering approach) or the thiopurine, with the "
            "specialist. " + action,
            source,
            {},
        )
    allopurinol = ctx.active_drug("allopurinol")
    if not allopurinol:
        return None
    for thiopurine in thiopurines:
        for xo in allopurinol:
            problem = _allopurinol_problem(ctx, thiopurine, xo)
            if problem is None:
                continue
            if "missing" in problem:
                return NotEvaluable("AZA-08", problem["missing"])
            name = DRUG_NAMES[thiopurine.drug].lower()
            if "dose_before_allopurinol" in problem:
                detail = f"{problem['dose_mg_per_day']:g} mg/day, {problem['fraction_of_before']:.0%} of the "
                detail += f"{problem['dose_before_allopurinol']:g} mg/day before allopurinol"
            else:
                detail = f"{problem['dose_mg_per_day']:g} mg/day ({problem['mg_per_kg']:.2f} mg/kg) started on "
                detail += "allopurinol"
            return Finding(
                "AZA-08",
                Severity.CRITICAL,
                f"Allopurinol with {name} not reduced enough: {detail}.",
                problem | {"also_listed_as": "CI-09"},
                action,
                source,
                {},
            )
    return None


@rule("AZA-09", family=Family.THIOPURINE, title="AZA started < 14 days after steroids", source="S000; A-1")
def no_steroid_lead_in(ctx: Context):
    t0 = ctx.t0
    if t0 is None:
        return None
    era = [c for c in ctx.courses if c.started_on >= t0]
    thiopurines = [c for c in era if c.drug_class == THIOPURINE]
    steroids = [c for c in era if c.is_steroid]
    if not thiopurines or not steroids:
        return None
    thio_start = min(c.started_on for c in thiopurines)
    steroid_start = min(c.started_on for c in steroids)
    planned = any(c.planned for c in thiopurines)
    # Shown while prescribing and during the first months (when hepatotoxicity vs non-response matters).
    if not planned and ctx.as_of > months_after(thio_start, ctx.p("aza_timing_info_months")):
        return None
    lead_in = days_between(steroid_start, thio_start)
    if abs(lead_in) >= ctx.p("aza_steroid_lead_in_days"):
        return None
    in_acute = any(
        e.presented_on <= thio_start and (e.ended_on is None or e.ended_on >= steroid_start)
        for e in ctx.t.acute_episodes
    )
    if in_acute:
        return None  # AS-AIH: the lead-in question does not apply
    return Finding(
        "AZA-09",
        Severity.INFO,
        f"{_names(thiopurines).capitalize()} started "
        + (f"{lead_in} days after" if lead_in >= 0 else f"{-lead_in} days before")
        + f" steroids (suggested lead-in {ctx.p('aza_steroid_lead_in_days')} days).",
        {"steroid_start": steroid_start.isoformat(), "thiopurine_start": thio_start.isoformat(), "days": lead_in},
        "Information only. A 2-week steroid lead-in helps tell azathioprine hepatotoxicity apart from primary "
        "non-response.",
        'S000 ("delay by 2 weeks"); S001 (contradictory); S004 ("some algorithms"); A-1',
        {},
    )


@rule("AZA-10", family=Family.THIOPURINE, title="Pregnancy on AZA", source="S000; A-13")
def pregnancy_on_thiopurine(ctx: Context):
    courses = ctx.active(THIOPURINE)
    if not courses or not ctx.is_pregnant():
        return None
    pregnancy = next(p for p in ctx.t.pregnancies if p.kind == "pregnant" and p.covers(ctx.as_of))
    return Finding(
        "AZA-10",
        Severity.INFO,
        f"Pregnant on {_names(courses)}: specialist review (do not stop automatically).",
        {"thiopurine": _names(courses), "pregnancy_since": pregnancy.start.isoformat()},
        "Specialist review. Do not auto-stop: current guidelines generally continue azathioprine in pregnancy.",
        "S000 (pregnancy listed for prednisone monotherapy); current guidance continues AZA (E-m); A-13",
        {},
    )


# == §2.4 Suspected AZA hepatotoxicity =========================================================


def _hep01_supporting(ctx: Context, start: date, onset: date) -> list[str]:
    """What makes AZA hepatotoxicity more likely (S004): early onset, pruritus, jaundice, rash, eosinophilia."""
    features = []
    if onset <= months_after(start, ctx.p("hep_early_onset_months")):
        features.append(f"onset within {ctx.p('hep_early_onset_months')} months of starting")
    for event in ctx.t.adverse_events:
        if event.on >= start and event.kind in HEP_SUPPORTING_EVENTS and event.kind not in features:
            features.append(event.kind)
    eosinophils = ctx.last("eosinophils")
    if (
        eosinophils is not None
        and eosinophils.on >= start
        and _above_uln(eosinophils)
        and "eosinophilia" not in features
    ):
        features.append("eosinophilia")
    return features


@rule(
    "HEP-01",
    family=Family.THIOPURINE,
    title="Cholestatic or mixed liver injury on a thiopurine",
    source="S004; DILI case definition (Aithal 2011, E-m)",
)
def cholestatic_injury(ctx: Context):
    running = _running(ctx, THIOPURINE)
    if not running:
        return None
    start = _exposure_start(ctx, running)
    alp = ctx.last("alp")
    if alp is None or alp.on <= start or not alp.uln:
        return None
    baseline = ctx.last("alp", start)
    raised_2x = is_at_or_above(alp.value, alp.uln, ctx.p("hep_alp_uln_multiple"))
    raised_vs_baseline = bool(
        baseline
        and baseline.value
        and is_above(alp.value, alp.uln)
        and is_at_or_above(alp.value, baseline.value, ctx.p("hep_alp_baseline_multiple"))
    )
    if not (raised_2x or raised_vs_baseline):
        return None
    alt = _paired(ctx, "alt", alp.on)
    if alt is None or not alt.uln:
        return NotEvaluable("HEP-01", "no ALT (with ULN) drawn with the raised ALP to compute R")
    ratio = r_ratio(alt.value, alt.uln, alp.value, alp.uln)
    ggt = _paired(ctx, "ggt", alp.on)
    ggt_raised = _above_uln(ggt)
    if ratio <= ctx.p("hep_r_ratio_cholestatic_max"):
        pattern = "cholestatic"
        # A normal GGT says the ALP is probably not from the liver (bone); a missing GGT does not stop it.
        if ggt_raised is False:
            return None
    elif ratio < ctx.p("hep_r_ratio_mixed_max"):
        pattern = "mixed"
        if ggt_raised is None:
            return NotEvaluable("HEP-01", "no GGT drawn with the raised ALP (needed for a mixed pattern)")
        if not ggt_raised:
            return None
    else:
        return None  # hepatocellular: more consistent with AIH activity
    bilirubin = _paired(ctx, "bilirubin", alp.on)
    jaundiced = bool(_above_uln(bilirubin, ctx.p("hep_bilirubin_uln_multiple")))
    supporting = _hep01_supporting(ctx, start, alp.on)
    evidence: dict[str, Any] = {
        "alp": lab_evidence("alp", alp),
        "alt": lab_evidence("alt", alt),
        "r_ratio": round(ratio, 2),
        "pattern": pattern,
        "alp_baseline": lab_evidence("alp", baseline) if baseline else None,
        "thiopurine": _names(running),
        "thiopurine_start": start.isoformat(),
        "supporting_features": supporting,
    }
    if ggt is not None:
        evidence["ggt"] = lab_evidence("ggt", ggt)
    if bilirubin is not None:
        evidence["bilirubin"] = lab_evidence("bilirubin", bilirubin)
    if baseline and baseline.value:
        evidence["alp_x_baseline"] = round(alp.value / baseline.value, 2)
    weight = f"; more likely: {', '.join(supporting)}" if supporting else ""
    return Finding(
        "HEP-01",
        Severity.CRITICAL if jaundiced else Severity.HIGH,
        f"Suspected AZA-induced cholestasis: ALP {fold_uln(alp.value, alp.uln):.2f}× ULN, R {ratio:.2f} ({pattern})"
        + (", bilirubin > 2× ULN" if jaundiced else "")
        + weight
        + ".",
        evidence,
        "Consider stopping azathioprine promptly. Exclude biliary obstruction and a PSC/PBC variant (imaging, "
        "AMA). Check 6-MMP. Do not escalate steroids as for non-response. Rechallenge is generally contraindicated; "
        "cross-toxicity with 6-MP is possible.",
        "S004 (disproportionate ALP/GGT rise; usually within 3 months; stop AZA); DILI thresholds "
        "(Aithal et al., Clin Pharmacol Ther 2011, E-m)",
        {},
    )


@rule(
    "HEP-02",
    family=Family.THIOPURINE,
    title="High 6-MMP with abnormal LFTs",
    source="S004; Dubinsky et al., Gastroenterology 2000;118:705 (E-v)",
)
def high_mmp_abnormal_lfts(ctx: Context):
    pattern = _hepatotoxic_mmp(ctx)
    if pattern is None:
        return None
    mmp, abnormal = pattern
    tgn = ctx.last("tgn", mmp.on)
    tgn = tgn if tgn is not None and days_between(tgn.on, mmp.on) <= ctx.p("thiopurine_lab_pairing_days") else None
    described = ", ".join(f"{code.upper()} {fold_uln(lab.value, lab.uln):.2f}× ULN" for code, lab in abnormal)
    return Finding(
        "HEP-02",
        Severity.HIGH,
        f"6-MMP {mmp.value:g} (above {ctx.p('mmp_high'):g}) with abnormal liver tests: {described}.",
        _metabolite_evidence(ctx, tgn, mmp) | {"liver_tests": [lab_evidence(code, lab) for code, lab in abnormal]},
        "Reduce azathioprine, consider allopurinol co-therapy with an azathioprine reduction (AZA-08), or switch.",
        "S004; Dubinsky et al., Gastroenterology 2000;118:705 (6-MMP > 5700, E-v)",
        {},
    )


@rule("HEP-03", family=Family.THIOPURINE, title="Hy's-law-type pattern on AZA", source="FDA DILI guidance (E-m)")
def hys_law_pattern(ctx: Context):
    running = _running(ctx, THIOPURINE)
    if not running:
        return None
    start = _exposure_start(ctx, running)
    alt_multiple = ctx.p("hep_alt_uln_multiple")
    bili_multiple = ctx.p("hep_bilirubin_uln_multiple")

    def pattern_on(alt: Lab) -> Lab | None:
        """The bilirubin that makes this ALT a Hy's-law pair, or None."""
        bilirubin = _paired(ctx, "bilirubin", alt.on)
        if alt.uln and is_at_or_above(alt.value, alt.uln, alt_multiple) and _above_uln(bilirubin, bili_multiple):
            return bilirubin
        return None

    alt = ctx.last("alt")
    if alt is None or alt.on <= start or (bilirubin := pattern_on(alt)) is None:
        return None
    # "New after AZA start": not a pattern that has run on unbroken from before the start (the
    # presenting AIH flare). It is new if the baseline did not show it, or it lapsed on treatment.
    baseline = ctx.last("alt", start)
    on_treatment = list(ctx.window("alt", days_after(start, 1), alt.on))
    if baseline is not None and all(pattern_on(lab) for lab in [baseline, *on_treatment]):
        return None
    alp = _paired(ctx, "alp", alt.on)
    if alp is not None and alp.uln and is_at_or_above(alp.value, alp.uln, ctx.p("hep_alp_uln_multiple")):
        return None  # ALP ≥ 2× ULN: a cholestatic injury, HEP-01's problem
    evidence: dict[str, Any] = {
        "alt": lab_evidence("alt", alt),
        "bilirubin": lab_evidence("bilirubin", bilirubin),
        "alp": lab_evidence("alp", alp) if alp else "not measured",
        "thiopurine": _names(running),
        "thiopurine_start": start.isoformat(),
    }
    return Finding(
        "HEP-03",
        Severity.CRITICAL,
        f"ALT {fold_uln(alt.value, alt.uln):.1f}× ULN with bilirubin {fold_uln(bilirubin.value, bilirubin.uln):.1f}× "
        f"ULN on {_names(running)} (Hy's-law pattern).",
        evidence,
        "Urgent review today. In AIH this is hard to tell apart from a flare: consider drug-induced liver injury "
        "and whether to stop the thiopurine.",
        "FDA DILI guidance convention (E-m)",
        {},
    )


@rule("HEP-04", family=Family.THIOPURINE, title="Possible nodular regenerative hyperplasia", source="S004 (proposal)")
def possible_nrh(ctx: Context):
    running = _running(ctx, THIOPURINE)
    if not running or ctx.has_cirrhosis:
        return None  # in cirrhosis portal hypertension explains the same signs
    start = _exposure_start(ctx, running)
    if ctx.as_of < months_after(start, ctx.p("nrh_min_thiopurine_months")):
        return None
    signs: list[str] = []
    evidence: dict[str, Any] = {"thiopurine": _names(running), "thiopurine_start": start.isoformat()}
    # Platelet limb: a fall from the pre-thiopurine baseline (or the first count on treatment).
    latest = ctx.last("platelets")
    reference = ctx.last("platelets", start) or next(iter(ctx.window("platelets", start, ctx.as_of)), None)
    platelets_judged = latest is not None and reference is not None and latest.on > reference.on
    if platelets_judged and reference.value:
        fall = (reference.value - latest.value) / reference.value
        if round(fall, 9) >= ctx.p("nrh_platelet_fall_fraction") and latest.value < ctx.p("nrh_platelet_below"):
            signs.append(f"platelets fell {fall:.0%} to {latest.value:g}")
            evidence["platelets"] = [lab_evidence("platelets", reference), lab_evidence("platelets", latest)]
            evidence["platelet_fall"] = round(fall, 3)
    # Portal-hypertension limb: splenomegaly or varices first seen after the start.
    seen_on_treatment = [v for v in ctx.t.visits if v.on > start]
    for sign in ("splenomegaly", "varices"):
        before = any(getattr(v, sign) for v in ctx.t.visits if v.on <= start)
        first = next((v for v in seen_on_treatment if getattr(v, sign)), None)
        if first is not None and not before:
            signs.append(f"new {sign}")
            evidence[sign] = first.on.isoformat()
    if not signs:
        examined = any(v.splenomegaly is not None or v.varices is not None for v in seen_on_treatment)
        if not platelets_judged and not examined:
            return NotEvaluable("HEP-04", "no platelet counts or spleen/varices findings since the thiopurine started")
        return None
    return Finding(
        "HEP-04",
        Severity.INFO,
        f"Possible nodular regenerative hyperplasia on {_names(running)}: {'; '.join(signs)}.",
        evidence | {"signs": signs},
        "Consider NRH: liver imaging/elastography and portal-hypertension assessment; discuss with a specialist "
        "(biopsy if needed).",
        "S004 (NRH on AZA and thioguanine); thresholds are a proposal",
        {},
    )


# == §2.5 Thiopurine metabolites ===============================================================


@rule("TPM-01", family=Family.THIOPURINE, title="Low 6-TGN, low 6-MMP (under-exposure)", source=SRC_S004_TABLE)
def under_exposure(ctx: Context):
    draw = _metabolites(ctx)
    if draw is None:
        return None
    tgn, mmp, _ = draw
    if tgn is None or not _tgn_low(ctx, tgn):
        return None
    if mmp is None:
        return NotEvaluable("TPM-01", "no 6-MMP with the low 6-TGN")
    if _shunting(ctx, tgn, mmp):
        return None  # TPM-02's pattern
    return Finding(
        "TPM-01",
        Severity.WARNING,
        f"6-TGN {tgn.value:g} is low (below {ctx.p('tgn_low'):g}) with low 6-MMP {mmp.value:g}: under-exposure or "
        "missed doses.",
        _metabolite_evidence(ctx, tgn, mmp),
        "Check adherence; raise the dose if tolerated; repeat metabolites in 2-4 weeks.",
        "S004 Table 1; AIH cut-off 220 Dhaliwal et al., Hepatology 2012 (E-v); IBD cut-off 235 Dubinsky 2000 (E-v)",
        {},
    )


@rule("TPM-02", family=Family.THIOPURINE, title="Preferential methylation (hypermethylator)", source=SRC_S004_TABLE)
def preferential_methylation(ctx: Context):
    draw = _metabolites(ctx)
    if draw is None:
        return None
    tgn, mmp, _ = draw
    if tgn is None or not _tgn_low(ctx, tgn):
        return None
    if mmp is None:
        return NotEvaluable("TPM-02", "no 6-MMP with the low 6-TGN")
    if not _shunting(ctx, tgn, mmp):
        return None
    ratio = metabolite_ratio(mmp.value, tgn.value)
    return Finding(
        "TPM-02",
        Severity.HIGH,
        f"6-TGN {tgn.value:g} low with 6-MMP {mmp.value:g} (ratio {ratio:.1f}): preferential methylation "
        "(hypermethylator).",
        _metabolite_evidence(ctx, tgn, mmp),
        "Consider low-dose azathioprine with allopurinol (see AZA-08 for the dose reduction) or a switch.",
        "S004 Table 1; ratio > 11 cut-off from IBD literature (E-m)",
        {},
    )


@rule("TPM-03", family=Family.THIOPURINE, title="High 6-TGN (myelotoxicity risk)", source=SRC_S004_TABLE)
def high_tgn(ctx: Context):
    draw = _metabolites(ctx)
    if draw is None:
        return None
    tgn, mmp, _ = draw
    if tgn is None or not tgn.value > ctx.p("tgn_high"):
        return None
    cytopenias = _count_grades(ctx)
    evidence = _metabolite_evidence(ctx, tgn, mmp)
    if cytopenias:
        evidence["cytopenia"] = [lab_evidence(code, lab) | {"below": t} for code, lab, _, t in cytopenias]
    return Finding(
        "TPM-03",
        Severity.HIGH if cytopenias else Severity.WARNING,
        f"6-TGN {tgn.value:g} is high (above {ctx.p('tgn_high'):g}): risk of bone-marrow toxicity"
        + (", and the blood count is low (AZA-06)." if cytopenias else "."),
        evidence,
        "Reduce the dose and recheck the blood count"
        + (" now; act on AZA-06." if cytopenias else "; recheck metabolites after 4 weeks."),
        "S004 (IBD threshold); lab reference ranges 235-450 (Mayo THIO, LabCorp, E-v)",
        {},
    )


@rule("TPM-04", family=Family.THIOPURINE, title="High 6-MMP (hepatotoxicity risk)", source=SRC_S004_TABLE)
def high_mmp(ctx: Context):
    """High 6-MMP with 6-TGN in range or high (a low 6-TGN is TPM-02's shunting pattern).

    With a high 6-TGN too, both risks of S004 Table 1 apply: TPM-03 carries the marrow, this the liver.
    """
    draw = _metabolites(ctx)
    if draw is None:
        return None
    tgn, mmp, _ = draw
    if tgn is None or mmp is None or not _mmp_high(ctx, mmp):
        return None
    if _tgn_low(ctx, tgn):
        return None  # TPM-02's pattern
    if _hepatotoxic_mmp(ctx) is not None:
        return None  # liver tests abnormal: HEP-02 (high) carries this problem
    if tgn.value > ctx.p("tgn_high"):
        message = (
            f"6-MMP {mmp.value:g} is high (above {ctx.p('mmp_high'):g}) and 6-TGN {tgn.value:g} is high too: "
            "risk of liver toxicity and nodular regenerative hyperplasia, besides the bone-marrow risk."
        )
        action = (
            "Reduce the azathioprine dose; monitor liver tests and the blood count; if liver tests or platelets "
            "worsen, consider a switch."
        )
    else:
        message = (
            f"6-MMP {mmp.value:g} is high (above {ctx.p('mmp_high'):g}) with adequate 6-TGN {tgn.value:g}: "
            "risk of liver toxicity."
        )
        action = (
            "Reduce the azathioprine dose; consider allopurinol co-therapy with a dose reduction (AZA-08); monitor "
            "liver tests."
        )
    return Finding(
        "TPM-04",
        Severity.WARNING,
        message,
        _metabolite_evidence(ctx, tgn, mmp),
        action,
        "S004 Table 1; Dubinsky 2000 (E-v)",
        {},
    )


@rule("TPM-05", family=Family.THIOPURINE, title="Adequate 6-TGN without response", source=SRC_S004_TABLE)
def pharmacological_non_response(ctx: Context):
    running = _running(ctx, THIOPURINE)
    if not running:
        return None
    state = ctx.response.current
    if state not in POOR_RESPONSE:
        return None
    draw = _metabolites(ctx)
    tgn = draw[0] if draw else None
    if tgn is None:
        return NotEvaluable("TPM-05", "no 6-TGN since the last thiopurine start or dose change")
    if tgn.value < ctx.p("tgn_low"):
        return None  # low 6-TGN: TPM-01 / TPM-02 explain the poor response
    if tgn.value > ctx.p("tgn_high"):
        return None  # high 6-TGN is not "adequate": TPM-03 (myelotoxicity, reduce the dose) carries it
    return Finding(
        "TPM-05",
        Severity.HIGH,
        f"6-TGN {tgn.value:g} is adequate but the response is poor ({state.label.lower()}): pharmacological "
        "non-response.",
        _metabolite_evidence(ctx, tgn, draw[1])
        | {"response": state.value, "response_since": ctx.response.since.isoformat()},
        "Consider a switch (MMF, calcineurin inhibitor) with a specialist.",
        "S004 Table 1",
        {},
    )
