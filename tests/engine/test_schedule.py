"""The monitoring schedule as plain data (monitoring/engine/schedule.py; clinical-rules.md §2.2).

Each item must carry the dates the MON rules act on: the recall list and the alert queue agree.
"""

from datetime import date

import pytest

from monitoring.engine.schedule import FBC, LFT, antimetabolite_phases, every, monitoring_schedule
from monitoring.parameters import defaults
from monitoring.rules.base import Context, Severity
from tests.timelines import AAA, TimelineBuilder, d, day, fired

AZA_START = "2025-03-03"  # §2.2 MON-01 worked example


def schedule(timeline: TimelineBuilder, as_of, **overrides) -> dict[str, object]:
    ctx = Context(timeline.build(), d(as_of), {**defaults(), **overrides})
    return {item.panel: item for item in monitoring_schedule(ctx)}


def bloods(timeline: TimelineBuilder, on, *panels: tuple[str, ...]) -> TimelineBuilder:
    """One draw of every analyte of the given panels (normal values)."""
    values = {"wbc": 6, "neutrophils": 4, "lymphocytes": 1.5, "platelets": 250, "haemoglobin": 130, "alt": 25,
              "ast": 25, "alp": 80, "ggt": 30, "bilirubin": 10, "albumin": 40, "inr": 1.0, "igg": 12,
              "tacrolimus": 5, "creatinine": 80, "potassium": 4.2, "glucose": 5.5}  # fmt: skip
    for panel in panels:
        for code in panel:
            timeline.lab(code, on, values[code])
    return timeline


def aza(start=AZA_START, dose=100, doses=()) -> TimelineBuilder:
    return TimelineBuilder().course("prednisolone", start, 30).course("azathioprine", start, dose, doses=doses)


def test_worked_example_dates():
    # §2.2 MON-01 example: AZA start 2025-03-03, last FBC 2025-03-24 (day 21, phase A):
    # next due 2025-04-07, overdue after 2025-04-14.
    items = schedule(bloods(aza(), "2025-03-24", FBC, LFT), "2025-03-25")
    fbc = items["FBC"]
    assert fbc.rule_id == "MON-01"
    assert fbc.phase == "AZA weeks 0–8: every 14 days"
    assert fbc.phase_start == date(2025, 3, 3)
    assert fbc.last_result == date(2025, 3, 24)
    assert fbc.next_due == date(2025, 4, 7)
    assert fbc.overdue_after == date(2025, 4, 14)
    assert fbc.severity_if_overdue == Severity.HIGH
    assert fbc.restart_reason == "start"
    assert items["LFT"].overdue_after == date(2025, 4, 14)


def test_worked_example_phase_starts():
    # §2.2 MON-01 example: phase B starts 2025-04-28, phase C 2025-09-01 (day 56 and day 182; the
    # text's "D0+57" and "D0+183" disagree with its own example by a day, the example is followed).
    ctx = Context(aza().build(), d("2025-03-25"), defaults())
    phases = antimetabolite_phases(ctx, d(AZA_START), "AZA")
    assert [p.start for p in phases] == [date(2025, 3, 3), date(2025, 4, 28), date(2025, 9, 1)]
    assert [p.end for p in phases] == [date(2025, 4, 28), date(2025, 9, 1), None]
    assert [p.label for p in phases] == [
        "AZA weeks 0–8: every 14 days",
        "AZA week 8 to month 6: every month",
        "AZA after month 6: every 3 months",
    ]


@pytest.mark.parametrize(
    ("last", "as_of", "phase", "phase_start", "due", "overdue_after", "severity"),
    [
        # §2.2 MON-01 phase B (max 31 d, overdue > 38 d), first day of the phase
        ("2025-04-27", "2025-04-28", "AZA week 8 to month 6: every month", "2025-04-28", "2025-05-28", "2025-06-04",
         Severity.WARNING),
        # §2.2 MON-01 phase C (max 92 d, overdue > 106 d)
        ("2025-08-31", "2025-09-01", "AZA after month 6: every 3 months", "2025-09-01", "2025-12-01", "2025-12-15",
         Severity.WARNING),
        # last draw late in phase A: 14 days later is already phase B, so the date is projected with
        # the phase-B interval (the rule would not fire on 2025-05-04)
        ("2025-04-20", "2025-04-21", "AZA week 8 to month 6: every month", "2025-04-28", "2025-05-21", "2025-05-28",
         Severity.WARNING),
        # no draw since the start: counted from D0
        (None, "2025-03-04", "AZA weeks 0–8: every 14 days", "2025-03-03", "2025-03-17", "2025-03-24", Severity.HIGH),
    ],
)  # fmt: skip
def test_phase_dates(last, as_of, phase, phase_start, due, overdue_after, severity):
    timeline = aza()
    if last:
        bloods(timeline, last, FBC)
    fbc = schedule(timeline, as_of)["FBC"]
    assert (fbc.phase, fbc.phase_start, fbc.next_due, fbc.overdue_after, fbc.severity_if_overdue) == (
        phase,
        d(phase_start),
        d(due),
        d(overdue_after),
        severity,
    )


def test_projected_dates_agree_with_the_rule():
    # The recall list never shows a date on which MON-01 would not act.
    timeline = bloods(aza(), "2025-04-20", FBC, LFT)
    fbc = schedule(timeline, "2025-04-21")["FBC"]
    assert fired(timeline, fbc.overdue_after, "MON-01") is None
    assert fired(timeline, day(1, fbc.overdue_after), "MON-01").severity == Severity.WARNING


def test_schedule_restarts_after_a_dose_increase():
    # §2.2 MON-01: D0 = the date of the last dose increase
    timeline = bloods(aza("2025-01-06", 50, doses=[("2025-06-02", 100)]), "2025-05-20", FBC, LFT)
    fbc = schedule(timeline, "2025-06-03")["FBC"]
    assert fbc.restart_reason == "dose increase"
    assert fbc.phase == "AZA weeks 0–8: every 14 days"
    assert fbc.phase_start == date(2025, 6, 2)
    assert (fbc.next_due, fbc.overdue_after) == (date(2025, 6, 16), date(2025, 6, 23))


def test_schedule_does_not_restart_after_a_dose_decrease():
    timeline = bloods(aza("2025-01-06", 100, doses=[("2025-06-02", 50)]), "2025-05-20", FBC, LFT)
    fbc = schedule(timeline, "2025-06-03")["FBC"]
    assert fbc.restart_reason == "start"
    assert fbc.phase == "AZA week 8 to month 6: every month"
    assert (fbc.next_due, fbc.overdue_after) == (date(2025, 6, 20), date(2025, 6, 27))


def test_untreated_patient_has_an_empty_schedule():
    timeline = TimelineBuilder().lab("alt", "2025-01-01", 300).lab("igg", "2025-01-01", 25)
    assert monitoring_schedule(Context(timeline.build(), d("2025-06-01"), defaults())) == []


def test_discharged_patient_has_an_empty_schedule():
    timeline = TimelineBuilder(status="discharged").course("azathioprine", AZA_START, 100)
    assert schedule(timeline, "2025-04-01") == {}


@pytest.mark.parametrize(("cirrhosis", "missing"), [(False, ""), (True, "albumin missing; INR missing")])
def test_lft_panel_includes_albumin_and_inr_when_cirrhotic(cirrhosis, missing):
    # §2.2 definitions: "Panel LFT = ALT, AST, ALP, GGT, total bilirubin (+ albumin and INR if cirrhotic)";
    # a panel is drawn when its required analytes are (issue 14): in cirrhosis albumin and INR too.
    patient = {"cirrhosis_on": date(2024, 1, 1)} if cirrhosis else {}
    timeline = TimelineBuilder(**patient).course("azathioprine", AZA_START, 100)
    timeline.lab("alt", "2025-03-24", 30).lab("bilirubin", "2025-03-24", 10)
    lft = schedule(timeline, "2025-03-25")["LFT"]
    assert lft.last_result == (None if cirrhosis else d("2025-03-24"))
    assert lft.missing_text == missing
    assert ("inr" in lft.analytes) is cirrhosis


def test_mmf_schedule_has_fbc_only():
    # §2.2 MON-06: same FBC phases as MON-01
    timeline = TimelineBuilder().course("mycophenolate_mofetil", AZA_START, 1000)
    bloods(timeline, "2025-03-24", FBC)
    items = schedule(timeline, "2025-03-25")
    assert items["FBC"].rule_id == "MON-06"
    assert items["FBC"].phase == "MMF weeks 0–8: every 14 days"
    assert items["FBC"].overdue_after == date(2025, 4, 14)
    assert "LFT" not in items


def test_mmf_start_restarts_the_thiopurine_schedule():
    # §0A A-10: "restarted by a thiopurine or MMF start or dose increase"
    timeline = aza("2025-01-06").course("mycophenolate_mofetil", "2025-08-04", 1000)
    fbc = schedule(timeline, "2025-08-05")["FBC"]
    assert (fbc.rule_id, fbc.phase_start, fbc.restart_reason) == ("MON-01", date(2025, 8, 4), "start")
    assert fbc.phase.startswith("AZA + MMF weeks 0–8")


def test_maintenance_items_on_steroids_alone():
    # §2.2 MON-04: ALT within 92 d, IgG within 183 d, while on therapy
    timeline = TimelineBuilder().course("prednisolone", AAA, 10)
    bloods(timeline, "2025-07-06", ("alt", "igg"))
    items = schedule(timeline, "2025-07-07")
    assert items["ALT"].phase == "maintenance: ALT every 3 months"
    assert (items["ALT"].next_due, items["ALT"].overdue_after) == (date(2025, 10, 6), date(2025, 10, 6))
    assert items["IgG"].phase == "maintenance: IgG every 6 months"
    assert items["IgG"].overdue_after == date(2026, 1, 5)
    assert items["IgG"].severity_if_overdue == Severity.WARNING


def test_on_a_thiopurine_alt_is_part_of_the_lft_panel():
    # MON-04's ALT is left to MON-01's LFT panel: one LFT schedule, not two
    timeline = bloods(aza("2025-01-06"), "2025-07-06", FBC, LFT, ("igg",))
    items = schedule(timeline, "2025-07-07")
    assert set(items) == {"FBC", "LFT", "IgG"}
    assert items["IgG"].rule_id == "MON-04"


def test_post_withdrawal_items():
    # §2.2 MON-05: ALT every ≤ 31 d for 6 months, ≤ 92 d to month 12, then ≤ 183 d
    timeline = TimelineBuilder().course("prednisolone", "2023-01-02", 5, stop="2025-03-03")
    bloods(timeline, "2025-03-03", ("alt",))
    alt = schedule(timeline, "2025-03-04")["ALT"]
    assert (alt.rule_id, alt.phase_start, alt.restart_reason) == ("MON-05", date(2025, 3, 3), "treatment stopped")
    assert alt.phase == "after withdrawal, months 0–6: every month"
    assert (alt.next_due, alt.overdue_after) == (date(2025, 4, 3), date(2025, 4, 3))
    later = schedule(bloods(timeline, "2025-09-10", ("alt",)), "2025-09-11")["ALT"]
    assert later.phase == "after withdrawal, months 6–12: every 3 months"
    assert later.phase_start == date(2025, 9, 3)


def test_tacrolimus_item_is_dated_by_the_test_due_first():
    # §2.2 MON-07: trough, creatinine, potassium, glucose within 31 d in the first 3 months
    timeline = TimelineBuilder().course("tacrolimus", AAA, 4)
    bloods(timeline, day(20), ("tacrolimus", "potassium", "glucose"))
    bloods(timeline, day(10), ("creatinine",))
    item = schedule(timeline, day(21))["tacrolimus"]
    assert item.analytes == ("tacrolimus", "creatinine", "potassium", "glucose")
    assert item.phase == "tacrolimus months 0–3: every month"
    assert (item.last_result, item.next_due) == (day(10), day(41))


def test_response_check_item():
    # §2.2 MON-03: ALT + IgG in [T0+21, T0+42]
    timeline = TimelineBuilder().course("prednisolone", AAA, 40)
    item = schedule(timeline, day(1))["ALT+IgG"]
    assert (item.next_due, item.overdue_after) == (day(21), day(42))
    assert item.phase.startswith("week-4 response check")
    # once the week-4 bloods are in, the 6-month check is the one on the list
    bloods(timeline, day(28), ("alt", "igg"))
    item = schedule(timeline, day(29))["ALT+IgG"]
    assert (item.next_due, item.overdue_after) == (date(2025, 6, 6), date(2025, 8, 6))


def test_taper_item_and_one_item_per_panel():
    # §2.2 MON-02: ALT within 30 d of a steroid dose change; the taper ALT and maintenance ALT
    # are one "ALT" line on the recall list, the one due first.
    timeline = TimelineBuilder().course("prednisolone", AAA, 40, doses=[(day(60), 30)])
    bloods(timeline, day(28), ("alt", "igg"))
    items = schedule(timeline, day(61))
    assert items["ALT"].rule_id == "MON-02"
    assert items["ALT"].restart_reason == "dose decrease"
    assert items["ALT"].next_due == day(90)
    assert [item.panel for item in monitoring_schedule(Context(timeline.build(), day(61), defaults()))].count(
        "ALT"
    ) == 1


def test_taper_alt_is_folded_into_an_earlier_lft_panel():
    # drawing the LFT panel (due 2025-03-24, phase A) draws the ALT the taper asks for by 2025-04-09
    timeline = aza().course("budesonide", "2025-01-06", 9, doses=[("2025-03-10", 6)])
    bloods(timeline, "2025-03-10", FBC, LFT)
    items = schedule(timeline, "2025-03-11")
    assert "ALT" not in items
    assert items["LFT"].next_due == date(2025, 3, 24)


@pytest.mark.parametrize(
    ("days", "text"), [(14, "every 14 days"), (31, "every month"), (92, "every 3 months"), (183, "every 6 months")]
)
def test_every(days, text):
    assert every(days) == text
