"""ASA-01..ASA-04 (clinical-rules.md §2.8) and LT-05 built on them. Rows cite the spec."""

import pytest

from monitoring.rules.base import Severity
from tests.timelines import AAA, TimelineBuilder, day, fired, not_evaluable, run


def episode(bilirubin=280.0, inr=1.9, *, encephalopathy=False, day0=True, **patient) -> TimelineBuilder:
    """An AS-AIH episode presenting on AAA; prednisolone (day 0) the same day; day-0 bloods on AAA."""
    timeline = TimelineBuilder(**patient).acute_episode(AAA, day0=AAA if day0 else None, encephalopathy=encephalopathy)
    timeline.course("prednisolone", AAA, 60)
    if bilirubin is not None:
        timeline.lab("bilirubin", AAA, bilirubin)
    if inr is not None:
        timeline.lab("inr", AAA, inr)
    return timeline


def rule_ids(timeline, as_of) -> set[str]:
    return {f.rule_id for f in run(timeline, as_of).findings}


# ASA-01: a recorded episode ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("encephalopathy", "he_visit_grade", "severity", "label"),
    [
        (False, 0, Severity.HIGH, "Acute severe AIH (no encephalopathy)"),  # §2.8 ASA-01: INR ≥ 1.5, icteric, no HE
        (True, 0, Severity.CRITICAL, "acute liver failure"),  # §2.8 ASA-01: HE present → AS-AIH with ALF, critical
        (False, 1, Severity.CRITICAL, "acute liver failure"),  # HE grade 1 at a visit at presentation (any grade)
    ],
)
def test_asa01_classifies_a_recorded_episode(encephalopathy, he_visit_grade, severity, label):
    timeline = episode(encephalopathy=encephalopathy)
    if he_visit_grade:
        timeline.visit(AAA, encephalopathy_grade=he_visit_grade)
    finding = fired(timeline, day(1), "ASA-01")
    assert finding.severity == severity
    assert label in finding.message
    assert "INR 1.9" in finding.message
    assert finding.evidence["meets_definition"] is True
    assert finding.parameters["asaih_min_inr"] == 1.5


def test_asa01_recorded_episode_with_labs_below_the_definition_asks_to_check():
    # §2.8 ASA-01 trigger INR ≥ 1.5: the clinician recorded an episode with INR 1.3; keep it, but say so
    finding = fired(episode(inr=1.3), day(1), "ASA-01")
    assert finding.severity == Severity.HIGH
    assert finding.evidence["meets_definition"] is False
    assert "check the classification" in finding.message


def test_asa01_recorded_episode_in_known_cirrhosis_is_flagged_as_acute_on_chronic():
    # §2.8 ASA-01: "in a patient without known prior cirrhosis"
    finding = fired(episode(cirrhosis_on=day(-400)), day(1), "ASA-01")
    assert "acute-on-chronic" in finding.message


@pytest.mark.parametrize(
    ("ended", "as_of", "fires"),
    [
        (None, day(90), True),  # open episode, day 0 + 90 = the follow-up horizon (design)
        (None, day(91), False),  # past the horizon
        (day(20), day(20), True),  # closed today: still open on its last day
        (day(20), day(21), False),  # closed by the clinician
    ],
)
def test_asa01_follows_the_episode_while_it_is_open(ended, as_of, fires):
    timeline = TimelineBuilder().acute_episode(AAA, day0=AAA, ended=ended).course("prednisolone", AAA, 60)
    timeline.lab("bilirubin", AAA, 280).lab("inr", AAA, 1.9)
    assert (fired(timeline, as_of, "ASA-01") is not None) is fires


# ASA-01: screening labs without a recorded episode --------------------------------------------------
@pytest.mark.parametrize(
    ("inr", "bilirubin", "overrides", "severity"),
    [
        (1.5, 22, {}, Severity.HIGH),  # boundary: INR exactly 1.5 (≥) and bilirubin just above ULN 21
        (1.49, 80, {}, None),  # INR below 1.5
        (1.8, 21, {}, None),  # bilirubin = ULN is normal: not jaundiced
        (1.8, 45, {"asaih_jaundice_bilirubin_umol_l": 45}, None),  # clinic cut-off > 45 µmol/L: 45 is not above
        (1.8, 46, {"asaih_jaundice_bilirubin_umol_l": 45}, Severity.HIGH),  # ... 46 is
        # Spec change (issue 14): acute liver failure needs encephalopathy (Rahim), so INR ≥ 2.0 alone is
        # AS-AIH (high) with a prompt to assess for encephalopathy, no longer "possible ALF" (critical).
        (2.0, 80, {}, Severity.HIGH),
    ],
)
def test_asa01_screens_an_untreated_patient(inr, bilirubin, overrides, severity):
    timeline = TimelineBuilder().lab("inr", day(-2), inr).lab("bilirubin", day(-2), bilirubin)
    finding = fired(timeline, AAA, "ASA-01", **overrides)
    assert (finding.severity if finding else None) == severity
    if finding:
        assert finding.message.startswith("Possible acute severe AIH")
        assert "Record the acute episode" in finding.action
        assert finding.evidence["episode_recorded"] is False


def test_asa01_screening_with_encephalopathy_is_critical():
    # §2.8 ASA-01: "If HE of any grade is present → AS-AIH with ALF", critical
    timeline = (
        TimelineBuilder().lab("inr", day(-2), 1.7).lab("bilirubin", day(-2), 150).visit(day(-1), encephalopathy_grade=1)
    )
    finding = fired(timeline, AAA, "ASA-01")
    assert finding.severity == Severity.CRITICAL
    assert "encephalopathy" in finding.message


@pytest.mark.parametrize(
    ("as_of", "lab_day", "fires"),
    [
        (day(28), 20, True),  # newly treated: within 28 days of T0 (design)
        (day(29), 20, False),  # day 29: no longer a new presentation
        (day(20), 6, True),  # labs 14 days old still count (design)
        (day(21), 6, False),  # 15 days old: too old to screen
    ],
)
def test_asa01_screening_only_in_the_first_weeks_of_treatment(as_of, lab_day, fires):
    timeline = TimelineBuilder().course("prednisolone", AAA, 60)
    timeline.lab("inr", day(lab_day), 1.8).lab("bilirubin", day(lab_day), 150)
    assert (fired(timeline, as_of, "ASA-01") is not None) is fires


def test_asa01_screening_skips_known_cirrhosis_and_long_treated_patients():
    # §2.8 ASA-01: only a new presentation in a patient without known prior cirrhosis
    cirrhotic = TimelineBuilder(cirrhosis_on=day(-300)).lab("inr", day(-1), 1.8).lab("bilirubin", day(-1), 150)
    assert fired(cirrhotic, AAA, "ASA-01") is None
    treated = TimelineBuilder().course("prednisolone", day(-400), 10).lab("inr", day(-1), 1.8)
    treated.lab("bilirubin", day(-1), 150)
    assert fired(treated, AAA, "ASA-01") is None


# ASA-02 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bili7", "inr7", "lab_day", "severity"),
    [
        (300, 2.1, 7, Severity.CRITICAL),  # §2.8 ASA-02 example: 280 → 300 µmol/L, INR 1.9 → 2.1, fires
        (190, 1.5, 7, None),  # §2.8 ASA-02 example: 280 → 190 (−32.1%), INR 1.9 → 1.5 (−21.1%), does not fire
        (280, 1.9, 7, Severity.CRITICAL),  # neither improved (≥ both): fires
        (250, 2.09, 7, Severity.CRITICAL),  # INR rose exactly 10% (≥ 10%): fires although bilirubin fell
        (250, 2.08, 7, None),  # INR +9.5%, bilirubin fell: no criterion met
        (308, 1.8, 7, Severity.CRITICAL),  # bilirubin rose exactly 10%
        (300, 2.1, 6, Severity.CRITICAL),  # window D+6..D+8: day 6 counts
        (300, 2.1, 8, Severity.CRITICAL),  # ... and day 8
    ],
)
def test_asa02_day7_non_improvement(bili7, inr7, lab_day, severity):
    timeline = episode().lab("bilirubin", day(lab_day), bili7).lab("inr", day(lab_day), inr7)
    finding = fired(timeline, day(8), "ASA-02")
    assert (finding.severity if finding else None) == severity
    if finding:
        assert finding.message.startswith("No improvement by day 7")
        assert "evaluate for liver transplantation" in finding.action
        assert finding.evidence["day0_values"][0]["value"] == 280


def test_asa02_worked_example_evidence_and_parameters():
    timeline = episode().lab("bilirubin", day(7), 300).lab("inr", day(7), 2.1)
    finding = fired(timeline, day(7), "ASA-02")
    assert finding.message == (
        "No improvement by day 7 of steroids: bilirubin 280 → 300 µmol/L (+7.1%), INR 1.9 → 2.1 (+10.5%)."
    )
    assert finding.evidence["reasons"] == ["neither bilirubin nor INR improved", "INR rose by 10% or more"]
    assert finding.evidence["inr_change"] == 0.105
    assert finding.evidence["bilirubin_change"] == 0.071
    assert "meld_not_compared" in finding.evidence  # MELD 3.0 needs sodium and albumin at both times
    assert finding.parameters["asaih_rise_fraction"] == 0.1
    assert finding.parameters["asaih_day7_window"] == [6, 8]


@pytest.mark.parametrize(
    ("creatinine7", "fires"),
    [
        (150, True),  # §2.8 ASA-02 "or MELD not lower": bilirubin −7%, INR +2.6%, creatinine up → MELD 24 → 29
        (None, False),  # without creatinine the MELD arm is not checked; nothing else fires
    ],
)
def test_asa02_meld_not_lower(creatinine7, fires):
    timeline = episode().lab("creatinine", AAA, 80).lab("bilirubin", day(7), 260).lab("inr", day(7), 1.95)
    if creatinine7:
        timeline.lab("creatinine", day(7), creatinine7)
    finding = fired(timeline, day(7), "ASA-02", meld_version="meld")
    assert (finding is not None) is fires
    if fires:
        assert finding.evidence["meld"] == {"version": "MELD", "day0": 24, "day7": 29}


def test_asa02_meld_falling_does_not_fire():
    # §2.8 ASA-02 second example with creatinine: every arm improves
    timeline = episode().lab("creatinine", AAA, 80).lab("creatinine", day(7), 80)
    timeline.lab("bilirubin", day(7), 190).lab("inr", day(7), 1.5)
    assert fired(timeline, day(7), "ASA-02", meld_version="meld") is None


@pytest.mark.parametrize(
    ("as_of", "severity"),
    [
        (day(8), None),  # window still open: wait
        (day(9), Severity.HIGH),  # §2.8 ASA-02: nothing drawn in D+6..D+8 → "day-7 assessment overdue" (high)
    ],
)
def test_asa02_day7_assessment_overdue(as_of, severity):
    timeline = episode().lab("bilirubin", day(5), 300).lab("inr", day(5), 2.1)  # day 5 is outside the window
    finding = fired(timeline, as_of, "ASA-02")
    assert (finding.severity if finding else None) == severity
    if finding:
        assert finding.message.startswith("Day-7 assessment overdue")
        assert finding.evidence["missing"] == ["bilirubin", "inr"]


def test_asa02_overdue_names_only_the_missing_test():
    timeline = episode().lab("bilirubin", day(7), 200)
    finding = fired(timeline, day(9), "ASA-02")
    assert "no INR drawn" in finding.message


def test_asa02_late_results_answer_the_day7_question():
    # Drawn on day 9 (after the window, before the day-14 window): used, marked late
    timeline = episode().lab("bilirubin", day(9), 300).lab("inr", day(9), 2.1)
    finding = fired(timeline, day(9), "ASA-02")
    assert finding.severity == Severity.CRITICAL
    assert finding.evidence["late"] is True


def test_asa02_overdue_clears_once_bloods_are_drawn_for_the_day14_check():
    timeline = episode().lab("bilirubin", day(12), 200).lab("inr", day(12), 1.6)
    assert fired(timeline, day(11), "ASA-02").severity == Severity.HIGH
    assert fired(timeline, day(12), "ASA-02") is None


def test_asa02_without_day0_bloods_is_not_evaluable():
    timeline = episode(bilirubin=None, inr=None).lab("bilirubin", day(7), 300).lab("inr", day(7), 2.1)
    assert fired(timeline, day(7), "ASA-02") is None
    assert "on or before steroid day 0" in not_evaluable(timeline, day(7), "ASA-02").missing


def test_asa02_day0_inferred_from_the_steroid_start():
    timeline = episode(day0=False).lab("bilirubin", day(7), 300).lab("inr", day(7), 2.1)
    finding = fired(timeline, day(7), "ASA-02")
    assert finding.evidence["day0_source"].startswith("inferred")


def test_asa02_without_day0_or_steroid_is_not_evaluable():
    timeline = TimelineBuilder().acute_episode(AAA).lab("bilirubin", AAA, 280).lab("inr", AAA, 1.9)
    assert "day 0" in not_evaluable(timeline, day(7), "ASA-02").missing


# ASA-03 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "value", "lab_day", "fires"),
    [
        ("inr", 1.95, 14, True),  # §2.8 ASA-03: INR above baseline at day 14
        ("bilirubin", 281, 14, True),  # bilirubin above baseline
        ("inr", 1.9, 14, False),  # equal is not "above"
        ("inr", 1.95, 12, True),  # window 14 ± 2: day 12 counts
        ("inr", 1.95, 16, True),  # ... day 16 counts
        ("inr", 1.95, 11, False),  # day 11 is outside
    ],
)
def test_asa03_deterioration_at_2_weeks(code, value, lab_day, fires):
    timeline = episode().lab(code, day(lab_day), value)
    finding = fired(timeline, day(16), "ASA-03")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.CRITICAL
        assert finding.parameters["asaih_day14_window"] == [12, 16]


def test_asa03_without_day14_bloods_is_not_evaluable_after_the_window():
    assert not_evaluable(episode(), day(16), "ASA-03") is None
    assert "between day 12 and day 16" in not_evaluable(episode(), day(17), "ASA-03").missing


# ASA-04 and the one-item-per-episode rule ---------------------------------------------------------
@pytest.mark.parametrize(
    ("inr", "expected"),
    [
        # Spec change (issue 14; Rahim): ALF needs encephalopathy; an INR of 2.0 alone stays AS-AIH
        (2.0, {"ASA-01"}),
        (1.99, {"ASA-01"}),  # below 2.0: still AS-AIH
    ],
)
def test_asa04_inr_in_alf_range(inr, expected):
    timeline = episode(inr=1.8).lab("inr", day(3), inr)
    ids = rule_ids(timeline, day(3)) & {"ASA-01", "ASA-04", "LT-05"}
    assert ids == expected


@pytest.mark.parametrize(
    ("day7_bilirubin", "day7_inr", "encephalopathy_on", "expected"),
    [
        # Issue 14 / seed 001 "no improvement by day 7": presentation bilirubin 200, INR 2.0, no HE.
        (60, 1.1, None, set()),  # bilirubin 200 → 60, INR 2.0 → 1.1: responding, not ALF, no referral
        (60, 1.1, 5, {"ASA-04", "LT-05"}),  # new HE on day 5 (Rahim): acute liver failure, refer
        (210, 2.1, None, {"ASA-02", "LT-05"}),  # no improvement by day 7 (ASA-02): refer (LT-05)
    ],
)
def test_an_inr_of_2_at_presentation_is_judged_on_the_day_7_labs(day7_bilirubin, day7_inr, encephalopathy_on, expected):
    timeline = episode(bilirubin=200, inr=2.0).lab("bilirubin", day(7), day7_bilirubin).lab("inr", day(7), day7_inr)
    if encephalopathy_on:
        timeline.visit(day(encephalopathy_on), encephalopathy_grade=1)
    for as_of in (day(8), day(30), day(89)):
        ids = rule_ids(timeline, as_of) & {"ASA-02", "ASA-04", "LT-05"}
        assert ids == expected, as_of


def test_asa04_new_encephalopathy_reclassifies_as_alf():
    # §2.8 ASA-04: "New HE ... re-classify as ALF" (critical)
    timeline = episode().visit(day(4), encephalopathy_grade=2)
    finding = fired(timeline, day(4), "ASA-04")
    assert finding.severity == Severity.CRITICAL
    assert "encephalopathy grade 2" in finding.message
    assert finding.parameters["alf_min_inr"] == 2.0
    assert fired(timeline, day(4), "ASA-01") is None


def test_alf_at_presentation_is_one_item():
    # HE at presentation → ASA-01 (ALF, critical); a later INR ≥ 2 does not add ASA-04
    timeline = episode(encephalopathy=True).lab("inr", day(2), 2.5)
    ids = rule_ids(timeline, day(2))
    assert "ASA-01" in ids
    assert "ASA-04" not in ids


# LT-05 (transplant.py) on top of the ASA rules ----------------------------------------------------
def test_lt05_refers_when_the_episode_does_not_respond():
    # §2.9 LT-05: AS-AIH/ALF non-response (ASA-02/03/04) → critical
    timeline = episode().lab("bilirubin", day(7), 300).lab("inr", day(7), 1.95)
    finding = fired(timeline, day(7), "LT-05")
    assert finding.severity == Severity.CRITICAL
    assert [t["rule"] for t in finding.evidence["because_of"]] == ["ASA-02"]


def test_lt05_not_for_an_overdue_assessment_or_an_improving_episode():
    overdue = episode()
    assert fired(overdue, day(9), "ASA-02").severity == Severity.HIGH
    assert fired(overdue, day(9), "LT-05") is None
    improving = episode().lab("bilirubin", day(7), 190).lab("inr", day(7), 1.5)
    assert fired(improving, day(7), "LT-05") is None
