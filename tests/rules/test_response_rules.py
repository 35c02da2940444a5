"""RESP-01..06 and REL-01..03 (clinical-rules.md §2.1, §2.11). Rows cite the spec."""

from datetime import date

import pytest

from monitoring.rules.base import Severity
from tests.timelines import AAA, TimelineBuilder, day, fired, not_evaluable, run


def started(*, baseline_alt=620, **patient) -> TimelineBuilder:
    """Prednisolone from T0 = 2025-01-06 with a baseline ALT the day before."""
    return TimelineBuilder(**patient).course("prednisolone", AAA, 40).lab("alt", day(-1), baseline_alt)


def in_remission_by_month_3() -> TimelineBuilder:
    """Normal ALT and IgG monthly from month 3 to month 12: complete biochemical response."""
    timeline = started()
    for month in range(3, 13):
        timeline.lab("alt", day(30 * month), 28).lab("igg", day(30 * month), 12)
    return timeline


# RESP-01 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("week4_day", "week4_alt", "fires"),
    [
        (28, 340, True),  # §2.1 RESP-01 example: 620 → 340 is a 45.2% fall, fires
        (28, 290, False),  # §2.1 RESP-01 example: 620 → 290 is a 53.2% fall, does not fire
        (28, 310, False),  # boundary: exactly 50% is not "< 0.50"
        (21, 340, True),  # window [T0+21, T0+42]: day 21 counts
        (42, 340, True),  # ... and day 42
        (20, 340, False),  # day 20 is outside the window
        (43, 340, False),  # day 43 is outside the window
    ],
)
def test_resp01_non_response_at_week_4(week4_day, week4_alt, fires):
    timeline = started().lab("alt", day(week4_day), week4_alt)
    finding = fired(timeline, day(45), "RESP-01")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.HIGH
        assert finding.evidence["baseline"]["value"] == 620
        assert finding.parameters["nonresponse_min_fall"] == 0.5


def test_resp01_uses_ast_when_alt_is_missing():
    # §2.1 RESP-01: "Use AST if ALT is missing."
    timeline = TimelineBuilder().course("prednisolone", AAA, 40).lab("ast", day(-2), 500).lab("ast", day(28), 400)
    assert fired(timeline, day(30), "RESP-01").evidence["baseline"]["test"] == "AST"


def test_resp01_takes_the_result_nearest_day_28():
    timeline = started().lab("alt", day(22), 200).lab("alt", day(29), 400).lab("alt", day(40), 250)
    assert fired(timeline, day(42), "RESP-01").evidence["week_4"]["value"] == 400


def test_resp01_without_a_baseline_is_not_evaluable():
    # §0A: a rule whose data are missing reports "not evaluable: <what is missing>"
    timeline = TimelineBuilder().course("prednisolone", AAA, 40).lab("alt", day(-20), 620).lab("alt", day(28), 600)
    assert fired(timeline, day(30), "RESP-01") is None
    assert "14 days before" in not_evaluable(timeline, day(30), "RESP-01").missing


def test_resp01_gives_way_to_the_6_month_assessment():
    timeline = started().lab("alt", day(28), 600)
    assert fired(timeline, "2025-07-05", "RESP-01") is not None
    assert fired(timeline, "2025-07-06", "RESP-01") is None


# RESP-02 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alt_uln", "fires"),
    [
        (40, False),  # §2.1 RESP-02 example: ALT 38, ULN 40, IgG 14.2/16 → CBR
        (33, True),  # same ALT against an ACG-style ULN of 33 (male): 1.15× ULN, insufficient
        (25, True),  # against 25 (female): 1.52× ULN
        (38, False),  # exactly at the ULN is normal
    ],
)
def test_resp02_insufficient_response_at_6_months(alt_uln, fires):
    timeline = started().lab("alt", "2025-07-01", 38, uln=alt_uln).lab("igg", "2025-07-01", 14.2, uln=16)
    finding = fired(timeline, "2025-07-06", "RESP-02")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.HIGH
        assert "Insufficient response" in finding.message
        assert finding.evidence["results"][0]["uln"] == alt_uln


def test_resp02_waits_for_the_6_month_checkpoint():
    # T0 = 2025-01-06 → checkpoint 2025-07-06 (§2.1 example)
    timeline = started().lab("alt", "2025-07-01", 60).lab("igg", "2025-07-01", 20)
    assert fired(timeline, "2025-07-05", "RESP-02") is None
    assert fired(timeline, "2025-07-06", "RESP-02") is not None


def test_resp02_fires_on_igg_alone():
    timeline = started().lab("alt", "2025-07-01", 30).lab("igg", "2025-07-01", 19.5)
    assert "IgG above normal" in fired(timeline, "2025-07-10", "RESP-02").message


def test_resp02_without_igg_in_the_window_is_not_evaluable():
    # §2.1 RESP-02: "If ALT or IgG is missing in that window, fire MON-03 instead."
    timeline = started().lab("alt", "2025-07-01", 60).lab("igg", "2025-03-01", 20)
    assert fired(timeline, "2025-07-10", "RESP-02") is None
    assert not_evaluable(timeline, "2025-07-10", "RESP-02") is not None


def test_resp02_clears_once_alt_and_igg_normalise():
    timeline = started().lab("alt", "2025-07-01", 60).lab("igg", "2025-07-01", 20)
    timeline.lab("alt", "2025-09-01", 30).lab("igg", "2025-09-01", 14)
    assert fired(timeline, "2025-08-01", "RESP-02") is not None
    assert fired(timeline, "2025-09-02", "RESP-02") is None


# RESP-04 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day14_alt", "acute", "severity"),
    [
        (640, False, Severity.INFO),  # §2.1 RESP-04: ALT at day 10-18 ≥ ALT_b, info
        (620, False, Severity.INFO),  # equal counts ("≥")
        (640, True, Severity.HIGH),  # high if AS-AIH
        (500, False, None),  # improving
    ],
)
def test_resp04_no_improvement_at_2_weeks(day14_alt, acute, severity):
    timeline = started().lab("alt", day(14), day14_alt)
    if acute:
        timeline.acute_episode(day(-3), day0=AAA)
    finding = fired(timeline, day(15), "RESP-04")
    assert (finding.severity if finding else None) == severity


# RESP-05 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("born", "as_of", "fires"),
    [
        (date(1960, 1, 1), "2027-01-05", False),  # age ≥ 60: 24 months not yet exceeded
        (date(1960, 1, 1), "2027-01-07", True),  # age ≥ 60: > 24 months (S000)
        (date(1990, 1, 1), "2027-01-07", False),  # age ≤ 40: 36 months not reached
        (date(1990, 1, 1), "2028-01-07", True),  # age ≤ 40: > 36 months
    ],
)
def test_resp05_prolonged_therapy_without_remission(born, as_of, fires):
    timeline = started(date_of_birth=born)
    for month in range(1, 40):
        timeline.lab("alt", day(30 * month), 80).lab("igg", day(30 * month), 18)
    assert (fired(timeline, as_of, "RESP-05") is not None) is fires


def test_resp05_not_after_a_remission():
    timeline = in_remission_by_month_3()
    timeline.lab("alt", day(400), 80)
    assert fired(timeline, "2028-06-01", "RESP-05") is None


# RESP-06 -------------------------------------------------------------------------------------
def test_resp06_prompts_an_adherence_check_when_response_fails():
    # §2.1 RESP-06: trigger RESP-01, RESP-02, REL-02 or TPM-01
    timeline = started().lab("alt", "2025-07-01", 60).lab("igg", "2025-07-01", 20)
    finding = fired(timeline, "2025-07-10", "RESP-06")
    assert finding.evidence["because_of"] == ["RESP-02"]


def test_resp06_is_quiet_when_adherence_was_just_assessed():
    timeline = started().lab("alt", "2025-07-01", 60).lab("igg", "2025-07-01", 20)
    timeline.dated("adherence", "2025-07-02", "pill_count", number=0)
    assert fired(timeline, "2025-07-10", "RESP-06") is None


# REL-01 / REL-02 -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alt", "uln", "rule", "severity", "label"),
    [
        (50, 40, "REL-01", Severity.WARNING, "Loss of remission"),  # §2.11 REL-01: ALT > ULN after CBR
        (130, 40, "REL-02", Severity.HIGH, "Relapse"),  # §2.11 REL-02 example: 3.25× ULN, relapse
        (95, 35, "REL-02", Severity.HIGH, "Probable relapse"),  # §2.11 example: 2.71× ULN, probable only
        (120, 40, "REL-02", Severity.HIGH, "Relapse"),  # boundary: exactly 3× is relapse (≥ 3×)
        (80, 40, "REL-01", Severity.WARNING, "Loss of remission"),  # boundary: exactly 2× is not "> 2×"
    ],
)
def test_loss_of_remission_and_relapse_tiers(alt, uln, rule, severity, label):
    timeline = in_remission_by_month_3().lab("alt", day(400), alt, uln=uln)
    evaluation = run(timeline, day(401))
    rules = {f.rule_id: f for f in evaluation.findings}
    assert rule in rules
    assert rules[rule].severity == severity
    assert rules[rule].message.startswith(label)
    assert ({"REL-01", "REL-02"} - {rule}).isdisjoint(rules)  # one item per problem


def test_rel01_on_igg():
    timeline = in_remission_by_month_3().lab("igg", day(400), 18)
    assert "IgG above normal" in fired(timeline, day(401), "REL-01").message


def test_rel01_is_high_when_confirmed_on_a_repeat_2_to_4_weeks_later():
    # §2.11 REL-01: "High if confirmed on a repeat within 2-4 weeks."
    timeline = in_remission_by_month_3().lab("alt", day(400), 50).lab("alt", day(421), 55)
    assert fired(timeline, day(422), "REL-01").severity == Severity.HIGH


def test_no_relapse_without_a_previous_remission():
    timeline = started()
    for month in range(1, 13):
        timeline.lab("alt", day(30 * month), 130).lab("igg", day(30 * month), 18)
    evaluation = run(timeline, day(370))
    assert {"REL-01", "REL-02"}.isdisjoint(f.rule_id for f in evaluation.findings)


def test_loss_of_remission_resolves_when_alt_normalises():
    timeline = in_remission_by_month_3().lab("alt", day(400), 50).lab("alt", day(430), 30)
    assert fired(timeline, day(431), "REL-01") is None


# REL-03 --------------------------------------------------------------------------------------
def withdrawn_on(stop: str) -> TimelineBuilder:
    timeline = TimelineBuilder().course("prednisolone", AAA, 40, stop=stop, reason="remission")
    timeline.lab("alt", day(-1), 600)
    for month in range(3, 30):
        timeline.lab("alt", day(30 * month), 25).lab("igg", day(30 * month), 11)
    return timeline


@pytest.mark.parametrize(
    ("alt", "on", "rule", "severity"),
    [
        (50, "2027-11-01", "REL-03", Severity.WARNING),  # §2.11 REL-03: within 12 months, ALT > ULN
        (130, "2027-11-01", "REL-03", Severity.HIGH),  # ≥ 3× ULN → high
        (130, "2028-08-01", "REL-02", Severity.HIGH),  # > 12 months after stopping: REL-02's
    ],
)
def test_rel03_post_withdrawal_relapse_watch(alt, on, rule, severity):
    timeline = withdrawn_on("2027-07-01").lab("alt", on, alt)
    evaluation = run(timeline, on)
    rules = {f.rule_id: f for f in evaluation.findings}
    assert rules[rule].severity == severity
    assert ({"REL-01", "REL-02", "REL-03"} - {rule}).isdisjoint(rules)


# Response history ----------------------------------------------------------------------------
def test_response_history_records_each_state_with_its_date():
    timeline = in_remission_by_month_3().lab("alt", day(400), 130)
    history = run(timeline, day(401)).response
    assert [(c.state.value, c.on) for c in history.changes] == [
        ("induction", AAA),
        ("complete_response", day(90)),
        ("relapse", day(400)),
    ]


def test_response_history_marks_insufficient_response_then_late_remission():
    timeline = started().lab("alt", "2025-07-01", 60).lab("igg", "2025-07-01", 20)
    timeline.lab("alt", "2025-09-01", 30).lab("igg", "2025-09-01", 14)
    history = run(timeline, "2025-10-01").response
    assert [c.state.value for c in history.changes] == ["induction", "insufficient_response", "remission"]
    assert history.changes[1].on == date(2025, 7, 6)


def test_response_history_after_withdrawal():
    history = run(withdrawn_on("2027-07-01").lab("alt", "2027-11-01", 130), "2027-11-02").response
    assert [c.state.value for c in history.changes][-2:] == ["off_treatment", "relapse"]


def test_courses_starting_the_same_day_make_one_treatment_era():
    # prednisolone and azathioprine started together, prednisolone later stopped (a common case)
    timeline = TimelineBuilder().course("prednisolone", AAA, 40, stop=day(120), reason="other")
    timeline.course("azathioprine", AAA, 100)
    from monitoring.parameters import defaults
    from monitoring.rules.base import Context

    ctx = Context(timeline.build(), day(200), defaults())
    assert ctx.treatment_eras == [(AAA, None)]
    assert ctx.t0 == AAA and ctx.on_treatment


# A finding follows the response history, not the state on one day (issue 14, part 3) ------------------
def complete_response_then_rise(rise_alt: float) -> TimelineBuilder:
    """Complete response by day 90 (ALT 28, IgG 12), then at month 5.5 ALT rises (IgG still normal)."""
    timeline = started().lab("alt", day(28), 200)  # a 68% fall by week 4: responding
    timeline.lab("alt", day(90), 28).lab("igg", day(90), 12)
    return timeline.lab("alt", day(167), rise_alt).lab("igg", day(167), 12)


@pytest.mark.parametrize(
    ("rise_alt", "as_of", "expected"),
    [
        # §2.1 RESP-02 is the 6-month assessment of a patient who never reached a complete response;
        # §2.11 REL-01: a complete responder whose ALT rises has lost her remission.
        (60, day(190), {"REL-01"}),  # ALT 1.5× ULN at month 5.5 after a complete response at day 90
        (60, day(200), {"REL-01"}),  # still so after the 6-month checkpoint
        (28, day(190), set()),  # normal at month 5.5: nothing
    ],
)
def test_a_lost_complete_response_is_loss_of_remission_not_insufficient_response(rise_alt, as_of, expected):
    timeline = complete_response_then_rise(rise_alt)
    fired_ids = {rule for rule in ("RESP-01", "RESP-02", "REL-01") if fired(timeline, as_of, rule)}
    assert fired_ids == expected


@pytest.mark.parametrize(
    ("normal_on", "as_of", "fires"),
    [
        # §2.1 RESP-01: < 50% fall by week 4 is non-response, judged until month 6 (RESP-02) ...
        (None, day(60), True),  # ALT still high at day 60: still open
        # ... but once ALT and IgG are normal the response state is complete response: it resolves.
        (day(50), day(60), False),
        (day(50), day(150), False),
    ],
)
def test_resp01_resolves_once_the_response_is_complete(normal_on, as_of, fires):
    timeline = started().lab("alt", day(28), 340)  # a 45% fall: non-response at week 4
    if normal_on:
        timeline.lab("alt", normal_on, 30).lab("igg", normal_on, 12)
    assert (fired(timeline, as_of, "RESP-01") is not None) is fires
