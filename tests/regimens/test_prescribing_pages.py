"""The physician's regimen pages, through the test client: start, change dose, stop, switch, taper, override."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from patients.models import PregnancyEpisode
from regimens import services
from regimens.models import AdverseEvent, DoseChange, MedicationCourse, PrescribingOverride, TaperPlan, TaperStep
from tests.factories import drug

pytestmark = pytest.mark.django_db


@pytest.fixture
def physician_client(client, physician):
    client.force_login(physician)
    return client


def start_url(patient):
    return f"/patients/{patient.pk}/regimen/start/"


def form(drug_code: str, **extra) -> dict:
    data = {
        "drug": drug(drug_code).pk,
        "line_of_therapy": "1",
        "started_on": "2025-03-03",
        "dose": "",
        "dose_unit": "mg_day",
        "schedule": "",
        "protocol": "",
        "normalisation_on": "",
    }
    return data | {k: str(v) for k, v in extra.items()}


def confirm(data: dict, **extra) -> dict:
    return data | {"confirm": "1"} | extra


# -- start a course ---------------------------------------------------------------------------------


def test_a_dose_in_mg_per_kg_is_converted_with_the_latest_weight(physician_client, patient, tpmt_normal):
    data = form("azathioprine", dose="1.5", dose_unit="mg_kg")
    page = physician_client.post(start_url(patient), data).content.decode()
    assert "1.5 mg/kg/day × 72 kg = 108 mg/day" in page  # the confirm step shows the conversion
    response = physician_client.post(start_url(patient), confirm(data))
    assert response.status_code == 302
    course = MedicationCourse.objects.get(patient=patient)
    assert course.dose_changes.get().dose_mg_per_day == 108


def test_mg_per_kg_without_a_weight_is_refused_next_to_the_dose(physician_client, patient, tpmt_normal):
    patient.weightmeasurement_set.all().delete()
    page = physician_client.post(start_url(patient), form("azathioprine", dose="1.5", dose_unit="mg_kg"))
    assert "No weight on file" in page.content.decode()
    assert not MedicationCourse.objects.exists()


def test_nothing_is_saved_before_the_confirm_step(physician_client, patient, tpmt_normal):
    page = physician_client.post(start_url(patient), form("azathioprine", dose="100")).content.decode()
    assert "Safety checks" in page and "No finding" in page
    assert not MedicationCourse.objects.exists()


def test_starting_prednisolone_from_the_weight_based_protocol_saves_the_edited_steps(
    physician_client, patient, physician
):
    data = form("prednisolone", protocol="prednisolone_weight_based", normalisation_on="2025-05-26")
    page = physician_client.post(start_url(patient), data).content.decode()
    # 72 kg × 1 mg/kg = 72, capped at 60 (§0A); weekly to 10 mg by week 4
    assert 'name="steps-0-dose_mg_per_day" value="60.0"' in page
    assert 'name="steps-4-dose_mg_per_day" value="10.0"' in page
    steps = {
        "steps-TOTAL_FORMS": "3",
        "steps-INITIAL_FORMS": "2",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-starts_on": "2025-03-03",
        "steps-0-dose_mg_per_day": "50",  # edited: the physician starts lower
        "steps-0-note": "Starting dose",
        "steps-1-starts_on": "2025-03-17",
        "steps-1-dose_mg_per_day": "30",
        "steps-1-note": "",
        "steps-2-starts_on": "",
        "steps-2-dose_mg_per_day": "",
        "steps-2-note": "",
    }
    response = physician_client.post(start_url(patient), confirm(data, **steps))
    assert response.status_code == 302, response.content.decode()
    course = MedicationCourse.objects.get(patient=patient)
    plan = TaperPlan.objects.get(course=course)
    assert plan.protocol == "prednisolone_weight_based" and plan.created_by == physician
    assert [(s.starts_on, s.dose_mg_per_day) for s in plan.steps.all()] == [
        (date(2025, 3, 3), 50.0),
        (date(2025, 3, 17), 30.0),
    ]
    first = course.dose_changes.get()
    assert first.dose_mg_per_day == 50 and first.taper_step == plan.steps.get(sequence=1)  # planned <-> actual


def test_a_taper_step_before_the_course_start_is_refused(physician_client, patient):
    data = form("prednisone", protocol="prednisone_monotherapy")
    steps = {
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "2",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-starts_on": "2025-03-03",
        "steps-0-dose_mg_per_day": "60",
        "steps-1-starts_on": "2025-03-01",
        "steps-1-dose_mg_per_day": "40",
    }
    page = physician_client.post(start_url(patient), confirm(data, **steps)).content.decode()
    assert "Step dates must increase" in page
    assert not MedicationCourse.objects.exists() and not TaperStep.objects.exists()


def test_a_drug_already_running_is_not_started_twice(physician_client, patient, tpmt_normal, physician):
    services.start_course(
        patient=patient,
        drug=drug("azathioprine"),
        started_on=date(2025, 1, 20),
        dose_mg_per_day=100,
        prescriber=physician,
    )
    page = physician_client.post(start_url(patient), confirm(form("azathioprine", dose="50"))).content.decode()
    assert "Azathioprine is already running (since 20 Jan 2025): change its dose, or stop it first." in page
    assert MedicationCourse.objects.count() == 1


def test_a_protocol_for_another_drug_is_refused(physician_client, patient):
    page = physician_client.post(start_url(patient), form("budesonide", protocol="prednisone_monotherapy"))
    assert "is not for Budesonide" in page.content.decode()


def test_the_htmx_preview_shows_the_generated_steps(physician_client, patient):
    data = form("prednisolone", protocol="prednisolone_weight_based", dose="0.5", dose_unit="mg_kg") | {"preview": "1"}
    response = physician_client.post(start_url(patient), data, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="taper-preview"')
    assert "<td>35</td>" in page  # 0.5 mg/kg × 72 kg = 36 → 35 mg (2.5 mg tablets)
    assert not MedicationCourse.objects.exists()


# -- safety checks and overrides --------------------------------------------------------------------


def test_azathioprine_without_tpmt_is_blocked_until_an_override_reason_is_given(physician_client, patient, physician):
    data = form("azathioprine", dose="100")
    page = physician_client.post(start_url(patient), data).content.decode()
    assert "Blocked:" in page and 'data-rule="AZA-01"' in page and "No TPMT result on file" in page
    # Confirming without a reason is refused; nothing saved.
    page = physician_client.post(start_url(patient), confirm(data, override_reason="  ")).content.decode()
    assert 'name="overridden_rules" value="AZA-01"' in page
    assert "give the reason to override" in page
    assert not MedicationCourse.objects.exists() and not PrescribingOverride.objects.exists()
    # With a reason: saved, and the override is stored, audited and shown on the patient page.
    reason = "TPMT sent; low starting dose agreed with the patient"
    response = physician_client.post(
        start_url(patient), confirm(data, override_reason=reason, overridden_rules="AZA-01")
    )
    assert response.status_code == 302
    override = PrescribingOverride.objects.get()
    assert (override.rule_id, override.severity, override.reason, override.overridden_by) == (
        "AZA-01",
        "critical",
        reason,
        physician,
    )
    assert override.course == MedicationCourse.objects.get() and override.patient == patient
    assert override.evidence["tpmt_result"] == "none on file"
    assert override.history.count() == 1 and override.history.get().history_user == physician
    detail = physician_client.get(f"/patients/{patient.pk}/").content.decode()
    assert "AZA-01</strong> overridden" in detail and reason in detail


def test_a_reason_covers_only_the_critical_findings_the_physician_was_shown(physician_client, patient, physician):
    # The confirm page showed AZA-01; since then allopurinol was started elsewhere (AZA-08, critical).
    services.start_course(
        patient=patient,
        drug=drug("allopurinol"),
        started_on=date(2025, 3, 1),
        dose_mg_per_day=300,
        prescriber=physician,
    )
    data = confirm(form("azathioprine", dose="100"), override_reason="TPMT pending", overridden_rules="AZA-01")
    page = physician_client.post(start_url(patient), data).content.decode()
    assert "give the reason to override AZA-08" in page
    assert not MedicationCourse.objects.filter(drug__code="azathioprine").exists()
    with pytest.raises(services.PrescribingBlocked) as blocked:
        services.start_course(
            patient=patient,
            drug=drug("azathioprine"),
            started_on=date(2025, 3, 3),
            dose_mg_per_day=100,
            prescriber=physician,
            override_reason="TPMT pending",
            overridden_rules=["AZA-01"],
        )
    assert [f.rule_id for f in blocked.value.findings] == ["AZA-08"]
    page = physician_client.post(start_url(patient), data | {"overridden_rules": "AZA-01,AZA-08"})
    assert page.status_code == 302
    assert sorted(PrescribingOverride.objects.values_list("rule_id", flat=True)) == ["AZA-01", "AZA-08"]


def test_back_to_edit_keeps_what_was_typed(physician_client, patient, tpmt_normal):
    data = form("azathioprine", dose="1.5", dose_unit="mg_kg", schedule="50 mg morning, 58 mg evening") | {"edit": "1"}
    page = physician_client.post(start_url(patient), data).content.decode()
    assert 'name="dose" value="1.5"' in page and "50 mg morning, 58 mg evening" in page
    assert "Check and continue" in page and not MedicationCourse.objects.exists()


def test_warnings_do_not_block(physician_client, patient, tpmt_normal):
    data = form("azathioprine", dose="150")  # 2.08 mg/kg at 72 kg (AZA-07, §3.7)
    page = physician_client.post(start_url(patient), data).content.decode()
    assert 'data-rule="AZA-07"' in page and "Blocked:" not in page and "Override reason" not in page
    assert physician_client.post(start_url(patient), confirm(data)).status_code == 302
    assert not PrescribingOverride.objects.exists()


def test_the_service_refuses_a_critical_finding_without_a_reason(patient, physician):
    with pytest.raises(services.PrescribingBlocked) as blocked:
        services.start_course(
            patient=patient,
            drug=drug("azathioprine"),
            started_on=date(2025, 3, 3),
            dose_mg_per_day=100,
            prescriber=physician,
        )
    assert [f.rule_id for f in blocked.value.findings] == ["AZA-01"]
    assert not MedicationCourse.objects.exists()


def test_budesonide_in_cirrhosis_is_blocked(physician_client, patient):
    patient.cirrhosis_diagnosed_on, patient.cirrhosis_basis = date(2024, 5, 1), "elastography"
    patient.save()
    page = physician_client.post(start_url(patient), form("budesonide", dose="9")).content.decode()
    assert 'data-rule="CI-01"' in page and "Blocked:" in page


# -- change dose --------------------------------------------------------------------------------------


def test_a_dose_change_is_checked_and_recorded(physician_client, patient, tpmt_normal, physician):
    course = services.start_course(
        patient=patient,
        drug=drug("azathioprine"),
        started_on=date(2025, 1, 20),
        dose_mg_per_day=100,
        prescriber=physician,
    )
    url = f"/patients/{patient.pk}/regimen/{course.pk}/dose/"
    data = {"effective_on": "2025-03-03", "dose": "175", "dose_unit": "mg_day", "taper_step": "", "schedule": ""}
    page = physician_client.post(url, data).content.decode()
    assert 'data-rule="AZA-07"' in page  # 175 mg at 72 kg = 2.43 mg/kg: a warning on the confirm step
    assert physician_client.post(url, data | {"confirm": "1"}).status_code == 302
    assert list(course.dose_changes.values_list("dose_mg_per_day", flat=True)) == [100, 175]


def test_a_dose_change_without_findings_saves_at_once(physician_client, patient, tpmt_normal, physician):
    course = services.start_course(
        patient=patient,
        drug=drug("azathioprine"),
        started_on=date(2025, 1, 20),
        dose_mg_per_day=100,
        prescriber=physician,
    )
    url = f"/patients/{patient.pk}/regimen/{course.pk}/dose/"
    data = {"effective_on": "2025-03-03", "dose": "1.5", "dose_unit": "mg_kg", "taper_step": ""}
    assert physician_client.post(url, data).status_code == 302
    assert course.dose_changes.last().dose_mg_per_day == 108


def test_recording_a_step_links_actual_to_planned_and_a_missed_step_shows_on_the_patient_page(
    physician_client, patient, physician
):
    course = services.start_course(
        patient=patient,
        drug=drug("prednisone"),
        started_on=date(2025, 2, 10),
        dose_mg_per_day=60,
        prescriber=physician,
        protocol="prednisone_monotherapy",
        taper_steps=[
            services.StepInput(date(2025, 2, 10), 60),
            services.StepInput(date(2025, 2, 17), 40),
            services.StepInput(date(2025, 2, 24), 30),
            services.StepInput(date(2025, 3, 10), 20),
        ],
    )
    # Step 2 was given 3 days late by the dose alone (auto-linked); step 3 (24 Feb) is 7 days overdue today.
    services.change_dose(course=course, effective_on=date(2025, 2, 20), dose_mg_per_day=40, user=physician)
    step2 = TaperStep.objects.get(plan__course=course, sequence=2)
    assert DoseChange.objects.get(course=course, effective_on=date(2025, 2, 20)).taper_step == step2
    detail = physician_client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Taper steps missed or late" in detail
    assert "Prednisone step 3" in detail and "no dose recorded (7 days)" in detail
    assert "step 2" not in detail  # within the grace
    regimen = physician_client.get(f"/patients/{patient.pk}/regimen/").content.decode()
    assert "missed (7 days)" in regimen
    step3 = TaperStep.objects.get(plan__course=course, sequence=3)
    # "Record dose" pre-selects the step; a blank dose gives the step's dose.
    url = f"/patients/{patient.pk}/regimen/{course.pk}/dose/"
    assert f'value="{step3.pk}" selected' in physician_client.get(f"{url}?step={step3.pk}").content.decode()
    response = physician_client.post(url, {"effective_on": "2025-03-03", "taper_step": step3.pk, "dose_unit": "mg_day"})
    assert response.status_code == 302
    assert step3.actual_doses.get().dose_mg_per_day == 30
    regimen = physician_client.get(f"/patients/{patient.pk}/regimen/").content.decode()
    assert "late by 7 days" in regimen


# -- stop ---------------------------------------------------------------------------------------------


@pytest.fixture
def azathioprine(patient, tpmt_normal, physician):
    return services.start_course(
        patient=patient,
        drug=drug("azathioprine"),
        started_on=date(2025, 1, 20),
        dose_mg_per_day=100,
        prescriber=physician,
    )


def test_stopping_requires_a_reason(physician_client, patient, azathioprine):
    url = f"/patients/{patient.pk}/regimen/{azathioprine.pk}/stop/"
    page = physician_client.post(url, {"stopped_on": "2025-03-03", "stop_reason": ""}).content.decode()
    assert "This field is required" in page
    azathioprine.refresh_from_db()
    assert azathioprine.stopped_on is None


def test_the_service_refuses_a_stop_without_a_reason(azathioprine, physician):
    with pytest.raises(ValidationError):
        services.stop_course(course=azathioprine, stopped_on=date(2025, 3, 3), reason="", user=physician)
    azathioprine.refresh_from_db()
    assert azathioprine.stopped_on is None


def test_stopping_for_intolerance_names_the_adverse_event(physician_client, patient, azathioprine):
    url = f"/patients/{patient.pk}/regimen/{azathioprine.pk}/stop/"
    data = {"stopped_on": "2025-03-03", "stop_reason": "intolerance"}
    page = physician_client.post(url, data).content.decode()
    assert "Intolerance: choose the adverse event, or record a new one." in page
    data |= {"new_event_kind": "pancreatitis", "new_event_onset": "2025-02-28", "new_event_description": "Lipase 900"}
    assert physician_client.post(url, data).status_code == 302
    azathioprine.refresh_from_db()
    assert azathioprine.stop_reason == "intolerance"
    assert azathioprine.stop_adverse_event == AdverseEvent.objects.get(kind="pancreatitis", course=azathioprine)


def test_a_refused_stop_records_no_adverse_event(azathioprine, physician):
    with pytest.raises(ValidationError):
        services.stop_course(
            course=azathioprine,
            stopped_on=date(2025, 1, 1),  # before the course started
            reason="intolerance",
            user=physician,
            adverse_event=services.NewAdverseEvent("rash", date(2024, 12, 30)),
        )
    assert not AdverseEvent.objects.exists()
    azathioprine.refresh_from_db()
    assert azathioprine.stopped_on is None


def test_stopping_ends_the_active_taper_plan(patient, physician):
    course = services.start_course(
        patient=patient,
        drug=drug("prednisone"),
        started_on=date(2025, 2, 10),
        dose_mg_per_day=30,
        prescriber=physician,
        protocol="prednisone_azathioprine",
        taper_steps=[services.StepInput(date(2025, 2, 10), 30), services.StepInput(date(2025, 2, 17), 20)],
    )
    services.stop_course(course=course, stopped_on=date(2025, 3, 3), reason="other", user=physician, note="Error")
    assert not TaperPlan.objects.filter(is_active=True).exists()


# -- switch -------------------------------------------------------------------------------------------


def switch_data(**extra):
    return {
        "stopped_on": "2025-03-03",
        "stop_reason": "intolerance",
        "new_event_kind": "nausea",
        "new_event_onset": "2025-02-25",
        "drug": drug("mycophenolate_mofetil").pk,
        "line_of_therapy": "2",
        "dose": "2000",
        "dose_unit": "mg_day",
    } | extra


def test_switching_azathioprine_to_mycophenolate_for_intolerance(physician_client, patient, azathioprine):
    url = f"/patients/{patient.pk}/regimen/{azathioprine.pk}/switch/"
    page = physician_client.post(url, switch_data()).content.decode()
    assert "Safety checks" in page
    assert physician_client.post(url, switch_data(confirm="1")).status_code == 302
    azathioprine.refresh_from_db()
    new = MedicationCourse.objects.get(drug__code="mycophenolate_mofetil")
    assert (azathioprine.stopped_on, azathioprine.stop_reason) == (date(2025, 3, 3), "intolerance")
    assert azathioprine.stop_adverse_event.kind == "nausea"
    assert (new.started_on, new.line_of_therapy, new.dose_changes.get().dose_mg_per_day) == (date(2025, 3, 3), 2, 2000)


def test_a_blocked_switch_leaves_no_rows(physician_client, patient, azathioprine):
    PregnancyEpisode.objects.create(patient=patient, kind="pregnant", started_on=date(2025, 2, 1))
    url = f"/patients/{patient.pk}/regimen/{azathioprine.pk}/switch/"
    page = physician_client.post(url, switch_data(confirm="1")).content.decode()
    assert 'data-rule="CI-04"' in page and "give the reason to override CI-04" in page
    azathioprine.refresh_from_db()
    assert azathioprine.stopped_on is None
    assert MedicationCourse.objects.count() == 1
    assert not AdverseEvent.objects.exists()  # the new adverse event was part of the switch


def test_a_switch_that_fails_half_way_leaves_no_rows(azathioprine, physician, monkeypatch):
    def broken_create(**kwargs):
        raise IntegrityError("simulated failure after the stop")

    monkeypatch.setattr(services, "_create_course", broken_create)
    with pytest.raises(IntegrityError):
        services.switch_course(
            course=azathioprine,
            switched_on=date(2025, 3, 3),
            stop_reason="intolerance",
            adverse_event=services.NewAdverseEvent("nausea", date(2025, 2, 25), "Vomiting"),
            drug=drug("mycophenolate_mofetil"),
            dose_mg_per_day=2000,
            prescriber=physician,
        )
    azathioprine.refresh_from_db()
    assert azathioprine.stopped_on is None and azathioprine.stop_reason == ""
    assert MedicationCourse.objects.count() == 1
    assert not AdverseEvent.objects.exists()  # recorded inside the switch, rolled back with it


# -- taper plan for a running course ------------------------------------------------------------------


def test_a_new_taper_plan_replaces_the_active_one(physician_client, patient, physician):
    course = services.start_course(
        patient=patient, drug=drug("budesonide"), started_on=date(2025, 1, 6), dose_mg_per_day=9, prescriber=physician
    )
    url = f"/patients/{patient.pk}/regimen/{course.pk}/taper/"
    data = {"protocol": "budesonide", "starts_on": "2025-03-03", "normalisation_on": "2025-04-07"}
    page = physician_client.post(url, data).content.decode()
    assert 'value="2025-04-07"' in page and 'value="6.0"' in page
    steps = {
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "2",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-starts_on": "2025-03-03",
        "steps-0-dose_mg_per_day": "9",
        "steps-1-starts_on": "2025-04-14",  # edited date
        "steps-1-dose_mg_per_day": "6",
    }
    assert physician_client.post(url, data | steps | {"confirm": "1"}).status_code == 302
    plan = TaperPlan.objects.get(course=course, is_active=True)
    assert [s.starts_on for s in plan.steps.all()] == [date(2025, 3, 3), date(2025, 4, 14)]


def test_the_check_runs_with_the_clinics_parameters(physician_client, patient, tpmt_normal, physician):
    # The clinic lowered the AZA ceiling to 1.5 mg/kg (monitoring/parameters.py, admin-editable):
    # the prescribing check, being the engine's AZA-07, follows it.
    from monitoring.models import ClinicalParameter

    data = form("azathioprine", dose="1.75", dose_unit="mg_kg")  # 126 mg at 72 kg
    assert 'data-rule="AZA-07"' not in physician_client.post(start_url(patient), data).content.decode()
    ClinicalParameter.objects.create(
        clinic=patient.clinic, key="aza_mg_per_kg_range", value=[1.0, 1.5], reason="Local policy", updated_by=physician
    )
    page = physician_client.post(start_url(patient), data).content.decode()
    assert 'data-rule="AZA-07"' in page and "1.75 mg/kg/day (above 1.5)" in page
