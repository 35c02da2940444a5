"""MON-01..MON-08 (clinical-rules.md §2.2) and OTH-01/OTH-02 (§2.12). Rows cite the spec."""

from datetime import date

import pytest

from monitoring.engine.schedule import FBC, LFT
from monitoring.rules import REGISTRY, load_rules
from monitoring.rules.base import Family, Severity
from tests.timelines import AAA, TimelineBuilder, d, day, fired, not_evaluable

VALUES = {"wbc": 6, "neutrophils": 4, "lymphocytes": 1.5, "platelets": 250, "haemoglobin": 130, "alt": 25, "ast": 25,
          "alp": 80, "ggt": 30, "bilirubin": 10, "igg": 12, "tacrolimus": 5, "creatinine": 80, "potassium": 4.2,
          "glucose": 5.5}  # fmt: skip
RESPONSE = ("alt", "igg")
TACRO = ("tacrolimus", "creatinine", "potassium", "glucose")


def bloods(timeline: TimelineBuilder, on, *panels) -> TimelineBuilder:
    for panel in panels:
        for code in panel:
            timeline.lab(code, on, VALUES[code])
    return timeline


def aza(start="2025-03-03", dose=100, doses=()) -> TimelineBuilder:
    """Prednisolone + AZA from the same day (the §2.2 worked example starts AZA on 2025-03-03)."""
    return TimelineBuilder().course("prednisolone", start, 30).course("azathioprine", start, dose, doses=doses)


def severity_of(finding):
    return finding.severity if finding else None


# MON-01 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("as_of", "severity"),
    [
        ("2025-04-06", None),  # §2.2 MON-01 example: last FBC 2025-03-24, day 13 of the 14-day interval
        ("2025-04-07", Severity.INFO),  # §2.2 MON-01 example: next due 2025-04-07 ("Due at 14 d (info)")
        ("2025-04-14", Severity.INFO),  # §2.2 MON-01 example: overdue after 2025-04-14 — day 21 is not overdue
        ("2025-04-15", Severity.HIGH),  # day 22 of phase A: "overdue at > 21 d (high)"
        ("2025-04-27", Severity.HIGH),  # last day of phase A
        # phase B starts 2025-04-28 (example), but the bloods were missed in phase A: they stay overdue
        # at phase A's severity (issue 14), not silenced by phase B's longer interval
        ("2025-04-28", Severity.HIGH),
        ("2025-05-02", Severity.HIGH),
    ],
)
def test_mon01_worked_example_and_boundaries(as_of, severity):
    timeline = bloods(aza(), "2025-03-24", FBC, LFT)
    assert severity_of(fired(timeline, as_of, "MON-01")) == severity


@pytest.mark.parametrize(
    ("days_since", "severity"),
    [
        (106, None),  # §2.2 MON-01 phase C: overdue at > 106 d
        (107, Severity.WARNING),  # §2.2 MON-01 phase C: warning
    ],
)
def test_mon01_phase_c(days_since, severity):
    timeline = bloods(aza(), "2025-09-01", FBC, LFT)  # phase C starts 2025-09-01 (example)
    assert severity_of(fired(timeline, day(days_since, d("2025-09-01")), "MON-01")) == severity


def test_mon01_one_finding_with_both_panels_at_the_worse_state():
    # §2.2 MON-01 is "FBC + LFT": one alert per problem, at the worse of the two panels
    timeline = bloods(aza(), "2025-03-24", LFT)
    bloods(timeline, "2025-04-03", FBC)
    finding = fired(timeline, "2025-04-15", "MON-01")
    assert finding.severity == Severity.HIGH  # LFT overdue (22 d); FBC only 12 d
    panels = {p["panel"]: p for p in finding.evidence["panels"]}
    assert panels["LFT"]["state"] == "overdue" and panels["FBC"]["state"] == "ok"
    assert panels["LFT"]["overdue_after"] == "2025-04-14"
    assert "LFT overdue" in finding.message and "FBC" not in finding.message
    assert finding.evidence["schedule_start"] == "2025-03-03"
    assert finding.parameters["thiopurine_overdue_after_days"] == [21, 38, 106]


@pytest.mark.parametrize(
    ("doses", "severity", "reason"),
    [
        ([("2025-06-02", 150)], Severity.HIGH, "dose increase"),  # §2.2 MON-01: D0 = last dose increase
        ([("2025-06-02", 50)], None, None),  # a decrease does not restart the schedule (phase B, 23 d ≤ 38)
        ([], None, None),  # no change: phase B
    ],
)
def test_mon01_restarts_after_a_dose_increase_only(doses, severity, reason):
    timeline = bloods(aza("2025-01-06", 100, doses=doses), "2025-06-01", FBC, LFT)
    finding = fired(timeline, "2025-06-24", "MON-01")  # 22 days after the change
    assert severity_of(finding) == severity
    if finding:
        assert finding.evidence["restart_reason"] == reason
        assert finding.evidence["schedule_start"] == "2025-06-02"


def test_mon01_not_for_untreated_or_planned():
    untreated = bloods(TimelineBuilder(), "2025-01-01", FBC, LFT)
    assert fired(untreated, "2025-06-01", "MON-01") is None
    # a planned AZA start (prescribing check) starts the schedule today: nothing is due yet
    planned = bloods(TimelineBuilder(), "2025-01-01", FBC, LFT).course("azathioprine", "2025-06-01", 50, planned=True)
    assert fired(planned, "2025-06-01", "MON-01") is None


# MON-06 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("as_of", "severity"),
    [
        ("2025-04-06", None),
        ("2025-04-07", Severity.INFO),  # §2.2 MON-06: same FBC phases as MON-01 (due at 14 d)
        ("2025-04-14", Severity.INFO),
        ("2025-04-15", Severity.HIGH),  # overdue at > 21 d in phase A
    ],
)
def test_mon06_mmf_fbc(as_of, severity):
    timeline = bloods(TimelineBuilder().course("mycophenolate_mofetil", "2025-03-03", 1000), "2025-03-24", FBC)
    finding = fired(timeline, as_of, "MON-06")
    assert severity_of(finding) == severity
    if finding:
        assert [p["panel"] for p in finding.evidence["panels"]] == ["FBC"]


def test_mon06_gives_way_to_mon01_with_a_thiopurine():
    # one FBC alert: with AZA and MMF together MON-01 reports (A-10: MMF start restarts it)
    timeline = aza("2025-01-06").course("mycophenolate_mofetil", "2025-03-03", 1000)
    bloods(timeline, "2025-03-24", FBC, LFT)
    assert fired(timeline, "2025-04-15", "MON-06") is None
    assert fired(timeline, "2025-04-15", "MON-01").severity == Severity.HIGH


# MON-02 ----------------------------------------------------------------------------------------
def taper(*labs_on, drug="prednisolone", doses=(40, 30)) -> TimelineBuilder:
    """Steroids from T0 with a dose decrease on day 60; response bloods done at week 4."""
    timeline = TimelineBuilder().course(drug, AAA, doses[0], doses=[(day(60), doses[1])])
    bloods(timeline, day(28), RESPONSE)
    for on in labs_on:
        timeline.lab("alt", on, 25)
    return timeline


@pytest.mark.parametrize(
    ("alt_days", "as_of", "severity"),
    [
        ((), day(90), None),  # §2.2 MON-02: judged once the 30 days after the change have passed
        ((), day(91), Severity.WARNING),  # §2.2 MON-02: no ALT within 30 d after the change → warning
        ((day(60),), day(91), Severity.WARNING),  # an ALT on the day of the change is before it
        ((day(75),), day(91), None),  # ALT within 30 d after the change
        ((day(95),), day(96), None),  # a late ALT settles it
    ],
)
def test_mon02_alt_after_a_steroid_change(alt_days, as_of, severity):
    finding = fired(taper(*alt_days), as_of, "MON-02")
    assert severity_of(finding) == severity
    if finding:
        assert finding.evidence["change_date"] == day(60).isoformat()
        assert finding.parameters["taper_alt_within_days"] == 30


def test_mon02_budesonide_counts():
    # §2.2 MON-02: "a predniso(lo)ne or budesonide dose change"
    assert fired(taper(drug="budesonide", doses=(9, 6)), day(91), "MON-02").severity == Severity.WARNING


def test_mon02_steroid_stop_counts_as_a_change_while_on_aza():
    # (AZA a week after the steroid: base.py's treatment_eras cannot yet sort two courses that
    # start on the same day when only one has stopped)
    timeline = TimelineBuilder().course("prednisolone", "2025-01-06", 5, stop="2025-09-01")
    timeline.course("azathioprine", "2025-01-13", 100)
    bloods(timeline, "2025-09-01", FBC, LFT)
    bloods(timeline, "2025-02-03", RESPONSE)
    bloods(timeline, "2025-07-06", RESPONSE)
    assert fired(timeline, "2025-10-01", "MON-02") is None
    finding = fired(timeline, "2025-10-02", "MON-02")
    assert "stopped" in finding.message
    assert fired(timeline, "2025-10-02", "MON-01") is None  # phase C: LFT not overdue


def test_mon02_gives_way_to_an_overdue_lft_panel():
    # one alert per problem: MON-01 already asks for the LFT panel (ALT included)
    timeline = aza("2025-03-03").course("budesonide", "2025-01-06", 9, doses=[("2025-03-03", 6)])
    assert fired(timeline, "2025-04-03", "MON-01").severity == Severity.HIGH
    assert fired(timeline, "2025-04-03", "MON-02") is None


def test_mon02_not_after_all_treatment_stopped():
    timeline = TimelineBuilder().course("prednisolone", AAA, 10, stop=day(300))
    assert fired(timeline, day(340), "MON-02") is None  # MON-05 watches ALT off treatment
    assert fired(timeline, day(340), "MON-05") is not None


# MON-03 ----------------------------------------------------------------------------------------
def induction() -> TimelineBuilder:
    return TimelineBuilder().course("prednisolone", AAA, 40).lab("alt", day(-1), 600)


@pytest.mark.parametrize(
    ("labs", "as_of", "severity", "missing"),
    [
        ({}, "2025-02-17", None, None),  # §2.2 MON-03: window [T0+21, T0+42] = 2025-01-27..02-17, still open
        ({}, "2025-02-18", Severity.WARNING, ["ALT", "IgG"]),  # "warning at the window's end"
        ({}, "2025-03-19", Severity.WARNING, ["ALT", "IgG"]),  # 30 days after the end: still warning
        ({}, "2025-03-20", Severity.HIGH, ["ALT", "IgG"]),  # "high 30 d later"
        ({"alt": day(21), "igg": day(21)}, "2025-02-18", None, None),  # first day of the window counts
        ({"alt": day(42), "igg": day(42)}, "2025-02-18", None, None),  # last day of the window counts
        ({"alt": day(20), "igg": day(20)}, "2025-02-18", Severity.WARNING, ["ALT", "IgG"]),  # day 20 is outside
        ({"alt": day(28)}, "2025-02-18", Severity.WARNING, ["IgG"]),  # ALT + IgG both needed
        ({"alt": day(50), "igg": day(50)}, day(51), None, None),  # drawn late: the bloods were taken
        ({}, "2025-06-05", Severity.HIGH, ["ALT", "IgG"]),  # week-4 check stands until the month-6 window
        ({}, "2025-06-06", None, None),  # ... which opens at T0 + 5 months and supersedes it
    ],
)
def test_mon03_week4_check(labs, as_of, severity, missing):
    timeline = induction()
    for code, on in labs.items():
        timeline.lab(code, on, VALUES[code])
    finding = fired(timeline, as_of, "MON-03")
    assert severity_of(finding) == severity
    if finding:
        assert finding.evidence["missing"] == missing
        assert finding.evidence["check"] == "week-4"


@pytest.mark.parametrize(
    ("as_of", "severity"),
    [
        ("2025-08-06", None),  # §2.2 MON-03: month-6 window [T0+5 mo, T0+7 mo] = 2025-06-06..08-06
        ("2025-08-07", Severity.WARNING),  # warning at the window's end
        ("2025-09-05", Severity.WARNING),
        ("2025-09-06", Severity.HIGH),  # high 30 d later
    ],
)
def test_mon03_month6_check(as_of, severity):
    timeline = bloods(induction(), day(28), RESPONSE)
    timeline.lab("alt", "2025-05-20", 30).lab("alt", "2025-07-20", 30)  # ALT but no IgG in the window
    finding = fired(timeline, as_of, "MON-03")
    assert severity_of(finding) == severity
    if finding:
        assert finding.evidence["check"] == "6-month" and finding.evidence["missing"] == ["IgG"]
        assert finding.parameters["response_labs_escalate_days"] == 30


def test_mon03_done_when_month6_bloods_are_in():
    timeline = bloods(induction(), day(28), RESPONSE)
    bloods(timeline, "2025-07-06", RESPONSE)
    assert fired(timeline, "2025-09-10", "MON-03") is None


# MON-04 ----------------------------------------------------------------------------------------
def maintained() -> TimelineBuilder:
    """Steroids from T0, response bloods done at week 4 and month 6."""
    timeline = bloods(TimelineBuilder().course("prednisolone", AAA, 10), day(28), RESPONSE)
    return bloods(timeline, "2025-07-06", RESPONSE)


@pytest.mark.parametrize(
    ("as_of", "tests"),
    [
        ("2025-10-06", None),  # §2.2 MON-04: ALT 2025-07-06, day 92: within 92 d
        ("2025-10-07", ["ALT"]),  # day 93: "no ALT within 92 d" → warning
        ("2026-01-05", ["ALT"]),  # IgG day 183: within 183 d
        ("2026-01-06", ["ALT", "IgG"]),  # IgG day 184
    ],
)
def test_mon04_maintenance(as_of, tests):
    finding = fired(maintained(), as_of, "MON-04")
    assert (finding and [t["panel"] for t in finding.evidence["tests"]]) == tests
    if finding:
        assert finding.severity == Severity.WARNING
        assert finding.parameters["maintenance_alt_interval_days"] == 92


def test_mon04_leaves_alt_to_mon01_on_a_thiopurine():
    # the LFT panel of MON-01 (phase C, overdue after 106 d) is the ALT schedule on a thiopurine
    timeline = bloods(aza("2025-01-06"), day(28), RESPONSE)
    bloods(timeline, "2025-07-06", RESPONSE, FBC, LFT)
    assert fired(timeline, "2025-10-07", "MON-04") is None
    assert fired(timeline, "2025-10-20", "MON-01") is None
    assert fired(timeline, "2025-10-21", "MON-01").severity == Severity.WARNING
    assert [t["panel"] for t in fired(timeline, "2026-01-06", "MON-04").evidence["tests"]] == ["IgG"]


def test_mon04_leaves_the_taper_alt_to_mon02():
    timeline = maintained().course("budesonide", "2025-07-06", 9, doses=[("2025-08-01", 6)])
    assert fired(timeline, "2025-10-07", "MON-02") is not None
    assert fired(timeline, "2025-10-07", "MON-04") is None


def test_mon04_leaves_missed_response_bloods_to_mon03():
    # no IgG since T0: MON-04 counts from T0 (IgG due by day 183), then MON-03 takes over at month 7
    timeline = TimelineBuilder().course("prednisolone", AAA, 10).lab("alt", day(28), 30).lab("alt", "2025-07-06", 30)
    assert fired(timeline, "2025-07-08", "MON-04") is None  # T0 + 183 days
    assert [t["panel"] for t in fired(timeline, "2025-07-09", "MON-04").evidence["tests"]] == ["IgG"]
    assert fired(timeline, "2025-08-07", "MON-03").evidence["missing"] == ["IgG"]
    assert fired(timeline, "2025-08-07", "MON-04") is None


# MON-05 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("last_alt", "as_of", "fires"),
    [
        ("2025-03-03", "2025-04-03", False),  # §2.2 MON-05: every ≤ 31 d for 6 months (day 31)
        ("2025-03-03", "2025-04-04", True),  # day 32: overdue, warning
        (None, "2025-04-04", True),  # no ALT since stopping: counted from the stop
        ("2025-09-10", "2025-12-11", False),  # months 6-12: every ≤ 92 d (day 92)
        ("2025-09-10", "2025-12-12", True),  # day 93
        ("2026-03-10", "2026-09-09", False),  # after month 12: every ≤ 183 d (day 183)
        ("2026-03-10", "2026-09-10", True),  # day 184
    ],
)
def test_mon05_post_withdrawal(last_alt, as_of, fires):
    timeline = TimelineBuilder().course("prednisolone", "2023-01-02", 5, stop="2025-03-03")
    if last_alt:
        timeline.lab("alt", last_alt, 25)
    finding = fired(timeline, as_of, "MON-05")
    assert (finding is not None) is fires
    if finding:
        assert finding.severity == Severity.WARNING
        assert finding.evidence["treatment_stopped"] == "2025-03-03"
        assert finding.parameters["post_withdrawal_intervals_days"] == [31, 92, 183]


def test_mon05_not_while_on_treatment():
    timeline = TimelineBuilder().course("prednisolone", "2023-01-02", 5)
    assert fired(timeline, "2025-04-04", "MON-05") is None


# MON-07 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("drawn", "as_of", "fires"),
    [
        (day(20), day(51), False),  # §2.2 MON-07: within 31 d in the first 3 months
        (day(20), day(52), True),  # day 32
        ("2025-05-01", "2025-08-01", False),  # after 3 months (2025-04-06): within 92 d
        ("2025-05-01", "2025-08-02", True),  # day 93
    ],
)
def test_mon07_tacrolimus_bloods(drawn, as_of, fires):
    timeline = bloods(TimelineBuilder().course("tacrolimus", AAA, 4), drawn, TACRO)
    finding = fired(timeline, as_of, "MON-07")
    assert (finding is not None) is fires
    if finding:
        assert finding.severity == Severity.WARNING
        assert len(finding.evidence["tests"]) == 4


def test_mon07_names_the_missing_test():
    timeline = bloods(TimelineBuilder().course("tacrolimus", AAA, 4), day(40), ("tacrolimus", "potassium", "glucose"))
    finding = fired(timeline, day(45), "MON-07")  # creatinine never drawn since the start (day 45 > 31)
    assert [t["panel"] for t in finding.evidence["tests"]] == ["creatinine"]
    assert "creatinine" in finding.message


# OTH-01 / OTH-02 -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("trough", "fires"),
    [
        (2.9, True),  # §2.12 OTH-01: trough outside 3-8 ng/mL → warning
        (3.0, False),  # boundary: 3 is inside
        (8.0, False),  # boundary: 8 is inside
        (8.1, True),
    ],
)
def test_oth01_tacrolimus_trough(trough, fires):
    timeline = TimelineBuilder().course("tacrolimus", AAA, 4).lab("tacrolimus", day(14), trough, uln=8)
    finding = fired(timeline, day(15), "OTH-01")
    assert (finding is not None) is fires
    if finding:
        assert finding.severity == Severity.WARNING
        assert finding.evidence["trough"]["value"] == trough
        assert finding.parameters["tacrolimus_trough_range"] == [3.0, 8.0]


def test_oth01_ignores_a_trough_from_before_the_course():
    timeline = TimelineBuilder().lab("tacrolimus", day(-100), 12).course("tacrolimus", AAA, 4)
    assert fired(timeline, day(15), "OTH-01") is None


def test_oth_rules_are_in_the_other_family():
    load_rules()
    assert REGISTRY["OTH-01"].family == REGISTRY["OTH-02"].family == Family.OTHER
    assert REGISTRY["MON-01"].family == Family.MONITORING


@pytest.mark.parametrize(
    ("drug", "dose", "fires"),
    [
        ("mycophenolate_mofetil", 750, True),  # §2.12 OTH-02: MMF outside 1-2 g/day → info
        ("mycophenolate_mofetil", 1000, False),  # boundary: start dose 1 g
        ("mycophenolate_mofetil", 2000, False),  # boundary: 2 g
        ("mycophenolate_mofetil", 2500, True),
        ("mycophenolic_acid", 720, False),  # the sodium salt has other doses (720 mg ≈ 1 g MMF)
    ],
)
def test_oth02_mmf_dose(drug, dose, fires):
    finding = fired(TimelineBuilder().course(drug, AAA, dose), day(1), "OTH-02")
    assert (finding is not None) is fires
    if finding:
        assert finding.severity == Severity.INFO
        assert finding.parameters["mmf_dose_range_mg"] == [1000.0, 2000.0]


def test_oth02_checks_a_planned_course_and_a_missing_dose():
    planned = TimelineBuilder().course("mycophenolate_mofetil", "2025-06-01", 3000, planned=True)
    assert fired(planned, "2025-06-01", "OTH-02").evidence["planned"] is True
    no_dose = TimelineBuilder().course("mycophenolate_mofetil", AAA)
    assert not_evaluable(no_dose, day(1), "OTH-02").missing == "MMF dose not recorded"


# MON-08 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("drawn", "fires"),
    [
        ("2025-03-30", True),  # §2.2 MON-08: drawn 27 days after the AZA dose change (< 28 d) → info
        ("2025-03-31", False),  # 28 days: steady state
        ("2025-03-03", False),  # drawn on the day of the change: the sample predates the new dose
    ],
)
def test_mon08_after_a_dose_change(drawn, fires):
    timeline = TimelineBuilder().course("azathioprine", AAA, 50, doses=[("2025-03-03", 100)])
    timeline.lab("tgn", drawn, 180).lab("mmp", drawn, 1200)
    finding = fired(timeline, drawn, "MON-08")
    assert (finding is not None) is fires
    if finding:
        assert finding.severity == Severity.INFO
        assert finding.evidence["change_date"] == "2025-03-03"
        assert len(finding.evidence["results"]) == 2
        assert finding.parameters["metabolite_steady_state_days"] == 28


def test_mon08_after_allopurinol_start():
    # §2.2 MON-08: "or allopurinol start"
    timeline = TimelineBuilder().course("azathioprine", "2024-06-03", 100).course("allopurinol", "2025-03-10", 100)
    timeline.lab("tgn", "2025-04-01", 300)
    assert "allopurinol" in fired(timeline, "2025-04-02", "MON-08").evidence["change"]
    steady = TimelineBuilder().course("azathioprine", "2024-06-03", 100).lab("tgn", "2025-04-01", 300)
    assert fired(steady, "2025-04-02", "MON-08") is None


def test_mon08_not_once_the_thiopurine_is_stopped():
    timeline = TimelineBuilder().course("azathioprine", AAA, 50, doses=[("2025-03-03", 100)], stop="2025-04-01")
    timeline.lab("tgn", "2025-03-20", 180)
    assert fired(timeline, "2025-03-21", "MON-08") is not None
    assert fired(timeline, "2025-04-02", "MON-08") is None


def test_worked_example_dates_in_the_finding():
    # §2.2 MON-01 example, as the nurse sees it on the alert
    timeline = bloods(aza(), "2025-03-24", FBC, LFT)
    finding = fired(timeline, "2025-04-15", "MON-01")
    assert finding.message.startswith(
        "AZA safety bloods overdue: FBC overdue (last 2025-03-24, due 2025-04-07); "
        "LFT overdue (last 2025-03-24, due 2025-04-07)."
    )  # dates only: the days since are counted when the alert is shown
    panel = finding.evidence["panels"][0]
    assert panel == {
        "panel": "FBC",
        "state": "overdue",
        "phase": "AZA weeks 0–8: every 14 days",
        "phase_start": "2025-03-03",
        "last_result": "2025-03-24",
        "next_due": "2025-04-07",
        "overdue_after": "2025-04-14",
        "severity_if_overdue": "high",
        "restart_reason": "start",
    }
    assert date(2025, 4, 15) > d(panel["overdue_after"])
