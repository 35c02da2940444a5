"""WD-01..WD-04 (clinical-rules.md §2.10) and withdrawal_readiness(). Rows cite the spec."""

from datetime import date

import pytest
from dateutil.relativedelta import relativedelta

from monitoring.parameters import defaults
from monitoring.rules.base import Context, Severity
from monitoring.rules.withdrawal import withdrawal_readiness
from tests.timelines import TimelineBuilder, fired, not_evaluable, run

T0 = date(2021, 2, 1)  # §2.10 WD-01 example: therapy since 2021-02-01
CBR = date(2021, 8, 1)  # ... and CBR since 2021-08-01
EXAMPLE_DAY = date(2025, 1, 15)  # ... on 2025-01-15: 47 months of therapy, 41 months of CBR
EASL = {"withdrawal_min_total_months": 36, "withdrawal_min_cbr_months": 24}


def in_remission(until: date = EXAMPLE_DAY, *, alt=14, alt_uln=35, igg=11.2, **patient) -> TimelineBuilder:
    """Prednisolone + AZA from T0; ALT 300 at baseline, then normal ALT and IgG every 3 months from CBR.

    The last pair (on `until`) is ALT 14 / ULN 35 = 0.40× ULN and IgG 11.2 g/L (§2.10 WD-02 example).
    """
    timeline = TimelineBuilder(**patient).course("prednisolone", T0, 30).course("azathioprine", T0, 100)
    timeline.lab("alt", T0 - relativedelta(days=1), 300)
    on = CBR
    while on < until:
        timeline.lab("alt", on, 25, uln=35).lab("igg", on, 12.5)
        on += relativedelta(months=3)
    return timeline.lab("alt", until, alt, uln=alt_uln).lab("igg", until, igg)


def findings(timeline, as_of, **overrides) -> dict:
    return {f.rule_id: f for f in run(timeline, as_of, **overrides).findings if f.rule_id.startswith("WD-")}


# WD-01 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides",
    [
        {},  # §2.10 WD-01 example under the seeds' values (§0A A-6 default: 24 / 12)
        EASL,  # ... and under EASL 2015's 36 / 24: eligible under both parameter sets
    ],
)
def test_wd01_worked_example_is_eligible_under_both_parameter_sets(overrides):
    finding = fired(in_remission(), EXAMPLE_DAY, "WD-01", **overrides)
    assert finding.severity == Severity.INFO
    assert "on therapy since 2021-02-01, in complete biochemical response since 2021-08-01" in finding.message
    assert finding.evidence["cbr_since"] == CBR.isoformat()
    assert finding.parameters["withdrawal_min_total_months"] == overrides.get("withdrawal_min_total_months", 24)
    assert finding.parameters["withdrawal_min_cbr_months"] == overrides.get("withdrawal_min_cbr_months", 12)


@pytest.mark.parametrize(
    ("as_of", "fires"),
    [
        (date(2023, 2, 1), True),  # (a) exactly 24 months of therapy (≥ 24)
        (date(2023, 1, 31), False),  # one day short
    ],
)
def test_wd01_total_therapy_boundary(as_of, fires):
    assert (fired(in_remission(as_of), as_of, "WD-01") is not None) is fires


@pytest.mark.parametrize(
    ("as_of", "fires"),
    [
        (date(2023, 8, 1), False),  # EASL 36 / 24: 24 months of CBR but only 30 months of therapy
        (date(2024, 1, 31), False),  # one day short of 36 months of therapy
        (date(2024, 2, 1), True),  # 36 months of therapy (≥ 36) and 30 months of CBR
    ],
)
def test_wd01_easl_parameter_set_boundaries(as_of, fires):
    assert (fired(in_remission(as_of), as_of, "WD-01", **EASL) is not None) is fires


def test_wd01_cbr_months_boundary():
    # (b) CBR since 2021-08-01; with min_cbr_months 36: 2024-08-01 is exactly 36 months, the day before is not
    overrides = {"withdrawal_min_cbr_months": 36}
    assert fired(in_remission(date(2024, 8, 1)), date(2024, 8, 1), "WD-01", **overrides) is not None
    assert fired(in_remission(date(2024, 7, 31)), date(2024, 7, 31), "WD-01", **overrides) is None


def test_wd01_not_after_an_abnormal_alt():
    # (b) "every ALT and IgG ≤ ULN": an ALT above the ULN ends the sustained CBR
    timeline = in_remission().lab("alt", date(2024, 12, 1), 40, uln=35)
    assert fired(timeline, EXAMPLE_DAY, "WD-01") is None


@pytest.mark.parametrize("kind", ["pregnant", "planned"])
def test_wd01_not_when_pregnant_or_planning(kind):
    # (d) not pregnant or planning pregnancy
    timeline = in_remission().pregnancy(date(2024, 12, 1), kind=kind)
    assert findings(timeline, EXAMPLE_DAY) == {}


def test_wd01_without_recent_labs_is_not_evaluable():
    # Sustained CBR needs current ALT/IgG: the last ALT is past the MON-04 interval (92 days), so overdue
    timeline = in_remission(date(2024, 9, 1))
    assert fired(timeline, EXAMPLE_DAY, "WD-01") is None
    assert "last ALT is 136 days old" in not_evaluable(timeline, EXAMPLE_DAY, "WD-01").missing


def test_wd01_quiet_off_treatment():
    timeline = TimelineBuilder().course("prednisolone", T0, 30, stop=date(2024, 1, 1))
    assert findings(timeline, EXAMPLE_DAY) == {}


# WD-02 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alt", "igg", "fires"),
    [
        (14, 11.2, True),  # §2.10 WD-02 example: ALT 14 / 35 = 0.40× ULN, IgG 11.2 → favourable
        (17.5, 11.2, False),  # ALT exactly 0.5× ULN is not "< 0.5×"
        (17, 12.0, True),  # IgG exactly 12 g/L counts (≤ 12)
        (14, 12.1, False),  # IgG above 12
    ],
)
def test_wd02_favourable_predictors(alt, igg, fires):
    finding = fired(in_remission(alt=alt, igg=igg), EXAMPLE_DAY, "WD-02")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.INFO
        assert finding.parameters["withdrawal_favourable_alt_uln"] == 0.5
        assert finding.parameters["withdrawal_favourable_igg_max"] == 12.0


def test_wd02_worked_example_message():
    assert "0.40× ULN" in fired(in_remission(), EXAMPLE_DAY, "WD-02").message


def test_wd02_only_for_an_eligible_patient():
    assert fired(in_remission(date(2022, 6, 1)), date(2022, 6, 1), "WD-02") is None  # 16 months of therapy


# WD-03 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("biopsy_on", "hai", "overrides", "expected"),
    [
        (None, None, {}, {"WD-01", "WD-02", "WD-03"}),  # §2.10 WD-03: eligible, no biopsy → offer one
        (date(2024, 6, 1), 2, {}, {"WD-01", "WD-02"}),  # recent biopsy in histological remission (HAI < 4)
        (date(2024, 6, 1), 4, {}, {"WD-03"}),  # HAI ≥ 4 → not ready: one item, no WD-01/WD-02
        (date(2024, 1, 15), 2, {}, {"WD-01", "WD-02"}),  # biopsy exactly 12 months ago still counts
        (date(2024, 1, 14), 2, {}, {"WD-01", "WD-02", "WD-03"}),  # 12 months and a day: prompt again
        (date(2024, 6, 1), None, {}, {"WD-01", "WD-02", "WD-03"}),  # biopsy without HAI: record it
        (None, None, {"withdrawal_biopsy_prompt": False}, {"WD-01", "WD-02"}),  # §0A A-6: prompt can be off
        (date(2024, 6, 1), 5, {"withdrawal_biopsy_prompt": False}, {"WD-03"}),  # ... an active biopsy still counts
    ],
)
def test_wd03_histology(biopsy_on, hai, overrides, expected):
    timeline = in_remission()
    if biopsy_on:
        timeline.biopsy(biopsy_on, hai=hai)
    found = findings(timeline, EXAMPLE_DAY, **overrides)
    assert set(found) == expected
    if "WD-03" in found:
        assert found["WD-03"].severity == Severity.INFO


def test_wd03_messages():
    prompt = fired(in_remission(), EXAMPLE_DAY, "WD-03")
    assert "no liver biopsy in the last 12 months" in prompt.message
    assert prompt.parameters["withdrawal_biopsy_recent_months"] == 12
    not_ready = fired(in_remission().biopsy(date(2024, 6, 1), hai=6), EXAMPLE_DAY, "WD-03")
    assert not_ready.message.startswith("Not ready to withdraw")
    assert not_ready.evidence["hai"] == 6
    assert not_ready.parameters["histological_remission_hai_below"] == 4


# WD-04 ------------------------------------------------------------------------------------------------
def test_wd04_replaces_wd01_after_a_recorded_relapse_after_withdrawal():
    # §2.10 WD-04: ≥ 1 relapse after a previous withdrawal → lifelong maintenance (and no WD-01)
    timeline = in_remission().dated("relapses", date(2020, 5, 1), "after_withdrawal")
    found = findings(timeline, EXAMPLE_DAY)
    assert set(found) == {"WD-04"}
    assert found["WD-04"].severity == Severity.INFO
    assert "lifelong" in found["WD-04"].message


def test_wd04_ignores_a_relapse_on_treatment():
    timeline = in_remission().dated("relapses", date(2020, 5, 1), "on_treatment")
    assert "WD-04" not in findings(timeline, EXAMPLE_DAY)


def test_wd04_from_the_response_history():
    # A first era stopped in remission, ALT ≥ 3× ULN after stopping (relapse), re-induced: (c) fails
    timeline = TimelineBuilder().course("prednisolone", date(2017, 1, 2), 30, stop=date(2019, 1, 2))
    timeline.lab("alt", date(2017, 1, 1), 400).lab("alt", date(2017, 4, 1), 30, uln=35).lab("igg", date(2017, 4, 1), 12)
    timeline.lab("alt", date(2019, 6, 1), 150, uln=35)
    timeline.course("prednisolone", date(2019, 6, 5), 30, id=10).course("azathioprine", T0, 100)
    on = date(2019, 9, 1)
    while on <= EXAMPLE_DAY:
        timeline.lab("alt", on, 14, uln=35).lab("igg", on, 11)
        on += relativedelta(months=3)
    timeline.lab("alt", EXAMPLE_DAY, 14, uln=35).lab("igg", EXAMPLE_DAY, 11)
    found = findings(timeline, EXAMPLE_DAY)
    assert set(found) == {"WD-04"}
    assert found["WD-04"].evidence["relapses_after_withdrawal"] == ["2019-06-01"]


# withdrawal_readiness -----------------------------------------------------------------------------------
def test_withdrawal_readiness_lists_every_criterion():
    timeline = in_remission().pregnancy(date(2024, 12, 1), kind="planned").build()
    readiness = withdrawal_readiness(Context(timeline, EXAMPLE_DAY, defaults()))
    assert [(name, met) for name, met, _ in readiness] == [
        ("total_therapy", True),
        ("sustained_cbr", True),
        ("no_relapse_after_withdrawal", True),
        ("not_pregnant", False),
        ("favourable_predictors", True),
        ("histology", None),
    ]
    details = {name: detail for name, _, detail in readiness}
    assert details["total_therapy"] == "on therapy since 2021-02-01 (24 months on 2023-02-01)"
    assert details["sustained_cbr"] == "in CBR since 2021-08-01 (12 months on 2022-08-01)"
    assert details["not_pregnant"] == "planning a pregnancy"


def test_withdrawal_readiness_for_an_untreated_patient():
    readiness = withdrawal_readiness(Context(TimelineBuilder().build(), EXAMPLE_DAY, defaults()))
    assert readiness[0] == ("total_therapy", False, "not on treatment")
    assert readiness[1][1] is False
