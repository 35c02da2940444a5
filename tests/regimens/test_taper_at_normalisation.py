"""Taper steps "at normalisation" wait for the ALT to normalise, then are due from that day (issue 14).

Seed 000 / clinical-rules.md §0A (A-3, A-4): prednisolone "7.5 mg at normalisation, 5 mg after 3
months"; budesonide 6 mg "at biochemical response". Such a step is not dated start + 12 weeks.
"""

from datetime import date, timedelta

import pytest

from monitoring.record.summary import clinic_summary, load_patient_page, taper_plans
from regimens import services
from regimens.protocols import BY_CODE, TAPER_STEP_GRACE_DAYS
from regimens.taper import StepState, generate_taper, step_status
from tests.factories import drug
from tests.regimens.conftest import lab

START = date(2025, 1, 6)
PARAMS = {"prednisolone_max_start_mg": 60, "budesonide_induction_mg": 9, "budesonide_after_response_mg": 6}


def test_generated_steps_at_normalisation_say_so():
    steps = generate_taper(BY_CODE["prednisolone_weight_based"], start=START, params=PARAMS, weight_kg=60)
    anchored = [(s.dose_mg_per_day, s.after_normalisation, s.months_after_normalisation) for s in steps[-4:]]
    assert anchored == [(7.5, True, 0), (5.0, True, 3), (2.5, True, 6), (0.0, True, 9)]  # seed 000
    assert not any(s.after_normalisation for s in steps[:-4])  # the induction is dated from the start


# (months after normalisation, ALT normalised on, today, state, due from). Citations: seed 000 steps.
ROWS = [
    pytest.param(0, None, START + timedelta(weeks=12, days=4), StepState.WAITING, None,
                 id="seed 000 7.5 mg: not normalised at start+12w+4d -> waiting, not missed"),
    pytest.param(0, None, START + timedelta(days=3 * 365), StepState.WAITING, None,
                 id="seed 000 7.5 mg: not normalised after 3 years -> still waiting"),
    pytest.param(0, date(2025, 6, 2), date(2025, 6, 2) + timedelta(days=TAPER_STEP_GRACE_DAYS), StepState.DUE,
                 date(2025, 6, 2), id="seed 000 7.5 mg: normalised on D -> due from D, within the grace"),
    pytest.param(0, date(2025, 6, 2), date(2025, 6, 2) + timedelta(days=TAPER_STEP_GRACE_DAYS + 1),
                 StepState.MISSED, date(2025, 6, 2), id="seed 000 7.5 mg: missed only after D + grace"),
    pytest.param(3, date(2025, 6, 2), date(2025, 8, 20), StepState.UPCOMING, date(2025, 9, 2),
                 id="seed 000 5 mg 3 months after normalisation: upcoming before D + 3 months"),
    pytest.param(3, date(2025, 6, 2), date(2025, 9, 2) + timedelta(days=TAPER_STEP_GRACE_DAYS + 1),
                 StepState.MISSED, date(2025, 9, 2), id="seed 000 5 mg: missed after D + 3 months + grace"),
]  # fmt: skip


@pytest.mark.parametrize(("months", "normalised_on", "today", "state", "due"), ROWS)
def test_a_step_at_normalisation_waits_for_it(months, normalised_on, today, state, due):
    status = step_status(
        sequence=5,
        starts_on=START + timedelta(weeks=12),  # the placeholder date the plan was generated with
        dose_mg_per_day=7.5,
        actual_on=None,
        actual_mg_per_day=None,
        today=today,
        after_normalisation=True,
        months_after_normalisation=months,
        normalised_on=normalised_on,
    )
    assert status.state == state
    assert status.needs_attention == (state == StepState.MISSED)
    if due is not None:
        assert status.starts_on == due


# -- on the pages: the engine's normalisation date ---------------------------------------------------

COURSE_START = date(2024, 10, 7)


def _course_with_step_at_normalisation(patient, physician):
    return services.start_course(
        patient=patient,
        drug=drug("prednisone"),
        started_on=COURSE_START,
        dose_mg_per_day=40,
        prescriber=physician,
        protocol="prednisolone_weight_based",
        taper_steps=[
            services.StepInput(COURSE_START, 40),
            # generated placeholder: start + 12 weeks (30 Dec 2024), long past on 3 Mar 2025
            services.StepInput(COURSE_START + timedelta(weeks=12), 7.5, "At normalisation", True),
        ],
    )


# (ALT and IgG normal from, what the regimen page says, on the patient page's missed list). Seed 000:
# "7.5 mg at normalisation"; today is 3 Mar 2025; the grace is TAPER_STEP_GRACE_DAYS (3 days).
PAGE_ROWS = [
    pytest.param(None, "waiting for normalisation", False, id="seed 000: ALT never normal -> waiting, no alert"),
    pytest.param(date(2025, 3, 1), "due", False, id="seed 000: normal on 1 Mar -> due from 1 Mar, within grace"),
    pytest.param(date(2025, 2, 20), "missed (11 days)", True, id="seed 000: normal on 20 Feb -> missed 11 days"),
]


@pytest.mark.parametrize(("normal_from", "shown", "alerted"), PAGE_ROWS)
def test_the_regimen_page_waits_for_normalisation(client, patient, physician, normal_from, shown, alerted):
    client.force_login(physician)
    _course_with_step_at_normalisation(patient, physician)
    lab(patient, "alt", 240, on=COURSE_START, high=40)
    lab(patient, "igg", 24, on=COURSE_START, high=16)
    for day in (date(2024, 11, 4), date(2024, 12, 2), date(2025, 1, 6), date(2025, 2, 3)):
        lab(patient, "alt", 90, on=day, high=40)
        lab(patient, "igg", 19, on=day, high=16)
    if normal_from is not None:
        lab(patient, "alt", 30, on=normal_from, high=40)
        lab(patient, "igg", 12, on=normal_from, high=16)
    regimen = client.get(f"/patients/{patient.pk}/regimen/").content.decode()
    assert shown in regimen
    if normal_from is None:
        assert "missed" not in regimen
    detail = client.get(f"/patients/{patient.pk}/").content.decode()
    assert ("Taper steps missed or late" in detail) == alerted


# The GP summary and the chart's planned line date the step from the normalisation, or leave it undated.
SUMMARY_ROWS = [
    pytest.param(None, [(date(2024, 10, 7), 40)], True,
                 id="seed 000: ALT never normal -> 7.5 mg step undated, the summary says the taper waits"),
    pytest.param(date(2025, 2, 20), [(date(2024, 10, 7), 40), (date(2025, 2, 20), 7.5)], False,
                 id="seed 000: normal on 20 Feb -> 7.5 mg from 20 Feb, not the placeholder 30 Dec"),
]  # fmt: skip


@pytest.mark.parametrize(("normal_from", "steps", "waiting"), SUMMARY_ROWS)
def test_the_summary_and_chart_date_a_step_at_normalisation_from_it(patient, physician, normal_from, steps, waiting):
    course = _course_with_step_at_normalisation(patient, physician)
    lab(patient, "alt", 240, on=COURSE_START, high=40)
    lab(patient, "igg", 24, on=COURSE_START, high=16)
    if normal_from is not None:
        lab(patient, "alt", 30, on=normal_from, high=40)
        lab(patient, "igg", 12, on=normal_from, high=16)
    today = date(2025, 3, 3)
    timeline, params = load_patient_page(patient)
    plan = taper_plans(patient.pk, timeline, params, today)[course.pk]
    assert [(step.on, step.mg_per_day) for step in plan.steps] == steps
    assert plan.waiting_for_normalisation is waiting
    # the GP summary lists the steps ahead: none are dated yet, so it says the taper waits (or, once
    # normalised on 20 Feb, the 7.5 mg step is behind and nothing waits)
    summary = clinic_summary(patient, timeline, params, today)
    assert [(t["steps"], t["waiting_for_normalisation"]) for t in summary["taper"]] == ([([], True)] if waiting else [])
