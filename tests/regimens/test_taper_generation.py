"""Taper plans generated from the protocols of clinical-rules.md §0A ("Steroid regimens (A-3, A-4)")."""

from __future__ import annotations

from datetime import date

import pytest

from monitoring.parameters import defaults
from regimens.dosing import describe_per_kg, mg_per_day_from_mg_per_kg
from regimens.protocols import BY_CODE, PROTOCOLS, protocols_for
from regimens.taper import StepState, TaperError, generate_taper, round_dose, step_status

START = date(2025, 1, 6)
PARAMS = defaults()


def doses(steps):
    return [(s.starts_on.isoformat(), s.dose_mg_per_day) for s in steps]


@pytest.mark.parametrize(
    ("weight", "mg_per_kg", "first_weeks"),
    [
        # §0A: 0.5-1 mg/kg, max 60 mg, to 10 mg over 4 weeks; STER-04 examples (60 kg: 30-60; 72 kg cap 60)
        (60, 1.0, [60, 47.5, 35, 22.5, 10]),
        (72, 1.0, [60, 47.5, 35, 22.5, 10]),  # 72 mg capped at 60 (STER-04 example)
        (50, 1.0, [50, 40, 30, 20, 10]),
        (60, 0.5, [30, 25, 20, 15, 10]),
        (95, 0.5, [47.5, 37.5, 30, 20, 10]),  # 47.5 mg (STER-04 example); 28.75 rounds half up to 30
    ],
)
def test_prednisolone_weight_based_steps_to_10_mg_over_4_weeks(weight, mg_per_kg, first_weeks):
    steps = generate_taper(
        BY_CODE["prednisolone_weight_based"], start=START, params=PARAMS, weight_kg=weight, mg_per_kg=mg_per_kg
    )
    assert [s.dose_mg_per_day for s in steps[:5]] == first_weeks
    assert [s.starts_on for s in steps[:5]] == [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20),
                                                 date(2025, 1, 27), date(2025, 2, 3)]  # fmt: skip


def test_prednisolone_weight_based_maintenance_7_5_then_5_after_3_months_then_out():
    # §0A: "7.5 mg at normalisation, 5 mg after 3 months, then taper out at 3-4-month steps"
    steps = generate_taper(
        BY_CODE["prednisolone_weight_based"],
        start=START,
        params=PARAMS,
        weight_kg=60,
        normalisation_on=date(2025, 3, 3),
    )
    assert doses(steps[5:]) == [("2025-03-03", 7.5), ("2025-06-03", 5.0), ("2025-09-03", 2.5), ("2025-12-03", 0.0)]
    assert [s.sequence for s in steps] == list(range(1, 10))


def test_the_cap_follows_the_clinic_parameter():
    params = {**PARAMS, "prednisolone_max_start_mg": 40.0}
    steps = generate_taper(BY_CODE["prednisolone_weight_based"], start=START, params=params, weight_kg=72)
    assert steps[0].dose_mg_per_day == 40


def test_weight_based_needs_a_weight_or_a_dose():
    with pytest.raises(TaperError, match="No weight on file"):
        generate_taper(BY_CODE["prednisolone_weight_based"], start=START, params=PARAMS)
    steps = generate_taper(BY_CODE["prednisolone_weight_based"], start=START, params=PARAMS, start_dose_mg=40)
    assert steps[0].dose_mg_per_day == 40


def test_mg_per_kg_outside_the_protocol_range_is_refused():
    with pytest.raises(TaperError, match="0.5-1 mg/kg"):
        generate_taper(BY_CODE["prednisolone_weight_based"], start=START, params=PARAMS, weight_kg=60, mg_per_kg=1.5)


def test_prednisone_azathioprine_combination_30_20_15_15_then_10():
    # §0A: "prednisone + AZA combination (30/20/15/15 mg weekly, then 10 mg)"; weeks 3-4 are one step
    steps = generate_taper(BY_CODE["prednisone_azathioprine"], start=START, params=PARAMS)
    assert doses(steps) == [("2025-01-06", 30), ("2025-01-13", 20), ("2025-01-20", 15), ("2025-02-03", 10)]


def test_prednisone_monotherapy_60_40_30_30_then_20():
    # §0A: "prednisone monotherapy (60/40/30/30 mg weekly, then 20 mg)"
    steps = generate_taper(BY_CODE["prednisone_monotherapy"], start=START, params=PARAMS)
    assert doses(steps) == [("2025-01-06", 60), ("2025-01-13", 40), ("2025-01-20", 30), ("2025-02-03", 20)]


def test_budesonide_9_mg_then_6_mg_at_response():
    # §0A: "budesonide 9 mg/day (3 mg three times daily), 6 mg at response"
    steps = generate_taper(BY_CODE["budesonide"], start=START, params=PARAMS, normalisation_on=date(2025, 4, 7))
    assert doses(steps) == [("2025-01-06", 9.0), ("2025-04-07", 6.0)]
    assert steps[0].schedule == "3 mg three times daily"


def test_without_a_normalisation_date_the_steps_are_placed_12_weeks_on():
    steps = generate_taper(BY_CODE["budesonide"], start=START, params=PARAMS)
    assert steps[1].starts_on == date(2025, 3, 31)


def test_a_given_starting_dose_replaces_the_first_step_of_a_fixed_protocol():
    steps = generate_taper(BY_CODE["prednisone_monotherapy"], start=START, params=PARAMS, start_dose_mg=50)
    assert [s.dose_mg_per_day for s in steps] == [50, 40, 30, 20]


def test_every_protocol_has_a_source_and_fits_its_drugs():
    assert {p.code for p in PROTOCOLS} == {
        "prednisolone_weight_based",
        "prednisone_azathioprine",
        "prednisone_monotherapy",
        "budesonide",
    }
    assert all("§0A" in p.source for p in PROTOCOLS)
    assert [p.code for p in protocols_for("budesonide")] == ["budesonide"]
    assert protocols_for("azathioprine") == []


def test_rounding_to_tablets():
    assert [round_dose(x) for x in (47.5, 28.75, 36, 1.2)] == [47.5, 30, 35, 0]


def test_mg_per_kg_converts_with_the_weight():
    assert mg_per_day_from_mg_per_kg(1.5, 72) == 108  # AZA 1.5 mg/kg at 72 kg
    assert mg_per_day_from_mg_per_kg(2, 72.4) == 144.8
    assert describe_per_kg(150, 72) == "150 mg/day = 2.08 mg/kg/day at 72 kg"  # §3.7 example


@pytest.mark.parametrize(
    ("actual_on", "today", "state", "days_late"),
    [
        (date(2025, 1, 13), date(2025, 2, 1), StepState.GIVEN, 0),
        (date(2025, 1, 16), date(2025, 2, 1), StepState.GIVEN, 3),  # within the 3-day grace
        (date(2025, 1, 20), date(2025, 2, 1), StepState.LATE, 7),
        (None, date(2025, 1, 17), StepState.MISSED, 4),
        (None, date(2025, 1, 15), StepState.DUE, 2),
        (None, date(2025, 1, 10), StepState.UPCOMING, 0),
    ],
)
def test_planned_versus_actual(actual_on, today, state, days_late):
    status = step_status(
        sequence=2,
        starts_on=date(2025, 1, 13),
        dose_mg_per_day=20,
        actual_on=actual_on,
        actual_mg_per_day=20 if actual_on else None,
        today=today,
    )
    assert status.state == state
    assert status.days_late == days_late
    assert status.needs_attention == (state in (StepState.LATE, StepState.MISSED))
