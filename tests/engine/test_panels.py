"""A panel is its analytes (issue 14): a panel is drawn when its required analytes are, not when any
one analyte of it is; the recall list and the schedule say what is missing (monitoring/engine/schedule.py).

Overdue severity follows the bloods that were missed, not today's phase: bloods missed in MON-01
phase A stay overdue at phase A's severity, with the due date that was missed.
"""

from datetime import date

import pytest

from monitoring.engine.schedule import monitoring_schedule
from monitoring.parameters import defaults
from monitoring.rules.base import Context, Severity
from tests.timelines import TimelineBuilder, d, fired

AZA_SINCE = "2024-01-08"  # long on AZA: MON-01 phase C (max 92 days, overdue after 106)
AS_OF = "2025-12-03"
YEAR_AGO = "2024-12-02"
LAST_WEEK = "2025-11-26"
FULL = {"wbc": 6, "neutrophils": 4, "lymphocytes": 1.5, "platelets": 250, "haemoglobin": 130, "alt": 25,
        "ast": 25, "alp": 80, "ggt": 30, "bilirubin": 10, "igg": 12}  # fmt: skip


def on_aza(drawn: dict[str, str]) -> TimelineBuilder:
    timeline = TimelineBuilder().course("azathioprine", AZA_SINCE, 100)
    for code, on in drawn.items():
        timeline.lab(code, on, FULL[code])
    return timeline


def items(timeline: TimelineBuilder, as_of=AS_OF) -> dict:
    ctx = Context(timeline.build(), d(as_of), defaults())
    return {item.panel: item for item in monitoring_schedule(ctx)}


EVERYTHING_A_YEAR_AGO = dict.fromkeys(FULL, YEAR_AGO)


@pytest.mark.parametrize(
    ("drawn_last_week", "panel", "state", "last_result", "missing"),
    [
        pytest.param((), "FBC", "overdue", YEAR_AGO, "", id="clinical-rules.md MON-01: nothing since a year"),
        pytest.param(("haemoglobin", "bilirubin"), "FBC", "overdue", YEAR_AGO,
                     "WBC or neutrophils missing since 2 Dec 2024; platelets missing since 2 Dec 2024",
                     id="issue 14: Hb and bilirubin last week do not make an FBC"),
        pytest.param(("lymphocytes",), "FBC", "overdue", YEAR_AGO,
                     "WBC or neutrophils missing since 2 Dec 2024; platelets missing since 2 Dec 2024",
                     id="issue 14: lymphocytes alone are not an FBC"),
        pytest.param(("neutrophils", "platelets"), "FBC", "ok", LAST_WEEK, "",
                     id="S004 counts: neutrophils and platelets make an FBC"),
        pytest.param(("wbc", "neutrophils", "haemoglobin"), "FBC", "overdue", YEAR_AGO,
                     "platelets missing since 2 Dec 2024", id="clinical-rules.md AZA-06: platelets still missing"),
        pytest.param(("ggt",), "LFT", "overdue", YEAR_AGO,
                     "ALT missing since 2 Dec 2024; bilirubin missing since 2 Dec 2024",
                     id="issue 14: GGT alone is not an LFT"),
        pytest.param(("alt",), "LFT", "overdue", YEAR_AGO, "bilirubin missing since 2 Dec 2024",
                     id="clinical-rules.md AZA-04 / HEP: bilirubin is part of the thiopurine LFT"),
        pytest.param(("alt", "bilirubin"), "LFT", "ok", LAST_WEEK, "", id="clinical-rules.md MON-01: ALT + bilirubin"),
    ],
)  # fmt: skip
def test_a_panel_is_drawn_when_its_required_analytes_are(drawn_last_week, panel, state, last_result, missing):
    timeline = on_aza({**EVERYTHING_A_YEAR_AGO, **dict.fromkeys(drawn_last_week, LAST_WEEK)})
    item = items(timeline)[panel]
    assert (item.state(d(AS_OF)), item.last_result, item.missing_text) == (state, d(last_result), missing)


def test_an_analyte_never_drawn_is_missing_without_a_date():
    # clinical-rules.md MON-01: a platelet count was never drawn, so the FBC was never complete.
    timeline = on_aza({"wbc": LAST_WEEK, "haemoglobin": LAST_WEEK})
    fbc = items(timeline)["FBC"]
    assert fbc.last_result is None
    assert fbc.missing_text == "platelets missing"
    assert fbc.state(d(AS_OF)) == "overdue"


def test_the_alert_names_the_missing_analytes():
    # issue 14: "a patient on AZA whose last ALT, neutrophils and platelets are a year old but who had
    # a haemoglobin and a bilirubin last week" raises MON-01, saying what is missing.
    timeline = on_aza({**EVERYTHING_A_YEAR_AGO, "haemoglobin": LAST_WEEK, "bilirubin": LAST_WEEK})
    finding = fired(timeline, AS_OF, "MON-01")
    assert finding is not None and finding.severity == Severity.WARNING
    fbc = "FBC overdue: WBC or neutrophils missing since 2 Dec 2024; platelets missing since 2 Dec 2024"
    assert fbc in finding.message
    assert "LFT overdue: ALT missing since 2 Dec 2024" in finding.message


def test_the_required_analytes_are_clinic_parameters():
    # A clinic that counts a white count alone as its FBC says so in its parameters.
    timeline = on_aza({**EVERYTHING_A_YEAR_AGO, "wbc": LAST_WEEK})
    ctx = Context(timeline.build(), d(AS_OF), {**defaults(), "fbc_required_analytes": "wbc"})
    fbc = {item.panel: item for item in monitoring_schedule(ctx)}["FBC"]
    assert fbc.state(d(AS_OF)) == "ok"


# -- overdue severity follows the missed bloods ------------------------------------------------------------

AZA_START = "2025-03-03"  # clinical-rules.md §2.2 MON-01 worked example


@pytest.mark.parametrize(
    ("last", "as_of", "due", "overdue_after", "severity"),
    [
        # §2.2 MON-01 worked example: last FBC 2025-03-24 (phase A): due 2025-04-07, overdue after
        # 2025-04-14 (high); looked at in phase B (from 2025-04-28) the dates and the severity stay.
        pytest.param("2025-03-24", "2025-05-01", "2025-04-07", "2025-04-14", Severity.HIGH,
                     id="clinical-rules.md MON-01 example, seen in phase B"),
        pytest.param("2025-03-24", "2025-10-01", "2025-04-07", "2025-04-14", Severity.HIGH,
                     id="clinical-rules.md MON-01 example, seen in phase C"),
        pytest.param(None, "2025-06-02", "2025-03-17", "2025-03-24", Severity.HIGH,
                     id="clinical-rules.md MON-01 phase A: nothing since the start"),
        # a draw in phase B missed in phase B keeps phase B's warning even once phase C began
        pytest.param("2025-05-05", "2025-09-15", "2025-06-05", "2025-06-12", Severity.WARNING,
                     id="clinical-rules.md MON-01 phase B, seen in phase C"),
    ],
)  # fmt: skip
def test_overdue_severity_and_due_date_are_those_of_the_missed_phase(last, as_of, due, overdue_after, severity):
    timeline = TimelineBuilder().course("azathioprine", AZA_START, 100)
    if last:
        for code in FULL:
            timeline.lab(code, last, FULL[code])
    fbc = items(timeline, as_of)["FBC"]
    assert (fbc.next_due, fbc.overdue_after, fbc.severity_if_overdue) == (d(due), d(overdue_after), severity)
    finding = fired(timeline, as_of, "MON-01")
    assert finding.severity == severity
    assert f"due {due}" in finding.message


def test_the_missed_due_date_is_not_rewritten_as_days_pass():
    timeline = TimelineBuilder().course("azathioprine", AZA_START, 100).lab("platelets", "2025-03-24", 250)
    timeline.lab("wbc", "2025-03-24", 6)
    dates = {items(timeline, on)["FBC"].next_due for on in ("2025-04-10", "2025-05-01", "2025-07-01", "2026-01-05")}
    assert dates == {date(2025, 4, 7)}
