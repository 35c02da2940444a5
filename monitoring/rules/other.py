"""Other rules (clinical-rules.md §2.12): OTH-03 (AIH-PBC variant) and OTH-05 (ciclosporin, 6-MP dose).

OTH-04 ("do not suppress treatment rules for negative serology") is a design rule, not a check:
no rule reads autoantibody status except OTH-03, and tests/rules/test_other.py proves a
seronegative patient gets the same findings as a seropositive one.
"""

from __future__ import annotations

from monitoring.engine.formulas import mg_per_kg, r_ratio
from monitoring.engine.timeline import Course
from monitoring.rules.base import Context, Family, Finding, NotEvaluable, Severity, days_after, lab_evidence, rule
from monitoring.rules.steroids import course_evidence, drug_name
from regimens.catalogue import DrugClass


# OTH-03 --------------------------------------------------------------------------------------
@rule("OTH-03", family=Family.OTHER, title="Possible AIH-PBC variant", source="S000")
def possible_aih_pbc_variant(ctx: Context):
    ama = [a for a in ctx.t.autoantibodies if a.kind == "ama"]
    if not ama or max(ama, key=lambda a: a.on).detail != "positive":
        return None  # the latest AMA decides
    if ctx.active(DrugClass.BILE_ACID):
        return None  # already on UDCA: the suggestion has been acted on
    alp = ctx.last("alp")
    if alp is None:
        return NotEvaluable("OTH-03", "AMA positive but no ALP result")
    alp_normal = ctx.is_normal(alp)
    if alp_normal is None:
        return NotEvaluable("OTH-03", "AMA positive but the last ALP has no upper limit of normal")
    if alp_normal:
        return None
    pair_days = ctx.p("variant_pbc_alt_alp_pair_days")
    alt = ctx.nearest("alt", alp.on, days_after(alp.on, -pair_days), days_after(alp.on, pair_days))
    if alt is None or not alt.uln:
        return NotEvaluable("OTH-03", f"no ALT (with its ULN) within {pair_days} days of the last ALP")
    r = r_ratio(alt.value, alt.uln, alp.value, alp.uln)
    r_max = ctx.p("variant_pbc_r_max")
    if r > r_max:
        return None
    low, high = ctx.p("udca_mg_per_kg_range")
    weight, _ = ctx.current_weight()  # an old weight gives no mg/day figure
    dose_text = f"{low:g}-{high:g} mg/kg/day"
    if weight is not None:
        dose_text += f" ({low * weight:.0f}-{high * weight:.0f} mg/day at {weight:g} kg)"
    return Finding(
        "OTH-03",
        Severity.INFO,
        f"Possible AIH-PBC variant: AMA positive, ALP {alp.fold_uln:.2f}× ULN, R ratio {r:.2f} (cholestatic).",
        {
            "ama": {"result": "positive", "date": max(a.on for a in ama).isoformat()},
            "alp": lab_evidence("alp", alp),
            "alt": lab_evidence("alt", alt),
            "r_ratio": round(r, 2),
        },
        f"Consider the AIH-PBC variant: add ursodeoxycholic acid {dose_text} to standard immunosuppression.",
        "S000 (AIH-PBC overlap: UDCA 13-15 mg/kg/day with standard immunosuppression)",
        {},
    )


# OTH-05 --------------------------------------------------------------------------------------
def _dose_per_kg(ctx: Context, course: Course) -> tuple[float, float, float] | NotEvaluable:
    """(mg/day, kg, mg/kg/day) for a running course, or what is missing."""
    dose = course.dose_on(ctx.as_of)
    if dose is None:
        return NotEvaluable("OTH-05", f"no {drug_name(course.drug)} dose recorded")
    weight, why_not = ctx.current_weight()
    if weight is None:
        return NotEvaluable("OTH-05", f"{why_not}: cannot check the {drug_name(course.drug)} dose per kg")
    # Rounded so 75 mg at 50 kg is exactly 1.5 mg/kg, not a float hair above it.
    return dose, weight, round(mg_per_kg(dose, weight), 6)


def _dose_finding(ctx: Context, course: Course, dose, weight, per_kg, expected: str, source: str) -> Finding:
    name = drug_name(course.drug)
    return Finding(
        "OTH-05",
        Severity.INFO,
        f"{name} {dose:g} mg/day is {per_kg:.2f} mg/kg/day at {weight:g} kg (usual {expected}).",
        {**course_evidence(course, ctx.as_of), "weight_kg": weight, "mg_per_kg": round(per_kg, 2)},
        f"Check the {name} dose (usual {expected}).",
        source,
        {},
    )


@rule("OTH-05", family=Family.OTHER, title="Ciclosporin or 6-MP dose per kg", source="S001")
def calcineurin_and_mercaptopurine_dose(ctx: Context):
    outcomes = []
    for course in ctx.active_drug("cyclosporine"):
        measured = _dose_per_kg(ctx, course)
        if isinstance(measured, NotEvaluable):
            outcomes.append(measured)
            continue
        low, high = ctx.p("cyclosporine_mg_per_kg_range")
        if not low <= measured[2] <= high:
            outcomes.append(
                _dose_finding(
                    ctx, course, *measured, f"{low:g}-{high:g} mg/kg/day", "S001 (ciclosporin 2-5 mg/kg daily)"
                )
            )
    for course in ctx.active_drug("mercaptopurine"):
        measured = _dose_per_kg(ctx, course)
        if isinstance(measured, NotEvaluable):
            outcomes.append(measured)
            continue
        # S001 gives 1.5 mg/kg/day for children. It is used as a ceiling at every age: AZA 2 mg/kg
        # corresponds to about 1 mg/kg of 6-MP, so an adult above 1.5 mg/kg is clearly high too.
        ceiling = ctx.p("mercaptopurine_max_mg_per_kg")
        if measured[2] > ceiling:
            outcomes.append(
                _dose_finding(
                    ctx, course, *measured, f"up to {ceiling:g} mg/kg/day", "S001 (6-MP 1.5 mg/kg daily, paediatric)"
                )
            )
    return outcomes
