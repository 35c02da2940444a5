"""LT-01..LT-06 (clinical-rules.md §2.9) and the MELD / Child-Pugh helpers. Rows cite the spec.

LT-05 is tested with the ASA rules it builds on (test_acute.py).
"""

from datetime import date

import pytest

from monitoring.parameters import defaults
from monitoring.rules.base import Context, Severity
from monitoring.rules.transplant import child_pugh_score, meld_scores
from tests.timelines import AAA, TimelineBuilder, day, fired, not_evaluable, run

AS_OF = day(10)


def context(timeline: TimelineBuilder, as_of=AS_OF, **overrides) -> Context:
    return Context(timeline.build(), as_of, {**defaults(), **overrides})


def patient_x(on=AAA, **patient) -> TimelineBuilder:
    """§3.4 Patient X in SI units: bilirubin 2.3 mg/dL = 39.33 µmol/L, creatinine 0.9 mg/dL = 79.56 µmol/L,
    INR 1.4, sodium 134, albumin 3.1 g/dL = 31 g/L."""
    timeline = TimelineBuilder(**{"sex": "female", **patient})
    for code, value in (("bilirubin", 39.33), ("inr", 1.4), ("creatinine", 79.56), ("sodium", 134), ("albumin", 31)):
        timeline.lab(code, on, value)
    return timeline


def liver_labs(timeline: TimelineBuilder, *, bili_mg_dl, alb_g_dl, inr, on=AAA) -> TimelineBuilder:
    return timeline.lab("bilirubin", on, bili_mg_dl * 17.1).lab("albumin", on, alb_g_dl * 10).lab("inr", on, inr)


# LT-01 / meld_scores ------------------------------------------------------------------------------
def test_meld_scores_patient_x_shows_all_three_variants():
    # §3.4: Patient X (female): MELD 13, MELD-Na 16, MELD 3.0 17
    scores = meld_scores(context(patient_x()))
    assert scores["scores"] == {"MELD": 13, "MELD-Na": 16, "MELD 3.0": 17}
    assert scores["version"] == "meld3"
    assert scores["score"] == 17
    assert scores["conventional"]["bilirubin_mg_dl"] == 2.3
    assert scores["conventional"]["creatinine_mg_dl"] == 0.9
    assert scores["conventional"]["albumin_g_dl"] == 3.1


def test_meld_scores_male_patient_x():
    # §3.4: "the same labs in a male give 15"
    assert meld_scores(context(patient_x(sex="male")))["scores"]["MELD 3.0"] == 15


@pytest.mark.parametrize(
    ("version", "score", "fires"),
    [
        ("meld3", 17, True),  # §3.4 Patient X: MELD 3.0 17 > 15 fires (§0A A-8 default)
        ("meld_na", 16, True),  # MELD-Na 16 > 15 fires
        ("meld", 13, False),  # original MELD 13: does not fire
    ],
)
def test_lt01_patient_x_depends_on_the_meld_version(version, score, fires):
    finding = fired(patient_x(), AS_OF, "LT-01", meld_version=version)
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.HIGH
        assert finding.evidence["score"] == score
        assert finding.evidence["scores"] == {"MELD": 13, "MELD-Na": 16, "MELD 3.0": 17}
        assert finding.parameters["meld_version"] == version
        assert finding.parameters["meld_referral_above"] == 15


@pytest.mark.parametrize(
    ("bilirubin_umol_l", "fires"),
    [
        (42.75, False),  # Cr 1.0, bili 2.5 mg/dL, INR 1.6: MELD exactly 15 is not "> 15"
        (51.3, True),  # bili 3.0 mg/dL: MELD 16
    ],
)
def test_lt01_boundary(bilirubin_umol_l, fires):
    timeline = (
        TimelineBuilder().lab("creatinine", AAA, 88.4).lab("inr", AAA, 1.6).lab("bilirubin", AAA, bilirubin_umol_l)
    )
    assert (fired(timeline, AS_OF, "LT-01", meld_version="meld") is not None) is fires


def test_lt01_meld_worked_example_1():
    # §3.2 row 1: Cr 1.9, bili 4.2, INR 1.2 → MELD 20
    timeline = (
        TimelineBuilder().lab("creatinine", AAA, 1.9 * 88.4).lab("bilirubin", AAA, 4.2 * 17.1).lab("inr", AAA, 1.2)
    )
    assert fired(timeline, AS_OF, "LT-01", meld_version="meld").evidence["score"] == 20


def test_lt01_missing_sodium_is_not_evaluable_where_it_matters():
    # §0A: the page lists the rule as not evaluable with the missing item; cirrhosis makes MELD relevant
    timeline = TimelineBuilder(cirrhosis_on=day(-300)).lab("creatinine", AAA, 80).lab("bilirubin", AAA, 30)
    timeline.lab("inr", AAA, 1.3)
    missing = not_evaluable(timeline, AS_OF, "LT-01", meld_version="meld_na").missing
    assert "sodium" in missing
    assert "MELD-Na" in missing


@pytest.mark.parametrize(
    ("lab_day", "evaluable"),
    [
        (-20, True),  # labs 30 days old on as-of (day 10): recent enough (design: 30 days)
        (-21, False),  # 31 days old: stale
    ],
)
def test_lt01_needs_recent_labs(lab_day, evaluable):
    timeline = patient_x(on=day(lab_day), cirrhosis_on=day(-300))
    assert (not_evaluable(timeline, AS_OF, "LT-01") is None) is evaluable
    assert (fired(timeline, AS_OF, "LT-01") is not None) is evaluable


def test_lt01_quiet_for_patients_where_meld_does_not_matter():
    # Normal bilirubin and INR, no cirrhosis, no acute episode: neither missing labs nor a renal MELD count
    timeline = TimelineBuilder().lab("bilirubin", AAA, 10).lab("inr", AAA, 1.0).lab("creatinine", AAA, 400)
    evaluation = run(timeline, AS_OF)
    assert "LT-01" not in {f.rule_id for f in evaluation.findings}
    assert "LT-01" not in {n.rule_id for n in evaluation.not_evaluable}


# LT-02 / child_pugh_score -----------------------------------------------------------------------------
def cirrhotic(**patient) -> TimelineBuilder:
    return TimelineBuilder(cirrhosis_on=day(-300), **patient)


@pytest.mark.parametrize(
    ("bili", "alb", "inr", "ascites", "he", "score", "fires"),
    [
        (1.2, 4.0, 1.1, "none", 0, 5, False),  # §3.5 row 1: 5, class A
        (2.5, 3.2, 1.8, "mild", 0, 9, False),  # §3.5 row 2: 9, class B
        (2.5, 3.2, 1.8, "mild", 1, 10, False),  # boundary: 10 is class C but not "> 10"
        (2.5, 3.2, 1.8, "moderate_severe", 1, 11, True),  # 11 fires (§0A A-8: > 10, i.e. ≥ 11)
        (3.5, 2.6, 2.5, "moderate_severe", 2, 14, True),  # §3.5 row 3: 14, class C
        (4.1, 2.7, 2.4, "moderate_severe", 3, 15, True),  # §3.5 row 5: 15, class C
    ],
)
def test_lt02_child_pugh(bili, alb, inr, ascites, he, score, fires):
    timeline = liver_labs(cirrhotic(), bili_mg_dl=bili, alb_g_dl=alb, inr=inr)
    timeline.visit(AAA, ascites=ascites, encephalopathy_grade=he)
    assert child_pugh_score(context(timeline))["score"] == score
    finding = fired(timeline, AS_OF, "LT-02")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.HIGH
        assert finding.evidence["class"] == "C"
        assert finding.parameters["child_pugh_referral_above"] == 10


@pytest.mark.parametrize(
    ("bilirubin_umol_l", "points"),
    [
        (34, 1),  # §3.5 conversion trap: 34 µmol/L = 1.988 mg/dL → 1 point on the mg/dL table
        (51, 2),  # 51 µmol/L = 2.982 mg/dL → 2 points
        (52, 3),  # 3.04 mg/dL → 3 points
    ],
)
def test_child_pugh_uses_the_mg_dl_table(bilirubin_umol_l, points):
    timeline = cirrhotic().lab("bilirubin", AAA, bilirubin_umol_l).lab("albumin", AAA, 40).lab("inr", AAA, 1.0)
    timeline.visit(AAA)
    assert child_pugh_score(context(timeline))["points"]["bilirubin"] == points


def test_lt02_only_in_cirrhosis_and_needs_a_recent_visit():
    labs_only = liver_labs(TimelineBuilder(), bili_mg_dl=3.5, alb_g_dl=2.6, inr=2.5)
    assert fired(labs_only, AS_OF, "LT-02") is None
    assert not_evaluable(labs_only, AS_OF, "LT-02") is None
    no_visit = liver_labs(cirrhotic(), bili_mg_dl=3.5, alb_g_dl=2.6, inr=2.5)
    assert "clinic visit" in not_evaluable(no_visit, AS_OF, "LT-02").missing
    assert child_pugh_score(context(no_visit)) is None


# LT-03 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cirrhosis", "facts", "fires"),
    [
        (True, {"ascites": "mild"}, True),  # §2.9 LT-03: ascites
        (True, {"variceal_bleed": True}, True),  # variceal bleed
        (True, {"encephalopathy_grade": 1}, True),  # HE
        (True, {"jaundice": True}, True),  # jaundice in cirrhosis
        (False, {"jaundice": True}, False),  # jaundice without cirrhosis: acute hepatitis, not decompensation
        (False, {"ascites": "moderate_severe"}, True),  # ascites implies portal hypertension
        (True, {}, False),  # nothing recorded
    ],
)
def test_lt03_decompensation(cirrhosis, facts, fires):
    timeline = (cirrhotic() if cirrhosis else TimelineBuilder()).visit(AAA, **facts)
    finding = fired(timeline, AS_OF, "LT-03")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.HIGH


@pytest.mark.parametrize(("as_of", "fires"), [(date(2026, 1, 6), True), (date(2026, 1, 7), False)])
def test_lt03_looks_back_12_months(as_of, fires):
    timeline = cirrhotic().visit(AAA, ascites="mild")
    finding = fired(timeline, as_of, "LT-03")
    assert (finding is not None) is fires
    if fires:
        assert finding.parameters["decompensation_recent_months"] == 12


def test_lt03_leaves_encephalopathy_in_an_acute_episode_to_the_asa_rules():
    timeline = TimelineBuilder().acute_episode(AAA, day0=AAA).visit(day(3), encephalopathy_grade=2)
    ids = {f.rule_id for f in run(timeline, day(3)).findings}
    assert "LT-03" not in ids
    assert "ASA-04" in ids


# LT-04 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "fires"), [("hcc", True), ("lymphoma", False)])
def test_lt04_hepatocellular_carcinoma(kind, fires):
    timeline = cirrhotic().dated("malignancies", AAA, kind)
    finding = fired(timeline, AS_OF, "LT-04")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.HIGH
        assert finding.evidence["hcc_diagnosed"] == AAA.isoformat()


# LT-06 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("second_visit", "rule"),
    [
        (day(190), "LT-06"),  # decompensation again ≥ 6 months into therapy: "despite therapy" (S004), high
        (day(170), "LT-03"),  # < 6 months of therapy: still LT-03's
    ],
)
def test_lt06_decompensation_persisting_despite_therapy(second_visit, rule):
    timeline = cirrhotic().course("prednisolone", AAA, 40).visit(day(30), ascites="moderate_severe")
    timeline.visit(second_visit, ascites="mild")
    ids = {f.rule_id: f for f in run(timeline, second_visit).findings}
    assert rule in ids
    assert ({"LT-03", "LT-06"} - {rule}).isdisjoint(ids)  # one item per problem
    if rule == "LT-06":
        assert ids["LT-06"].severity == Severity.HIGH


@pytest.mark.parametrize(
    ("dose", "second_line", "months", "fires"),
    [
        (15, True, 24, True),  # steroid ≥ 10 mg/day for 24 months despite MMF: info (design)
        (15, True, 23, False),  # 23 months: not yet
        (7.5, True, 30, False),  # tapered below 10 mg/day
        (15, False, 30, False),  # second-line therapy never tried: not "despite optimised therapy"
    ],
)
def test_lt06_steroid_dependence(dose, second_line, months, fires):
    timeline = TimelineBuilder().course("prednisolone", AAA, 40, doses=[(day(200), dose)])
    if second_line:
        timeline.course("mycophenolate_mofetil", day(100), 2000)
    as_of = date(2025 + (months // 12), 1 + months % 12, 6)
    finding = fired(timeline, as_of, "LT-06")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.INFO
        assert finding.evidence["second_line_tried"] == ["mycophenolate_mofetil"]
        assert finding.parameters["steroid_dependence_months"] == 24
