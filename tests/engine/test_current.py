"""One definition of "current" (issue 14; monitoring/engine/schedule.py current_result): a result counts
for a rule exactly while the schedule does not yet call that analyte overdue (interval + grace).
AZA-06's counts and withdrawal readiness use it; mg/kg doses need a current weight."""

from datetime import date

import pytest

from monitoring.engine.schedule import current_result
from monitoring.parameters import defaults
from monitoring.rules.base import Context, Severity
from tests.timelines import TimelineBuilder, d, fired, not_evaluable

AZA_SINCE = "2024-01-08"  # long on AZA: MON-01 phase C (max 92 days, overdue after 106)


def on_aza(**patient) -> TimelineBuilder:
    return TimelineBuilder(**patient).course("prednisolone", AZA_SINCE, 5).course("azathioprine", AZA_SINCE, 100)


@pytest.mark.parametrize(
    ("start", "drawn", "as_of", "code", "current"),
    [
        # clinical-rules.md MON-01 phase A: overdue after > 21 days
        pytest.param("2025-03-03", "2025-03-24", "2025-04-14", "neutrophils", True, id="MON-01 phase A, day 21"),
        pytest.param("2025-03-03", "2025-03-24", "2025-04-15", "neutrophils", False, id="MON-01 phase A, day 22"),
        # clinical-rules.md MON-01 phase C: overdue after > 106 days
        pytest.param(AZA_SINCE, "2025-01-06", "2025-04-22", "platelets", True, id="MON-01 phase C, day 106"),
        pytest.param(AZA_SINCE, "2025-01-06", "2025-04-23", "platelets", False, id="MON-01 phase C, day 107"),
        # clinical-rules.md MON-04: IgG every 183 days (no grace)
        pytest.param(AZA_SINCE, "2025-01-06", "2025-07-08", "igg", True, id="MON-04 IgG, day 183"),
        pytest.param(AZA_SINCE, "2025-01-06", "2025-07-09", "igg", False, id="MON-04 IgG, day 184"),
    ],
)
def test_a_result_is_current_while_the_schedule_does_not_call_it_overdue(start, drawn, as_of, code, current):
    timeline = TimelineBuilder().course("prednisolone", start, 30).course("azathioprine", start, 100)
    timeline.lab(code, drawn, 5)
    result = current_result(Context(timeline.build(), d(as_of), defaults()), code)
    assert result.current is current
    assert result.why_not == ("" if current else f"last {'IgG' if code == 'igg' else code} is "
                              f"{(d(as_of) - d(drawn)).days} days old")  # fmt: skip


def test_aza06_does_not_grade_a_count_the_schedule_calls_overdue():
    # clinical-rules.md AZA-06 grades the patient's counts now; a neutrophil count four months old
    # (MON-01 phase C overdue after 106 days) is not evaluable, and says how old it is.
    timeline = on_aza().lab("neutrophils", "2025-01-06", 0.8).lab("platelets", "2025-01-06", 250)
    assert fired(timeline, "2025-04-22", "AZA-06").severity == Severity.HIGH  # day 106: still current
    assert fired(timeline, "2025-05-06", "AZA-06") is None
    missing = not_evaluable(timeline, "2025-05-06", "AZA-06").missing
    assert missing == "last neutrophils is 120 days old; last platelets is 120 days old"


def test_withdrawal_readiness_takes_alt_as_current_while_the_lft_panel_is_not_overdue():
    # clinical-rules.md WD-01 (sustained CBR) and MON-01 phase C: on AZA an ALT 100 days old is not
    # yet overdue (> 106 days), so readiness is judged, not "not evaluable".
    timeline = TimelineBuilder().course("prednisolone", "2022-01-10", 5).course("azathioprine", "2022-01-10", 100)
    timeline.lab("alt", "2022-01-09", 300, uln=40)
    for on in ("2024-03-01", "2024-06-01", "2024-09-01", "2024-12-01", "2025-01-06", "2025-03-01"):
        timeline.lab("alt", on, 20, uln=40).lab("igg", on, 11, uln=16)
    timeline.lab("alt", "2025-06-01", 20, uln=40).lab("igg", "2025-06-01", 11, uln=16)
    assert not_evaluable(timeline, "2025-09-09", "WD-01") is None  # ALT 100 days old
    assert fired(timeline, "2025-09-09", "WD-01") is not None
    assert not_evaluable(timeline, "2025-09-20", "WD-01").missing == "last ALT is 111 days old"


@pytest.mark.parametrize(
    ("born", "weighed", "as_of", "evaluable", "why"),
    [
        pytest.param("1980-01-01", "2025-01-06", "2025-07-06", True, "", id="issue 14: adult weight 6 months old"),
        pytest.param("1980-01-01", "2025-01-06", "2025-07-08", False,
                     "last weight is 183 days old (a weight counts for 6 months)", id="issue 14: adult weight too old"),
        pytest.param("2012-01-01", "2025-01-06", "2025-04-06", True, "", id="issue 14: child's weight 3 months old"),
        pytest.param("2012-01-01", "2025-01-06", "2025-04-08", False,
                     "last weight is 92 days old (a child's weight counts for 3 months)",
                     id="issue 14: child's weight too old"),
    ],
)  # fmt: skip
def test_aza07_doses_per_kg_by_a_current_weight_only(born, weighed, as_of, evaluable, why):
    # clinical-rules.md AZA-07: 200 mg/day at 70 kg is 2.86 mg/kg (above 2.0)
    timeline = TimelineBuilder(date_of_birth=date.fromisoformat(born)).course("azathioprine", "2024-06-03", 200)
    timeline.pgx("tpmt", "normal").weight(weighed, 70)
    finding, missing = fired(timeline, as_of, "AZA-07"), not_evaluable(timeline, as_of, "AZA-07")
    assert (finding is not None) is evaluable
    assert (missing.missing if missing else "") == why
