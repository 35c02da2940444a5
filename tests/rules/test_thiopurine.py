"""AZA-01..10, HEP-01..04, TPM-01..05 and CI-08/CI-09 (clinical-rules.md §2.3, §2.4, §2.5, §2.7).

Rows cite the spec line they check. Labs are in canonical units: bilirubin µmol/L, counts 10⁹/L,
metabolites pmol/8×10⁸ RBC.
"""

from datetime import date

import pytest

from monitoring.rules import REGISTRY, load_rules
from monitoring.rules.base import Severity
from tests.timelines import AAA, TimelineBuilder, d, day, fired, not_evaluable, replace, run

TPM_RULES = ("TPM-01", "TPM-02", "TPM-03", "TPM-04")


def on_aza(dose: float = 100, start=AAA, weight: float | None = 70, tpmt: str | None = "normal") -> TimelineBuilder:
    """Prednisolone from 14 days before a running azathioprine course; TPMT normal by default."""
    timeline = TimelineBuilder().course("prednisolone", day(-14, d(start)), 30).course("azathioprine", start, dose)
    if weight is not None:
        timeline.weight(day(-14, d(start)), weight)
    if tpmt is not None:
        timeline.pgx("tpmt", tpmt)
    return timeline


def prescribing_aza(as_of, dose: float = 100, weight: float | None = 70, tpmt: str | None = "normal"):
    """Prednisolone running for 3 weeks; azathioprine being prescribed now (planned course)."""
    timeline = TimelineBuilder().course("prednisolone", day(-21, d(as_of)), 30)
    timeline.course("azathioprine", as_of, dose, planned=True)
    if weight is not None:
        timeline.weight(day(-21, d(as_of)), weight)
    if tpmt is not None:
        timeline.pgx("tpmt", tpmt)
    return timeline


def insufficient_response(dose: float = 100, weight: float = 70) -> TimelineBuilder:
    """Prednisolone + azathioprine from T0 = 2025-01-06; ALT and IgG still raised at month 6 (§1)."""
    timeline = TimelineBuilder().course("prednisolone", AAA, 30).course("azathioprine", AAA, dose)
    # weighed again at the month-6 visit: a dose per kg needs a current weight (issue 14)
    timeline.weight(AAA, weight).weight("2025-07-01", weight).pgx("tpmt", "normal")
    return timeline.lab("alt", day(-1), 620).lab("alt", "2025-07-01", 60).lab("igg", "2025-07-01", 20)


AFTER_6_MONTHS = "2025-07-10"


def test_ci08_and_ci09_are_not_separate_alerts():
    # §2.7 CI-08 "see AZA-02", CI-09 "see AZA-08": one alert per patient-problem.
    load_rules()
    assert "CI-08" not in REGISTRY and "CI-09" not in REGISTRY
    assert {"AZA-02", "AZA-08"} <= set(REGISTRY)


# AZA-01 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("planned", "results", "severity"),
    [
        (True, [], Severity.CRITICAL),  # §2.3 AZA-01: not yet started → critical
        (False, [], Severity.HIGH),  # §2.3 AZA-01: already running → high
        (True, [("tpmt", "normal")], None),  # TPMT phenotype on file
        (False, [("tpmt", "intermediate")], None),  # any TPMT result counts
        (True, [("nudt15", "normal")], Severity.CRITICAL),  # NUDT15 alone is not a TPMT result
        (True, [("tpmt", "indeterminate")], Severity.CRITICAL),  # unusable result (design: see module)
    ],
)
def test_aza01_no_tpmt_result(planned, results, severity):
    as_of = day(30)
    timeline = prescribing_aza(as_of, tpmt=None) if planned else on_aza(tpmt=None)
    for gene, phenotype in results:
        timeline.pgx(gene, phenotype)
    finding = fired(timeline, as_of, "AZA-01")
    assert (finding.severity if finding else None) == severity
    if finding:
        assert "NUDT15" in finding.action  # the brief: mention NUDT15 in the action


def test_aza01_result_after_the_as_of_date_does_not_count():
    timeline = on_aza(tpmt=None).pgx("tpmt", "normal", on=day(40))
    assert fired(timeline, day(30), "AZA-01") is not None
    assert fired(timeline, day(41), "AZA-01") is None


def test_aza01_quiet_without_a_thiopurine():
    timeline = TimelineBuilder().course("prednisolone", AAA, 30)
    assert fired(timeline, day(30), "AZA-01") is None
    assert not_evaluable(timeline, day(30), "AZA-01") is None
    stopped = TimelineBuilder().course("azathioprine", AAA, 100, stop=day(20))
    assert fired(stopped, day(30), "AZA-01") is None


# AZA-02 / CI-08 ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("gene", "phenotype", "activity", "cutoff", "rule"),
    [
        ("tpmt", "poor", None, None, "AZA-02"),  # §2.3 AZA-02: "poor metaboliser" / "deficient"
        ("nudt15", "poor", None, None, "AZA-02"),  # §2.3 AZA-02: TPMT or NUDT15
        ("tpmt", "intermediate", 5.0, 6.3, "AZA-02"),  # activity below the lab's deficiency cut-off
        ("tpmt", "intermediate", 6.3, 6.3, "AZA-03"),  # at the cut-off: not below it
        ("tpmt", "intermediate", None, None, "AZA-03"),  # §2.3 AZA-03: intermediate → warning
        ("tpmt", "normal", None, None, None),
        ("tpmt", "high", None, None, None),
    ],
)
def test_aza02_aza03_metaboliser_status(gene, phenotype, activity, cutoff, rule):
    as_of = day(30)
    timeline = prescribing_aza(as_of, tpmt=None).pgx(gene, phenotype, activity=activity, cutoff=cutoff)
    findings = {f.rule_id: f for f in run(timeline, as_of).findings}
    found = {"AZA-02", "AZA-03"} & set(findings)
    assert found == ({rule} if rule else set())
    if rule == "AZA-02":
        assert findings[rule].severity == Severity.CRITICAL
        assert findings[rule].evidence["also_listed_as"] == "CI-08"
    if rule == "AZA-03":
        assert findings[rule].severity == Severity.WARNING
        assert "30-80%" in findings[rule].action


def test_aza02_on_a_running_thiopurine_and_one_item_with_an_intermediate_other_gene():
    # §2.7 CI-08: thiopurine and poor metaboliser → critical; AZA-03 does not add a second item.
    timeline = on_aza(tpmt="intermediate").pgx("nudt15", "poor")
    evaluation = run(timeline, day(30))
    ids = [f.rule_id for f in evaluation.findings]
    assert "AZA-02" in ids and "AZA-03" not in ids and "CI-08" not in ids
    assert fired(timeline, day(30), "AZA-02").evidence["results"][0]["gene"] == "NUDT15"


def test_aza02_needs_a_thiopurine():
    timeline = TimelineBuilder().course("prednisolone", AAA, 30).pgx("tpmt", "poor")
    assert fired(timeline, day(30), "AZA-02") is None


@pytest.mark.parametrize(
    ("dose", "weight", "fires"),
    [
        (150, 72, True),  # 2.08 mg/kg: not reduced
        (100, 72, False),  # 1.39 mg/kg: within 80% of 2 mg/kg (CPIC 30-80%)
        (120, 75, False),  # exactly 1.6 mg/kg: boundary, reduced enough
        (121, 75, True),  # just above 1.6 mg/kg
        (100, None, True),  # no weight: the reduction cannot be confirmed
    ],
)
def test_aza03_running_course_quiet_once_the_dose_is_reduced(dose, weight, fires):
    timeline = on_aza(dose=dose, weight=weight, tpmt="intermediate")
    assert (fired(timeline, day(30), "AZA-03") is not None) is fires


# AZA-04 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bilirubin", "fires"),
    [
        (102.6, True),  # §2.3 AZA-04: ≥ 6 mg/dL = 102.6 µmol/L (boundary fires)
        (102.5, False),  # just below
        (150.0, True),
        (100.0, False),  # §3.1: 100 µmol/L = 5.848 mg/dL, below the seeds' cut-off (A-11)
        (85.0, False),  # §3.1: 85 µmol/L = 4.971 mg/dL
    ],
)
def test_aza04_bilirubin_too_high_to_start(bilirubin, fires):
    as_of = day(30)
    timeline = prescribing_aza(as_of).lab("bilirubin", day(28), bilirubin)
    finding = fired(timeline, as_of, "AZA-04")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.HIGH
        assert finding.parameters["aza_max_bilirubin_umol_l"] == 102.6
        assert finding.evidence["bilirubin"]["unit"] == "umol/L"


def test_aza04_follows_the_clinic_cut_off():
    # §5 A-11: EASL 2015 quotes 100 µmol/L; a clinic may choose it.
    timeline = prescribing_aza(day(30)).lab("bilirubin", day(28), 100.0)
    finding = fired(timeline, day(30), "AZA-04", aza_max_bilirubin_umol_l=100.0)
    assert finding.parameters["aza_max_bilirubin_umol_l"] == 100.0


@pytest.mark.parametrize(("drawn", "evaluable"), [(0, True), (30, True), (31, False)])
def test_aza04_needs_a_recent_bilirubin(drawn, evaluable):
    # design: the baseline must be no older than aza_baseline_labs_max_age_days (30)
    as_of = day(60)
    timeline = prescribing_aza(as_of).lab("bilirubin", day(-drawn, as_of), 150)
    assert (fired(timeline, as_of, "AZA-04") is not None) is evaluable
    assert (not_evaluable(timeline, as_of, "AZA-04") is None) is evaluable


def test_aza04_only_at_a_planned_start():
    # §2.3 AZA-04 "planned AZA start": a running course is not re-checked.
    timeline = on_aza().lab("bilirubin", day(28), 150)
    assert fired(timeline, day(30), "AZA-04") is None
    assert not_evaluable(on_aza(), day(30), "AZA-04") is None


# AZA-05 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("wbc", "platelets", "low"),
    [
        (2.4, 200, ["wbc"]),  # §2.3 AZA-05: WBC < 2.5
        (2.5, 200, []),  # boundary: 2.5 is not < 2.5
        (5.0, 49, ["platelets"]),  # platelets < 50
        (5.0, 50, []),  # boundary
        (2.0, 40, ["wbc", "platelets"]),  # both: one finding, both counts
    ],
)
def test_aza05_baseline_cytopenia(wbc, platelets, low):
    as_of = day(30)
    timeline = prescribing_aza(as_of).lab("wbc", day(29), wbc).lab("platelets", day(29), platelets)
    finding = fired(timeline, as_of, "AZA-05")
    names = [c["test"] for c in finding.evidence["counts"]] if finding else []
    assert names == [{"wbc": "White cells", "platelets": "Platelets"}[code] for code in low]
    if low:
        assert finding.severity == Severity.HIGH


def test_aza05_missing_count_is_not_evaluable_and_running_courses_are_left_to_aza06():
    as_of = day(30)
    assert (
        "white cell count"
        in not_evaluable(prescribing_aza(as_of).lab("platelets", day(29), 200), as_of, "AZA-05").missing
    )
    running = on_aza().lab("wbc", day(29), 2.0).lab("platelets", day(29), 200)
    assert fired(running, as_of, "AZA-05") is None


# AZA-06 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "value", "severity"),
    [
        ("neutrophils", 1.5, None),  # §2.3 AZA-06: < 1.5 warning (1.5 itself is not)
        ("neutrophils", 1.49, Severity.WARNING),
        ("neutrophils", 1.2, Severity.WARNING),
        ("neutrophils", 1.0, Severity.WARNING),  # boundary: < 1.0 is high
        ("neutrophils", 0.99, Severity.HIGH),
        ("neutrophils", 0.8, Severity.HIGH),
        ("neutrophils", 0.5, Severity.HIGH),  # boundary: < 0.5 is critical
        ("neutrophils", 0.49, Severity.CRITICAL),
        ("platelets", 75, None),  # platelets < 75 warning
        ("platelets", 74, Severity.WARNING),
        ("platelets", 50, Severity.WARNING),
        ("platelets", 49, Severity.HIGH),  # < 50 high
        ("platelets", 25, Severity.HIGH),
        ("platelets", 24, Severity.CRITICAL),  # < 25 critical
        ("wbc", 3.0, None),  # WBC < 3.0 warning
        ("wbc", 2.9, Severity.WARNING),
        ("wbc", 2.0, Severity.WARNING),
        ("wbc", 1.9, Severity.HIGH),  # < 2.0 high (no critical grade for WBC)
        ("wbc", 0.5, Severity.HIGH),
        ("lymphocytes", 0.5, None),  # lymphocytes < 0.5 warning
        ("lymphocytes", 0.49, Severity.WARNING),
        ("lymphocytes", 0.1, Severity.WARNING),
    ],
)
def test_aza06_graded_cytopenia(code, value, severity):
    timeline = on_aza().lab(code, day(40), value)
    finding = fired(timeline, day(41), "AZA-06")
    assert (finding.severity if finding else None) == severity


def test_aza06_severity_rises_as_the_evidence_gets_worse():
    # the brief: neutrophils 1.2 → 0.8 moves the one item from warning to high.
    timeline = on_aza().lab("neutrophils", day(40), 1.2).lab("neutrophils", day(47), 0.8)
    assert fired(timeline, day(41), "AZA-06").severity == Severity.WARNING
    assert fired(timeline, day(47), "AZA-06").severity == Severity.HIGH


def test_aza06_one_item_with_the_worst_grade_and_every_abnormal_count():
    timeline = on_aza().lab("neutrophils", day(40), 1.2).lab("platelets", day(40), 40).lab("wbc", day(40), 2.8)
    timeline.lab("lymphocytes", day(40), 1.1)
    evaluation = run(timeline, day(41))
    findings = [f for f in evaluation.findings if f.rule_id == "AZA-06"]
    assert len(findings) == 1
    assert findings[0].severity == Severity.HIGH  # platelets < 50
    counts = {c["test"]: c["grade"] for c in findings[0].evidence["counts"]}
    assert counts == {"Neutrophils": "warning", "Platelets": "high", "White cells": "warning"}
    assert findings[0].parameters["platelet_thresholds"] == [75.0, 50.0, 25.0]


def test_aza06_follows_the_clinic_thresholds():
    # §5 A-16: the clinic chooses the cytopenia thresholds.
    timeline = on_aza().lab("neutrophils", day(40), 1.7)
    assert fired(timeline, day(41), "AZA-06") is None
    finding = fired(timeline, day(41), "AZA-06", neutrophil_thresholds=[2.0, 1.0, 0.5])
    assert finding.parameters["neutrophil_thresholds"] == [2.0, 1.0, 0.5]


@pytest.mark.parametrize(
    ("drug", "planned", "fires"),
    [
        ("mycophenolate_mofetil", False, True),  # §2.3 AZA-06: thiopurine "(or MMF)"
        ("mercaptopurine", False, True),
        ("prednisolone", False, False),
        ("azathioprine", True, False),  # a planned start is AZA-05's
    ],
)
def test_aza06_drugs(drug, planned, fires):
    as_of = day(41)
    timeline = TimelineBuilder().course(drug, as_of if planned else AAA, 100, planned=planned)
    timeline.lab("neutrophils", day(40), 0.8)
    assert (fired(timeline, as_of, "AZA-06") is not None) is fires


def test_aza06_without_any_blood_count_is_not_evaluable():
    assert not_evaluable(on_aza(), day(30), "AZA-06").missing == "no blood count on file"


# AZA-07 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("weight", "dose", "severity"),
    [
        (60, 120, None),  # §2.3 AZA-07 example: 60 kg → 60-120 mg/day
        (60, 125, Severity.WARNING),
        (72, 144, None),  # 72 kg → 72-144 mg/day; exactly 2.0 is not > 2.0
        (72, 150, Severity.WARNING),  # §3.7: AZA 150 mg at 72 kg = 2.08 mg/kg → warning
        (95, 190, None),  # 95 kg → 95-190 mg/day
        (95, 200, Severity.WARNING),
        (95, 95, None),  # lower end, no response problem
        (60, 50, None),  # < 1.0 but responding: low on purpose
    ],
)
def test_aza07_dose_per_kg(weight, dose, severity):
    finding = fired(on_aza(dose=dose, weight=weight), day(30), "AZA-07")
    assert (finding.severity if finding else None) == severity
    if finding:
        assert finding.parameters["aza_mg_per_kg_range"] == [1.0, 2.0]


def test_aza07_worked_example_evidence():
    finding = fired(on_aza(dose=150, weight=72), day(30), "AZA-07")
    assert finding.evidence["mg_per_kg"] == 2.08
    assert finding.evidence["range_mg"] == [72, 144]


@pytest.mark.parametrize(
    ("dose", "severity"),
    [
        (50, Severity.INFO),  # §2.3 AZA-07: < 1.0 mg/kg with insufficient response → info
        (70, None),  # exactly 1.0 mg/kg
        (100, None),
    ],
)
def test_aza07_low_dose_with_insufficient_response(dose, severity):
    finding = fired(insufficient_response(dose=dose, weight=70), AFTER_6_MONTHS, "AZA-07")
    assert (finding.severity if finding else None) == severity
    if finding:
        assert finding.evidence["response"] == "insufficient_response"


def test_aza07_low_dose_with_non_response_at_week_4():
    timeline = TimelineBuilder().course("prednisolone", AAA, 30).course("azathioprine", AAA, 50).weight(AAA, 70)
    timeline.lab("alt", day(-1), 620).lab("alt", day(28), 400)  # 35% fall: non-response (§1)
    assert fired(timeline, day(30), "AZA-07").severity == Severity.INFO


def test_aza07_low_dose_on_purpose_with_allopurinol():
    timeline = insufficient_response(dose=25).course("allopurinol", day(60), 100)
    assert fired(timeline, AFTER_6_MONTHS, "AZA-07") is None


def test_aza07_needs_a_weight_and_checks_a_planned_dose():
    assert not_evaluable(on_aza(weight=None), day(30), "AZA-07").missing == "no weight recorded"
    planned = prescribing_aza(day(30), dose=150, weight=72)
    assert fired(planned, day(30), "AZA-07").evidence["status"] == "planned"


# AZA-08 / CI-09 ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("aza_after", "fires"),
    [
        (150, True),  # §2.3 AZA-08: allopurinol started, AZA not reduced → critical
        (75, True),  # ½ of the prior dose is > ⅓
        (50, False),  # §2.3 AZA-08 example: 150 → 37.5-50 mg
        (37.5, False),
    ],
)
def test_aza08_allopurinol_added_to_running_azathioprine(aza_after, fires):
    timeline = TimelineBuilder().course("azathioprine", AAA, doses=[(AAA, 150), (day(60), aza_after)])
    timeline.course("allopurinol", day(60), 100)
    finding = fired(timeline, day(61), "AZA-08")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.CRITICAL
        assert finding.evidence["also_listed_as"] == "CI-09"
        assert finding.evidence["dose_before_allopurinol"] == 150
        assert finding.parameters["xo_inhibitor_max_aza_fraction"] == 0.34


# Issue 14: the reference dose is the one before a reduction that anticipated allopurinol (a reduction
# within allopurinol_reduction_window_days, default 28, before the start counts).
@pytest.mark.parametrize(
    ("reduced_on", "aza_after", "fires"),
    [
        pytest.param(
            53, 50, False, id="150 -> 50 a week before allopurinol: reduced to 1/3 (clinical-rules.md AZA-08)"
        ),
        pytest.param(53, 100, True, id="150 -> 100 a week before: still 2/3 of 150 (clinical-rules.md AZA-08)"),
        pytest.param(32, 50, False, id="reduction 28 days before: still within the window"),
        pytest.param(20, 50, True, id="reduction 40 days before: 50 mg is the dose before allopurinol"),
    ],
)
def test_aza08_reduction_that_anticipated_allopurinol(reduced_on, aza_after, fires):
    timeline = TimelineBuilder().course("azathioprine", AAA, doses=[(AAA, 150), (day(reduced_on), aza_after)])
    timeline.course("allopurinol", day(60), 100)
    finding = fired(timeline, day(61), "AZA-08")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.CRITICAL


def test_aza08_reduction_before_allopurinol_does_not_block_prescribing():
    # The prescribing check runs the same rule: no false critical for a dose cut the week before.
    from monitoring.parameters import defaults
    from regimens.prescribing import NewCourse, Prescription, check_prescription
    from tests.timelines import DRUG_CLASS

    timeline = TimelineBuilder().course("azathioprine", AAA, doses=[(AAA, 150), (day(53), 50)], id=7)
    timeline.weight(AAA, 70).pgx("tpmt", "normal")
    on = day(60)
    prescription = Prescription(on, start=NewCourse("allopurinol", DRUG_CLASS["allopurinol"], on, 100))
    result = check_prescription(timeline.build(), prescription, defaults())
    assert "AZA-08" not in {f.rule_id for f in result.blocking}
    unreduced = TimelineBuilder().course("azathioprine", AAA, 150, id=7).weight(AAA, 70).pgx("tpmt", "normal")
    assert "AZA-08" in {f.rule_id for f in check_prescription(unreduced.build(), prescription, defaults()).blocking}


def test_aza08_allopurinol_being_prescribed_to_a_patient_on_full_dose_azathioprine():
    timeline = TimelineBuilder().course("azathioprine", AAA, 150).course("allopurinol", day(90), 100, planned=True)
    assert fired(timeline, day(90), "AZA-08").severity == Severity.CRITICAL


@pytest.mark.parametrize(
    ("thiopurine", "fires"),
    [
        ("azathioprine", True),  # §2.3 AZA-08: febuxostat co-prescribed → critical
        ("mercaptopurine", True),
        ("thioguanine", False),  # not inactivated by xanthine oxidase (design: AZA/6-MP only)
    ],
)
def test_aza08_febuxostat(thiopurine, fires):
    timeline = TimelineBuilder().course(thiopurine, AAA, 50).course("febuxostat", day(60), 80)
    finding = fired(timeline, day(61), "AZA-08")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.CRITICAL
        assert finding.evidence["also_listed_as"] == "CI-09"
        assert "CI-09" not in {f.rule_id for f in run(timeline, day(61)).findings}


@pytest.mark.parametrize(
    ("dose", "fires"),
    [
        (50, False),  # 0.69 mg/kg at 72 kg: low-dose AZA + allopurinol co-therapy (S004)
        (72, False),  # exactly 1.0 mg/kg (xo_inhibitor_new_aza_max_mg_per_kg)
        (100, True),  # 1.39 mg/kg: not reduced
        (150, True),
    ],
)
def test_aza08_azathioprine_prescribed_on_top_of_allopurinol(dose, fires):
    as_of = day(90)
    timeline = TimelineBuilder().course("allopurinol", AAA, 100).weight(AAA, 72)
    timeline.course("azathioprine", as_of, dose, planned=True)
    assert (fired(timeline, as_of, "AZA-08") is not None) is fires


def test_aza08_without_a_reference_dose_is_not_evaluable():
    timeline = TimelineBuilder().course("allopurinol", AAA, 100).course("azathioprine", day(90), 50, planned=True)
    assert "weight" in not_evaluable(timeline, day(90), "AZA-08").missing
    mp = TimelineBuilder().course("allopurinol", AAA, 100).course("mercaptopurine", day(90), 25, planned=True)
    assert "6-MP" in not_evaluable(mp, day(90), "AZA-08").missing


# AZA-09 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("aza_day", "as_of_day", "fires"),
    [
        (13, 13, True),  # §2.3 AZA-09: AZA start − steroid start < 14 d (planned on day 13)
        (14, 14, False),  # boundary: 14 days is the lead-in
        (0, 0, True),  # simultaneous start (S001 regimen)
        (7, 30, True),  # running, within the first 3 months
        (7, 100, False),  # design: no longer shown after aza_timing_info_months (3)
    ],
)
def test_aza09_short_steroid_lead_in(aza_day, as_of_day, fires):
    as_of = day(as_of_day)
    timeline = TimelineBuilder().course("prednisolone", AAA, 30)
    timeline.course("azathioprine", day(aza_day), 50, planned=aza_day == as_of_day)
    finding = fired(timeline, as_of, "AZA-09")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.INFO  # §0A A-1: info only
        assert finding.evidence["days"] == aza_day


def test_aza09_not_in_acute_severe_aih():
    timeline = TimelineBuilder().course("prednisolone", AAA, 60).course("azathioprine", day(7), 50)
    timeline.acute_episode(day(-1), day0=AAA)
    assert fired(timeline, day(8), "AZA-09") is None


# AZA-10 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "on_aza_", "fires"),
    [
        ("pregnant", True, True),  # §2.3 AZA-10: pregnancy recorded while on AZA → info
        ("planned", True, False),  # a planned pregnancy is not a pregnancy
        ("pregnant", False, False),
    ],
)
def test_aza10_pregnancy_on_azathioprine(kind, on_aza_, fires):
    timeline = on_aza() if on_aza_ else TimelineBuilder().course("prednisolone", AAA, 10)
    timeline.pregnancy(day(100), kind=kind)
    finding = fired(timeline, day(120), "AZA-10")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.INFO  # §0A A-13
        assert "Do not auto-stop" in finding.action


# HEP-01 --------------------------------------------------------------------------------------
def hep_timeline(alt, alp, ggt=120, bilirubin=15, baseline_alp=100, on=60) -> TimelineBuilder:
    """Azathioprine from T0; pre-AZA ALP the day before; one LFT panel on day `on` (ULNs: ALT 40, ALP 130)."""
    timeline, on = on_aza(), day(on)
    if baseline_alp is not None:
        timeline.lab("alp", day(-1), baseline_alp)
    timeline.lab("alt", on, alt).lab("alp", on, alp).lab("bilirubin", on, bilirubin)
    if ggt is not None:
        timeline.lab("ggt", on, ggt)
    return timeline


@pytest.mark.parametrize(
    ("alt", "alp", "ggt", "baseline", "r", "pattern"),
    [
        (60, 390, 120, 100, 0.50, "cholestatic"),  # §2.4 example: R 0.50, ALP 3.0× ULN → fires
        (180, 330, 120, 100, 1.77, "cholestatic"),  # §2.4 example: R 1.77, ALP 2.54× ULN → fires
        (400, 150, 120, 100, None, None),  # §2.4 example: R 8.67 hepatocellular → does not fire
        (45, 200, 120, 100, 0.73, "cholestatic"),  # ALP > ULN and 2.0× the pre-AZA baseline
        (45, 200, 120, 150, None, None),  # only 1.33× the baseline (< 1.5×) and < 2× ULN
        (45, 200, 120, None, None, None),  # no baseline: only the 2× ULN limb applies
        (45, 260, 120, None, 0.56, "cholestatic"),  # boundary: ALP exactly 2× ULN fires (≥)
        (45, 259, 120, None, None, None),  # just below 2× ULN
        (160, 260, 120, None, 2.0, "cholestatic"),  # boundary: R exactly 2 is cholestatic (≤ 2)
        (240, 260, 120, None, 3.0, "mixed"),  # 2 < R < 5 with GGT > ULN → mixed
        (240, 260, 50, None, None, None),  # mixed with normal GGT → no
        (400, 260, 120, None, None, None),  # boundary: R exactly 5 is not < 5
        (60, 390, 50, 100, None, None),  # cholestatic but normal GGT: ALP likely not hepatic (design)
        (60, 390, None, 100, 0.50, "cholestatic"),  # cholestatic, GGT not measured → still fires
    ],
)
def test_hep01_cholestatic_or_mixed_injury(alt, alp, ggt, baseline, r, pattern):
    finding = fired(hep_timeline(alt, alp, ggt, baseline_alp=baseline), day(61), "HEP-01")
    assert (finding is not None) is (r is not None)
    if finding:
        assert finding.severity == Severity.HIGH
        assert finding.evidence["r_ratio"] == r
        assert finding.evidence["pattern"] == pattern
        assert "Do not escalate steroids" in finding.action
        assert finding.parameters["hep_r_ratio_cholestatic_max"] == 2.0


def test_hep01_worked_example_alp_multiple():
    finding = fired(hep_timeline(180, 330), day(61), "HEP-01")
    assert finding.evidence["alp"]["x_uln"] == 2.54
    assert finding.evidence["alp_baseline"]["value"] == 100


@pytest.mark.parametrize(
    ("bilirubin", "severity"),
    [
        (50, Severity.CRITICAL),  # §2.4 HEP-01: critical if bilirubin > 2× ULN (ULN 21)
        (42, Severity.HIGH),  # boundary: exactly 2× is not > 2×
        (15, Severity.HIGH),
    ],
)
def test_hep01_critical_with_jaundice(bilirubin, severity):
    assert fired(hep_timeline(60, 390, bilirubin=bilirubin), day(61), "HEP-01").severity == severity


def test_hep01_mixed_pattern_without_ggt_is_not_evaluable():
    timeline = hep_timeline(240, 260, ggt=None, baseline_alp=None)
    assert fired(timeline, day(61), "HEP-01") is None
    assert "GGT" in not_evaluable(timeline, day(61), "HEP-01").missing


@pytest.mark.parametrize(
    ("onset_day", "events", "expected"),
    [
        (60, [], ["onset within 3 months of starting"]),  # §2.4: weight higher if within 3 months
        (120, [], []),
        (120, ["pruritus", "rash", "nausea"], ["pruritus", "rash"]),  # pruritus, jaundice, rash, eosinophilia
    ],
)
def test_hep01_supporting_features_in_evidence(onset_day, events, expected):
    timeline = hep_timeline(60, 390, on=onset_day)
    for kind in events:
        timeline.dated("adverse_events", day(onset_day - 5), kind, number=2)
    finding = fired(timeline, day(onset_day + 1), "HEP-01")
    assert finding.evidence["supporting_features"] == expected
    for feature in expected:
        assert feature in finding.message


def test_hep01_eosinophilia_from_the_blood_count():
    timeline = hep_timeline(60, 390, on=120).lab("eosinophils", day(120), 0.9, uln=0.5)
    assert fired(timeline, day(121), "HEP-01").evidence["supporting_features"] == ["eosinophilia"]


def test_hep01_needs_a_running_thiopurine_and_an_on_treatment_alp():
    stopped = TimelineBuilder().course("azathioprine", AAA, 100, stop=day(50)).lab("alt", day(60), 60)
    stopped.lab("alp", day(60), 390).lab("ggt", day(60), 120)
    assert fired(stopped, day(61), "HEP-01") is None
    before_start = TimelineBuilder().lab("alt", day(-5), 60).lab("alp", day(-5), 390).lab("ggt", day(-5), 120)
    before_start.course("azathioprine", AAA, 100)
    assert fired(before_start, day(5), "HEP-01") is None


# HEP-02 and TPM-04 ---------------------------------------------------------------------------
def metabolites(tgn, mmp, on=90, timeline=None) -> TimelineBuilder:
    """6-TGN and 6-MMP drawn on day `on` of azathioprine (no ULN: metabolites have none)."""
    timeline, on = timeline or on_aza(), day(on)
    if tgn is not None:
        timeline.lab("tgn", on, tgn, uln=None)
    if mmp is not None:
        timeline.lab("mmp", on, mmp, uln=None)
    return timeline


@pytest.mark.parametrize(
    ("mmp", "lft", "value", "rules"),
    [
        (6200, None, None, {"TPM-04"}),  # §2.5 example: TGN 260 / MMP 6200 → TPM-04 (normal LFTs)
        (6200, "alt", 60, {"HEP-02"}),  # §2.4 HEP-02: 6-MMP > 5700 and ALT > ULN → HEP-02, not TPM-04
        (6200, "alp", 200, {"HEP-02"}),  # ... or ALP > ULN
        (6200, "ggt", 90, {"HEP-02"}),  # ... or GGT > ULN
        (6200, "alt", 40, {"TPM-04"}),  # ALT = ULN is normal
        (5700, "alt", 60, set()),  # boundary: 6-MMP 5700 is not > 5700
    ],
)
def test_hep02_high_mmp_with_abnormal_lfts_replaces_tpm04(mmp, lft, value, rules):
    timeline = metabolites(260, mmp)
    timeline.lab("alt", day(90), 30).lab("alp", day(90), 100).lab("ggt", day(90), 30)
    if lft:
        timeline.lab(lft, day(91), value)
    evaluation = run(timeline, day(92))
    found = {f.rule_id: f for f in evaluation.findings if f.rule_id in {"HEP-02", "TPM-04"}}
    assert set(found) == rules
    if "HEP-02" in found:
        assert found["HEP-02"].severity == Severity.HIGH
        assert found["HEP-02"].evidence["mmp_tgn_ratio"] == 23.8
    if "TPM-04" in found:
        assert found["TPM-04"].severity == Severity.WARNING


# HEP-03 --------------------------------------------------------------------------------------
def hys_timeline(alt, bilirubin, alp=150, baseline=(50, 15)) -> TimelineBuilder:
    timeline = on_aza()
    if baseline:
        timeline.lab("alt", day(-1), baseline[0]).lab("bilirubin", day(-1), baseline[1])
    timeline.lab("alt", day(60), alt).lab("bilirubin", day(60), bilirubin)
    if alp is not None:
        timeline.lab("alp", day(60), alp)
    return timeline


@pytest.mark.parametrize(
    ("alt", "bilirubin", "alp", "fires"),
    [
        (150, 50, 150, True),  # §2.4 HEP-03: ALT ≥ 3× ULN and bilirubin > 2× ULN, ALP < 2× ULN
        (120, 43, 150, True),  # boundary: ALT exactly 3× ULN counts (≥)
        (119, 50, 150, False),
        (150, 42, 150, False),  # boundary: bilirubin exactly 2× ULN is not > 2×
        (150, 50, 260, False),  # ALP ≥ 2× ULN: cholestatic, HEP-01's problem
        (150, 50, None, True),  # ALP not measured: still critical (evidence says so)
    ],
)
def test_hep03_hys_law_pattern(alt, bilirubin, alp, fires):
    finding = fired(hys_timeline(alt, bilirubin, alp), day(61), "HEP-03")
    assert (finding is not None) is fires
    if finding:
        assert finding.severity == Severity.CRITICAL
        assert finding.parameters["hep_alt_uln_multiple"] == 3.0


def test_hep03_must_be_new_after_the_start():
    # §2.4 HEP-03 "new after AZA start": the presenting flare running on is not new...
    ongoing = hys_timeline(200, 60, baseline=(400, 80))
    assert fired(ongoing, day(61), "HEP-03") is None
    # ...but a pattern that lapsed on treatment and came back is.
    recurred = hys_timeline(200, 60, baseline=(400, 80)).lab("alt", day(30), 60).lab("bilirubin", day(30), 20)
    assert fired(recurred, day(61), "HEP-03") is not None


# HEP-04 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("baseline", "latest", "as_of", "fires"),
    [
        (220, 149, "2025-08-01", True),  # §2.4 HEP-04: ≥ 6 months, fall ≥ 30% to < 150
        (220, 150, "2025-08-01", False),  # 150 is not < 150
        (220, 160, "2025-08-01", False),  # 27% fall
        (200, 140, "2025-08-01", True),  # boundary: exactly 30% fall
        (200, 141, "2025-08-01", False),
        (220, 120, "2025-07-05", False),  # less than 6 months on a thiopurine (T0 2025-01-06)
        (220, 120, "2025-07-06", True),  # 6 months reached
    ],
)
def test_hep04_platelet_fall(baseline, latest, as_of, fires):
    timeline = on_aza().lab("platelets", day(-1), baseline).lab("platelets", "2025-07-01", latest)
    finding = fired(timeline, as_of, "HEP-04")
    assert (finding is not None) is fires
    if finding:
        assert finding.severity == Severity.INFO


def test_hep04_new_splenomegaly_or_varices_without_cirrhosis():
    timeline = on_aza().lab("platelets", day(-1), 220).lab("platelets", day(200), 210)
    timeline.visit(day(-1), splenomegaly=False, varices=False).visit(day(200), splenomegaly=True)
    assert "new splenomegaly" in fired(timeline, day(201), "HEP-04").message
    already = on_aza().visit(day(-1), varices=True).visit(day(200), varices=True).lab("platelets", day(200), 210)
    assert fired(already, day(201), "HEP-04") is None
    cirrhotic = replace(on_aza().visit(day(200), splenomegaly=True).build(), cirrhosis_on=day(-100))
    assert fired(cirrhotic, day(201), "HEP-04") is None


def test_hep04_without_platelets_or_examination_is_not_evaluable():
    assert not_evaluable(on_aza(), day(200), "HEP-04") is not None
    assert not_evaluable(on_aza(), day(100), "HEP-04") is None  # before 6 months: not relevant yet


# TPM-01..04 ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tgn", "mmp", "expected", "ratio"),
    [
        (180, 9500, {"TPM-02"}, 52.8),  # §2.5 worked example: ratio 52.8 (TPM-02)
        (300, 3000, set(), 10.0),  # §2.5 worked example: ratio 10.0, normal pattern
        (260, 6200, {"TPM-04"}, 23.8),  # §2.5 worked example: TPM-04, above the ratio cut-off
        (520, 2100, {"TPM-03"}, 4.0),  # §2.5 worked example: TPM-03
        (150, 800, {"TPM-01"}, 5.3),  # §2.5 worked example: TPM-01 (800 is "low", A-14)
        (235, 800, set(), 3.4),  # boundary: 6-TGN 235 is not < 235 (§0A A-14 default)
        (234, 800, {"TPM-01"}, 3.4),
        (200, 2200, {"TPM-01"}, 11.0),  # boundary: ratio exactly 11 is not > 11
        (200, 2201, {"TPM-02"}, 11.0),  # TPM-02 via the ratio alone
        (200, 5701, {"TPM-02"}, 28.5),  # TPM-02 via 6-MMP > 5700
        (450, 2000, set(), 4.4),  # boundary: 6-TGN 450 is not > 450
        (451, 2000, {"TPM-03"}, 4.4),
        (300, 5700, set(), 19.0),  # boundary: 6-MMP 5700 is not > 5700
        (300, 5701, {"TPM-04"}, 19.0),
        (235, 5800, {"TPM-04"}, 24.7),  # 6-TGN at the low cut-off is adequate
        (450, 5800, {"TPM-04"}, 12.9),  # upper bound of the TPM-04 band included
        (460, 5800, {"TPM-03", "TPM-04"}, 12.6),  # above 450 with high 6-MMP: both risks (seed 004 Table 1)
    ],
)
def test_tpm_patterns(tgn, mmp, expected, ratio):
    evaluation = run(metabolites(tgn, mmp), day(92))
    found = {f.rule_id: f for f in evaluation.findings if f.rule_id in TPM_RULES}
    assert set(found) == expected
    for finding in found.values():
        assert finding.evidence["mmp_tgn_ratio"] == ratio
        assert finding.evidence["tgn"]["value"] == tgn
        assert finding.evidence["mmp"]["value"] == mmp


# seed 004 Table 1: every cell of the 6-TGN (low / in range / high) x 6-MMP (normal / high) grid has
# its own interpretation. Each row: the draw, the findings, and words the clinician must read.
@pytest.mark.parametrize(
    ("tgn", "mmp", "expected"),
    [
        pytest.param(150, 800, {"TPM-01": ("under-exposure",)}, id="low-TGN/normal-MMP: seed 004 Table 1 row 1"),
        pytest.param(
            180, 9500, {"TPM-02": ("preferential methylation",)}, id="low-TGN/high-MMP: seed 004 Table 1 row 2"
        ),
        pytest.param(300, 3000, {}, id="in-range-TGN/normal-MMP: therapeutic pattern, clinical-rules.md §2.5 example"),
        pytest.param(260, 6200, {"TPM-04": ("liver toxicity",)}, id="in-range-TGN/high-MMP: seed 004 Table 1 row 5"),
        pytest.param(
            520, 2100, {"TPM-03": ("bone-marrow toxicity",)}, id="high-TGN/normal-MMP: seed 004 Table 1 row 3"
        ),
        pytest.param(
            600,
            12000,
            {
                "TPM-03": ("bone-marrow toxicity",),
                "TPM-04": ("liver toxicity", "nodular regenerative hyperplasia"),
            },
            id="high-TGN/high-MMP: seed 004 Table 1 rows 3 and 5",
        ),
    ],
)
def test_tpm_grid_every_cell_has_its_own_advice(tgn, mmp, expected):
    evaluation = run(metabolites(tgn, mmp), day(92))
    found = {f.rule_id: f for f in evaluation.findings if f.rule_id in TPM_RULES}
    assert set(found) == set(expected)
    for rule_id, phrases in expected.items():
        text = found[rule_id].message.lower()
        for phrase in phrases:
            assert phrase in text
    assert len({f.message for f in found.values()}) == len(found)


@pytest.mark.parametrize(
    ("rule", "severity"),
    [
        ("TPM-01", Severity.WARNING),
        ("TPM-02", Severity.HIGH),
        ("TPM-03", Severity.WARNING),
        ("TPM-04", Severity.WARNING),
    ],
)
def test_tpm_severities(rule, severity):
    # §2.5 table: TPM-01 warning, TPM-02 high, TPM-03 warning unless cytopenic, TPM-04 warning.
    draws = {"TPM-01": (150, 800), "TPM-02": (180, 9500), "TPM-03": (520, 2100), "TPM-04": (260, 6200)}
    assert fired(metabolites(*draws[rule]), day(92), rule).severity == severity


@pytest.mark.parametrize(
    ("tgn", "mmp", "expected"),
    [
        (230, 800, set()),  # §2.5 table / A-14: AIH cut-off 220 selectable; 230 is adequate then
        (219, 800, {"TPM-01"}),
        (180, 9500, {"TPM-02"}),  # worked example with the AIH cut-off
        (225, 6200, {"TPM-04"}),  # 6-TGN 220-450 band with the AIH cut-off
    ],
)
def test_tpm_with_the_aih_cut_off_220(tgn, mmp, expected):
    evaluation = run(metabolites(tgn, mmp), day(92), tgn_low=220.0)
    found = {f.rule_id: f for f in evaluation.findings if f.rule_id in TPM_RULES}
    assert set(found) == expected
    for finding in found.values():
        assert finding.parameters["tgn_low"] == 220.0


def test_tpm03_is_high_when_the_blood_count_is_low():
    # §2.5 TPM-03: high if cytopenic (AZA-06), otherwise warning.
    timeline = metabolites(520, 2100).lab("neutrophils", day(91), 1.2)
    finding = fired(timeline, day(92), "TPM-03")
    assert finding.severity == Severity.HIGH
    assert finding.evidence["cytopenia"][0]["test"] == "Neutrophils"
    assert fired(metabolites(520, 2100).lab("neutrophils", day(91), 1.5), day(92), "TPM-03").severity == (
        Severity.WARNING
    )


def test_tpm_evidence_shows_the_previous_draw():
    timeline = metabolites(200, 700, on=60).lab("tgn", day(90), 150, uln=None).lab("mmp", day(90), 800, uln=None)
    # the dose did not change between the draws
    previous = fired(timeline, day(92), "TPM-01").evidence["previous"]
    assert [(p["test"], p["value"]) for p in previous] == [("6-TGN", 200), ("6-MMP", 700)]


def test_tpm_alert_clears_after_a_dose_change_or_allopurinol():
    # A draw older than the last dose change no longer describes the exposure.
    changed = TimelineBuilder().course("azathioprine", AAA, doses=[(AAA, 50), (day(100), 100)]).pgx("tpmt", "normal")
    metabolites(150, 800, timeline=changed)
    assert fired(changed, day(99), "TPM-01") is not None
    assert fired(changed, day(101), "TPM-01") is None
    shunter = metabolites(180, 9500).course("allopurinol", day(100), 100)
    assert fired(shunter, day(99), "TPM-02") is not None
    assert fired(shunter, day(101), "TPM-02") is None


def test_tpm_only_on_a_running_thiopurine():
    stopped = TimelineBuilder().course("azathioprine", AAA, 100, stop=day(95))
    metabolites(150, 800, timeline=stopped)
    assert fired(stopped, day(94), "TPM-01") is not None
    assert fired(stopped, day(96), "TPM-01") is None


def test_tpm01_without_6mmp_is_not_evaluable():
    timeline = metabolites(150, None)
    assert fired(timeline, day(92), "TPM-01") is None
    assert "6-MMP" in not_evaluable(timeline, day(92), "TPM-01").missing


def test_tpm_pairs_6tgn_and_6mmp_from_the_same_draw():
    # 6-MMP from a draw weeks apart is not paired with this 6-TGN (thiopurine_lab_pairing_days 7).
    timeline = metabolites(None, 9500, on=40).lab("tgn", day(90), 180, uln=None)
    assert fired(timeline, day(92), "TPM-02") is None
    assert not_evaluable(timeline, day(92), "TPM-02") is not None


# TPM-05 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tgn", "fires"),
    [
        (300, True),  # §2.5 TPM-05: 6-TGN adequate and insufficient response → high
        (235, True),  # boundary: ≥ 235 is adequate
        (234, False),  # low 6-TGN: TPM-01/02 explain it
        (450, True),  # boundary: the top of the 235-450 range is still adequate
        (520, False),  # high 6-TGN is not "adequate": TPM-03 (myelotoxicity) explains it (seed 004 Table 1)
    ],
)
def test_tpm05_pharmacological_non_response(tgn, fires):
    timeline = insufficient_response().lab("tgn", "2025-07-01", tgn, uln=None).lab("mmp", "2025-07-01", 2000, uln=None)
    finding = fired(timeline, AFTER_6_MONTHS, "TPM-05")
    assert (finding is not None) is fires
    if finding:
        assert finding.severity == Severity.HIGH
        assert finding.evidence["response"] == "insufficient_response"
        assert finding.parameters["tgn_low"] == 235.0


def test_tpm05_high_6tgn_with_cytopenia_does_not_also_advise_a_switch():
    # Issue 14: 6-TGN 700 with neutrophils 0.9 is myelotoxicity (reduce the dose, seed 004 Table 1 row 3),
    # not "adequate 6-TGN, pharmacological non-response" (row 4): adequate means in range (235-450).
    timeline = insufficient_response().lab("tgn", "2025-07-01", 700, uln=None).lab("mmp", "2025-07-01", 2000, uln=None)
    timeline.lab("neutrophils", "2025-07-01", 0.9)
    evaluation = run(timeline, AFTER_6_MONTHS)
    ids = {f.rule_id for f in evaluation.findings}
    assert "TPM-03" in ids
    assert "TPM-05" not in ids
    assert not any("switch" in (f.action or "").lower() for f in evaluation.findings if f.rule_id.startswith("TPM"))


def test_tpm05_after_a_relapse_and_not_in_remission():
    timeline = TimelineBuilder().course("prednisolone", AAA, 30).course("azathioprine", AAA, 100).pgx("tpmt", "normal")
    timeline.lab("alt", day(-1), 620)
    for month in range(3, 13):
        timeline.lab("alt", day(30 * month), 28).lab("igg", day(30 * month), 12)
    timeline.lab("tgn", day(350), 320, uln=None).lab("mmp", day(350), 1500, uln=None)
    assert fired(timeline, day(351), "TPM-05") is None  # in remission
    timeline.lab("alt", day(400), 130)  # §2.11 REL-02 example: 3.25× ULN, relapse
    finding = fired(timeline, day(401), "TPM-05")
    assert finding.evidence["response"] == "relapse"


def test_tpm05_without_a_6tgn_is_not_evaluable():
    missing = not_evaluable(insufficient_response(), AFTER_6_MONTHS, "TPM-05")
    assert "6-TGN" in missing.missing
    assert not_evaluable(on_aza(), day(30), "TPM-05") is None  # responding: not relevant


def test_findings_carry_the_spec_source_and_iso_dates():
    finding = fired(hep_timeline(60, 390), day(61), "HEP-01")
    assert finding.source.startswith("S004")
    assert date.fromisoformat(finding.evidence["thiopurine_start"]) == AAA


def test_aza09_azathioprine_before_steroids_counts_as_no_lead_in():
    # §2.3 AZA-09: AZA start − steroid start < 14 d includes AZA first (design: within 14 days either way).
    timeline = TimelineBuilder().course("azathioprine", AAA, 50).course("prednisolone", day(3), 30)
    finding = fired(timeline, day(5), "AZA-09")
    assert finding.evidence["days"] == -3
    assert "3 days before steroids" in finding.message
    late = TimelineBuilder().course("azathioprine", AAA, 50).course("prednisolone", day(20), 30)
    assert fired(late, day(21), "AZA-09") is None  # steroids added later for a flare: not a lead-in question
