"""STER-01..05 and VAC-01 (clinical-rules.md §2.6). Rows cite the spec."""

import pytest

from monitoring.parameters import defaults
from monitoring.rules.base import Context, Severity
from monitoring.rules.steroids import cumulative_steroid_exposure
from tests.timelines import AAA, TimelineBuilder, d, day, fired, not_evaluable, run


def on_prednisolone(start=AAA, dose=20, stop=None, **patient) -> TimelineBuilder:
    return TimelineBuilder(**patient).course("prednisolone", start, dose, stop=stop)


def context(timeline: TimelineBuilder, as_of, **overrides) -> Context:
    return Context(timeline.build(), d(as_of), {**defaults(), **overrides})


# STER-01 DEXA --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("as_of_day", "fires"),
    [
        (90, False),  # §2.6 STER-01: baseline only when "> 90 days since steroid start"
        (91, True),  # day 91: baseline warning
        (30, False),  # early in the course: expected duration not yet shown
    ],
)
def test_ster01_baseline_scan_after_90_days_without_dexa(as_of_day, fires):
    finding = fired(on_prednisolone(), day(as_of_day), "STER-01")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.WARNING  # §2.6 STER-01: "warning (baseline)"
        assert "baseline" in finding.message
        assert finding.evidence["steroid_since"] == "2025-01-06"
        assert finding.parameters["dexa_baseline_after_days"] == 90


@pytest.mark.parametrize(
    ("as_of", "severity"),
    [
        ("2025-01-09", None),  # §2.6 STER-01 example: last DEXA 2024-01-10 → due 2025-01-10
        ("2025-01-10", Severity.INFO),  # due on the exact date: info
        ("2026-01-09", Severity.INFO),  # still only due the day before overdue
        ("2026-01-10", Severity.WARNING),  # §2.6 STER-01 example: overdue 2026-01-10
        ("2027-06-01", Severity.WARNING),  # long overdue
    ],
)
def test_ster01_due_and_overdue_from_the_last_scan(as_of, severity):
    timeline = on_prednisolone("2023-06-01", 7.5).dexa("2022-05-01").dexa("2024-01-10")
    finding = fired(timeline, as_of, "STER-01")
    assert (finding.severity if finding else None) == severity
    if finding:
        assert finding.evidence["last_dexa"] == "2024-01-10"
        assert finding.evidence["due_on"] == "2025-01-10"
        assert finding.evidence["overdue_on"] == "2026-01-10"
        assert finding.parameters["dexa_due_months"] == 12


@pytest.mark.parametrize(
    ("counts_budesonide", "fires"),
    [
        (True, True),  # §0A A-19: any corticosteroid course, budesonide included, counts
        (False, False),  # configurable: a clinic may leave budesonide out
    ],
)
def test_ster01_budesonide_is_configurable(counts_budesonide, fires):
    timeline = TimelineBuilder().course("budesonide", AAA, 9)
    finding = fired(timeline, day(100), "STER-01", dexa_counts_budesonide=counts_budesonide)
    assert (finding is not None) is fires


def test_ster01_a_switch_from_prednisolone_to_budesonide_is_one_exposure():
    # §2.6 STER-01: "> 90 days since steroid start": the start of the exposure, not of the last course
    timeline = TimelineBuilder().course("prednisolone", AAA, 20, stop=day(60)).course("budesonide", day(70), 9)
    assert fired(timeline, day(95), "STER-01").evidence["steroid_since"] == "2025-01-06"
    # Without budesonide counting, the patient is no longer on a counted steroid.
    assert fired(timeline, day(95), "STER-01", dexa_counts_budesonide=False) is None


@pytest.mark.parametrize(
    "timeline",
    [
        TimelineBuilder().course("prednisolone", AAA, 20, stop=day(120)),  # steroid stopped: not "on steroids"
        TimelineBuilder().course("azathioprine", AAA, 100),  # not a steroid
        TimelineBuilder().course("prednisolone", AAA, 20).dexa(day(10)),  # recent baseline scan
    ],
)
def test_ster01_quiet(timeline):
    assert fired(timeline, day(200), "STER-01") is None


# STER-02 Calcium and vitamin D ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("builder", "fires"),
    [
        (on_prednisolone(), True),  # §2.6 STER-02: on steroids, no supplement
        (on_prednisolone().course("calcium_vitamin_d", AAA), False),  # supplement recorded
        (on_prednisolone().course("calcium_vitamin_d", day(-100), stop=day(5)), True),  # supplement stopped
        (on_prednisolone().course("alendronate", AAA, 10), True),  # a bisphosphonate is not calcium/vitamin D
        (TimelineBuilder().course("budesonide", AAA, 9), True),  # budesonide counts (bone_protection_counts_budesonide)
        (TimelineBuilder().course("prednisolone", day(30), 30, planned=True), True),  # S001 "from treatment initiation"
        (TimelineBuilder().course("azathioprine", AAA, 100), False),  # no steroid
        (on_prednisolone(stop=day(20)), False),  # steroid finished
    ],
)
def test_ster02_calcium_and_vitamin_d(builder, fires):
    finding = fired(builder, day(30), "STER-02")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.WARNING


def test_ster02_budesonide_can_be_left_out():
    timeline = TimelineBuilder().course("budesonide", AAA, 9)
    finding = fired(timeline, day(30), "STER-02")
    assert finding.parameters["bone_protection_counts_budesonide"] is True
    assert fired(timeline, day(30), "STER-02", bone_protection_counts_budesonide=False) is None


# STER-03 Prolonged prednisolone > 10 mg/day --------------------------------------------------
@pytest.mark.parametrize(
    ("timeline", "as_of", "total", "days_above"),
    [
        # Taper 40 → 20 → 10 → 5 mg in 10-day steps: 400 + 200 + 100 + 50 mg; only 40 and 20 are > 10 mg.
        (
            TimelineBuilder().course("prednisolone", AAA, 40, doses=[(day(10), 20), (day(20), 10), (day(30), 5)]),
            day(39),
            750.0,
            20,
        ),
        # Methylprednisolone 16 mg = 20 mg prednisolone (× 1.25); today counts: days 0..4.
        (TimelineBuilder().course("methylprednisolone", AAA, 16), day(4), 100.0, 5),
        # Two 6 mg courses overlapping for 5 days: 12 mg/day on those days is > 10.
        (
            TimelineBuilder()
            .course("prednisolone", AAA, 6, stop=day(10))
            .course("prednisone", day(5), 6, stop=day(15)),
            day(30),
            120.0,
            5,
        ),
        # The stop date is not a dosing day; budesonide has no prednisolone equivalent.
        (
            TimelineBuilder().course("prednisolone", AAA, 20, stop=day(3)).course("budesonide", day(3), 9),
            day(20),
            60.0,
            3,
        ),
        # A planned course has not been taken yet.
        (TimelineBuilder().course("prednisolone", day(10), 40, planned=True), day(10), 0.0, 0),
    ],
)
def test_cumulative_steroid_exposure(timeline, as_of, total, days_above):
    ctx = context(timeline, as_of)
    assert cumulative_steroid_exposure(ctx) == (pytest.approx(total), days_above)


@pytest.mark.parametrize(
    ("dose", "as_of_day", "fires"),
    [
        (20, 546, False),  # §2.6 STER-03: 547 days (days 0..546) is 17.97 months, not > 18
        (20, 547, True),  # 548 days is 18.00+ months (18 × 30.4375 = 547.9 days): fires
        (10, 1000, False),  # exactly 10 mg/day is not "> 10 mg/day"
        (10.5, 1000, True),  # just above 10 mg/day for ~33 months
    ],
)
def test_ster03_prolonged_prednisolone_above_10_mg(dose, as_of_day, fires):
    finding = fired(on_prednisolone(dose=dose), day(as_of_day), "STER-03")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.WARNING
        assert finding.parameters["prolonged_steroid_mg"] == 10.0
        assert finding.parameters["prolonged_steroid_months"] == 18


def test_ster03_counts_cumulative_months_across_courses():
    # §2.6 STER-03: "for a cumulative > 18 months": 10 months, a year off, then 9 months
    timeline = (
        TimelineBuilder()
        .course("prednisolone", "2020-01-01", 20, stop="2020-11-01")
        .course("prednisolone", "2021-11-01", 15)
    )
    assert fired(timeline, "2022-06-01", "STER-03") is None  # 305 + 213 days: 17.0 months
    finding = fired(timeline, "2022-09-01", "STER-03")  # 305 + 305 days: 20.0 months
    # 305 + 243 days = 548 days > 18 × 30.4375: the limit was passed on day 243 of the second course.
    assert finding.evidence["limit_passed_on"] == "2022-07-01"
    assert "(limit passed on 2022-07-01)" in finding.message
    assert fired(timeline, "2022-06-30", "STER-03") is None


@pytest.mark.parametrize("as_of_day", [547, 548, 700])
def test_ster03_limit_date_is_the_first_day_it_fires(as_of_day):
    # §2.6 STER-03: 20 mg/day from day 0 fires from day 547 (see above); the date does not move after.
    finding = fired(on_prednisolone(dose=20), day(as_of_day), "STER-03")
    assert finding.evidence["limit_passed_on"] == day(547).isoformat()


def test_ster03_only_while_on_a_systemic_steroid():
    timeline = TimelineBuilder().course("prednisolone", "2020-01-01", 20, stop="2022-01-01")
    assert fired(timeline, "2022-02-01", "STER-03") is None


def test_ster03_without_a_dose_is_not_evaluable():
    timeline = TimelineBuilder().course("prednisolone", AAA)
    assert "dose" in not_evaluable(timeline, day(30), "STER-03").missing


# STER-04 Starting-dose sanity ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kg", "dose", "fires"),
    [
        (50, 25, False),  # §2.6 STER-04 example: 50 kg gives 25-50 mg/day
        (50, 50, False),  # 1 mg/kg exactly is allowed
        (50, 51, True),  # above 1 mg/kg
        (60, 60, False),  # 60 kg gives 30-60 mg/day
        (60, 61, True),  # above both limits
        (72, 60, False),  # 72 kg gives 36-72 mg/day (cap 60)
        (72, 65, True),  # 0.9 mg/kg but above the 60 mg cap
        (95, 60, False),  # 95 kg gives 47.5-95 mg/day (cap 60)
        (95, 70, True),  # above the cap
    ],
)
def test_ster04_starting_dose_worked_examples(kg, dose, fires):
    timeline = TimelineBuilder().weight(day(-3), kg).course("prednisolone", AAA, dose, planned=True)
    finding = fired(timeline, AAA, "STER-04")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.WARNING
        assert finding.evidence["ceiling_mg"] == min(60, kg)
        assert finding.parameters["prednisolone_max_start_mg"] == 60.0
        assert finding.parameters["prednisolone_max_mg_per_kg"] == 1.0


@pytest.mark.parametrize(
    ("start_day", "fires"),
    [
        (-30, True),  # a course started 30 days ago is still checked
        (-31, False),  # ... 31 days ago is not (steroid_start_check_days)
    ],
)
def test_ster04_checks_courses_started_recently(start_day, fires):
    timeline = TimelineBuilder().weight(day(-40), 60).course("prednisone", day(start_day), 80, doses=[(day(-5), 40)])
    assert (fired(timeline, AAA, "STER-04") is not None) is fires


def test_ster04_not_in_acute_severe_aih():
    # §2.6 STER-04: "non-AS-AIH induction"; in AS-AIH ≥ 1 mg/kg IV is intended
    timeline = TimelineBuilder().weight(day(-3), 60).acute_episode(day(-2)).course("prednisolone", AAA, 80)
    assert fired(timeline, day(1), "STER-04") is None


def test_ster04_without_a_weight():
    over_cap = TimelineBuilder().course("prednisolone", AAA, 70, planned=True)
    assert fired(over_cap, AAA, "STER-04") is not None  # the 60 mg cap needs no weight
    usual = TimelineBuilder().course("prednisolone", AAA, 40, planned=True)
    assert fired(usual, AAA, "STER-04") is None
    assert "weight" in not_evaluable(usual, AAA, "STER-04").missing


@pytest.mark.parametrize("drug", ["budesonide", "methylprednisolone", "azathioprine"])
def test_ster04_only_predniso_lo_ne(drug):
    timeline = TimelineBuilder().weight(day(-3), 50).course(drug, AAA, 100, planned=True)
    assert fired(timeline, AAA, "STER-04") is None


# STER-05 Budesonide regimen ------------------------------------------------------------------
def responded_on_budesonide(later_dose: float) -> TimelineBuilder:
    """Budesonide 9 mg from T0, normal ALT and IgG from month 3, then `later_dose` from day 150."""
    timeline = TimelineBuilder().course("budesonide", AAA, 9, doses=[(day(150), later_dose)]).lab("alt", day(-1), 300)
    for month in range(3, 7):
        timeline.lab("alt", day(30 * month), 28).lab("igg", day(30 * month), 12)
    return timeline


@pytest.mark.parametrize(
    ("timeline", "fires"),
    [
        (TimelineBuilder().course("budesonide", AAA, 9), False),  # §2.6 STER-05: 9 mg/day expected
        (TimelineBuilder().course("budesonide", AAA, 6), True),  # 6 mg before any response
        (TimelineBuilder().course("budesonide", AAA, 3), True),  # 3 mg/day
        (TimelineBuilder().course("budesonide", AAA, 12), True),  # above 9 mg/day
        (responded_on_budesonide(6), False),  # 6 mg/day after response (Manns 2010, E-m)
        (responded_on_budesonide(3), True),  # 3 mg after response is not the regimen
        (responded_on_budesonide(9), False),  # staying on 9 mg is not flagged
    ],
)
def test_ster05_budesonide_regimen(timeline, fires):
    finding = fired(timeline, day(200), "STER-05")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.INFO
        assert finding.parameters["budesonide_induction_mg"] == 9.0


def test_ster05_without_a_dose_is_not_evaluable():
    timeline = TimelineBuilder().course("budesonide", AAA)
    assert not_evaluable(timeline, day(10), "STER-05") is not None


# VAC-01 Hepatitis A/B vaccination ------------------------------------------------------------
def hepatitis(builder=None, hav=None, hbv=None, vaccines=()) -> TimelineBuilder:
    """Immunity results 20 days before T0 (status per virus, None = not tested) and vaccines (day, kind)."""
    builder = builder or on_prednisolone()
    for virus, status in (("hav", hav), ("hbv", hbv)):
        if status:
            builder.dated("immunity", day(-20), virus, status)
    for on, kind in vaccines:
        builder.dated("vaccinations", day(on), kind)
    return builder


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (hepatitis(), ["hepatitis A: no immunity", "hepatitis B: no immunity"]),  # §2.6 VAC-01: no status
        (hepatitis(hav="immune_natural", hbv="immune_vaccinated"), None),  # immune to both
        (hepatitis(hav="immune_natural"), ["hepatitis B: no immunity"]),  # one virus untested
        # §2.6 VAC-01: susceptible and not vaccinated
        (hepatitis(hav="immune_natural", hbv="susceptible"), ["hepatitis B: susceptible on 2024-12-17"]),
        (hepatitis(hav="immune_natural", hbv="susceptible", vaccines=[(-5, "hbv")]), None),  # vaccinated since
        (hepatitis(hav="susceptible", hbv="susceptible", vaccines=[(-5, "hav_hbv")]), None),  # combined vaccine
        (hepatitis(hav="susceptible", hbv="immune_natural", vaccines=[(-5, "hbv")]), ["hepatitis A: susceptible"]),
        # A vaccine given before the susceptible result did not protect.
        (hepatitis(hav="immune_natural", hbv="susceptible", vaccines=[(-60, "hbv")]), ["hepatitis B: susceptible"]),
        (hepatitis(hav="immune_natural", hbv="infected"), None),  # current infection: not a vaccination question
        (hepatitis(TimelineBuilder().course("calcium_vitamin_d", AAA)), None),  # not on immunosuppression
        # Starting immunosuppression (a planned course) counts.
        (hepatitis(TimelineBuilder().course("azathioprine", day(30), 50, planned=True)), ["hepatitis A"]),
        (hepatitis(on_prednisolone(stop=day(10))), None),  # immunosuppression stopped
    ],
)
def test_vac01_hepatitis_vaccination(builder, expected):
    finding = fired(builder, day(30), "VAC-01")
    if expected is None:
        assert finding is None
    else:
        assert finding.severity == Severity.INFO
        for text in expected:
            assert text in finding.message


def test_vac01_a_later_susceptible_result_supersedes_an_old_immune_one():
    builder = hepatitis(hav="immune_natural", hbv="immune_vaccinated").dated("immunity", day(-2), "hbv", "susceptible")
    assert "hepatitis B" in fired(builder, day(30), "VAC-01").message


def test_a_plain_prednisolone_patient_gets_the_bone_and_vaccination_prompts():
    # §2.6: 200 days of prednisolone, no DEXA, no calcium, no hepatitis serology
    ids = {f.rule_id for f in run(on_prednisolone(), day(200)).findings}
    assert {"STER-01", "STER-02", "VAC-01"} <= ids
