"""A physician prescribes in a real browser: a weight-based prednisolone taper, and azathioprine without TPMT."""

from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from aih_tracker.demo_users import DEMO_PASSWORD, create_demo_users
from patients.models import WeightMeasurement
from regimens.models import MedicationCourse, PrescribingOverride, TaperPlan
from tests.factories import LabResultFactory, PatientFactory, analyte

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def patient(db):
    create_demo_users()
    today = date.today()
    patient = PatientFactory(mrn="RX-001", family_name="Moreau", given_name="Claire", reproductive_potential="no")
    WeightMeasurement.objects.create(patient=patient, measured_on=today - timedelta(days=3), weight_kg=64)
    drawn = datetime.combine(today - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    for code, value in (("bilirubin", 18.0), ("wbc", 6.1), ("platelets", 240.0)):
        LabResultFactory(
            patient=patient,
            analyte=analyte(code),
            value=value,
            unit_as_reported=analyte(code).canonical_unit,
            collected_at=drawn,
        )
    return patient


def open_start_page(page, live_server, patient):
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.locator("#regimen-panel").get_by_role("link", name="Start a course").click()
    expect(page.get_by_role("heading", name="Start a course")).to_be_visible()


def test_start_prednisolone_from_the_weight_based_protocol_and_edit_a_step(
    log_in, live_server, patient, screenshot_dir
):
    page = log_in("physician", DEMO_PASSWORD)
    open_start_page(page, live_server, patient)
    page.get_by_label("Drug").select_option(label="Prednisolone")
    page.get_by_label("Taper protocol").select_option("prednisolone_weight_based")
    # htmx recomputes the preview as the form changes: 64 kg × 1 mg/kg = 64, capped at 60 mg.
    preview = page.locator("#taper-preview")
    expect(preview.locator("tbody tr").first).to_contain_text("60")
    page.get_by_label("Dose:", exact=True).fill("0.75")
    page.get_by_label("Unit").select_option("mg_kg")
    expect(preview.locator("tbody tr").first).to_contain_text("47.5")  # 0.75 × 64 = 48 → 47.5 (2.5 mg tablets)
    page.screenshot(path=str(screenshot_dir / "prescribe-start-preview.png"), full_page=True)

    page.get_by_role("button", name="Check and continue").click()
    expect(page.get_by_role("heading", name="Taper steps")).to_be_visible()
    expect(page.get_by_text("No finding: the prescription passes")).to_be_visible()
    step2 = page.get_by_label("Step 2 dose")
    expect(step2).to_have_value("37.5")
    step2.fill("40")
    page.get_by_label("Step 3 note").fill("Hold at 30-ish if ALT rises")
    page.screenshot(path=str(screenshot_dir / "prescribe-start-confirm.png"), full_page=True)
    page.get_by_role("button", name="Start the course").click()

    expect(page.get_by_role("heading", name="Regimen")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Prednisolone started")
    plan = TaperPlan.objects.get(course__patient=patient)
    doses = list(plan.steps.values_list("dose_mg_per_day", flat=True))
    assert doses[:5] == [47.5, 40.0, 30.0, 20.0, 10.0]
    assert plan.steps.get(sequence=3).note == "Hold at 30-ish if ALT rises"
    table = page.locator("table.taper-status")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("40 mg/day")
    expect(table.locator("tbody tr").first).to_contain_text("given")
    page.screenshot(path=str(screenshot_dir / "regimen-page.png"), full_page=True)


def test_azathioprine_without_tpmt_is_blocked_then_overridden_with_a_reason(
    log_in, live_server, patient, screenshot_dir
):
    page = log_in("physician", DEMO_PASSWORD)
    open_start_page(page, live_server, patient)
    page.get_by_label("Drug").select_option(label="Azathioprine")
    page.get_by_label("Dose:", exact=True).fill("1.5")
    page.get_by_label("Unit").select_option("mg_kg")
    page.get_by_role("button", name="Check and continue").click()

    expect(page.locator(".blocked")).to_contain_text("Blocked: 1 critical finding")
    finding = page.locator('[data-rule="AZA-01"]')
    expect(finding).to_contain_text("No TPMT result on file")
    expect(page.get_by_text("1.5 mg/kg/day × 64 kg = 96 mg/day", exact=False)).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "prescribe-aza-blocked.png"), full_page=True)

    page.get_by_role("button", name="Start the course").click()  # no reason: still blocked
    expect(page.get_by_role("alert").filter(has_text="give the reason to override")).to_be_visible()
    assert not MedicationCourse.objects.exists()

    reason = "TPMT sent on Monday; low dose agreed, FBC weekly"
    page.get_by_label("Override reason for AZA-01").fill(reason)
    page.get_by_role("button", name="Start the course").click()
    expect(page.get_by_role("status")).to_contain_text("Azathioprine started")
    expect(page.locator(".overrides")).to_contain_text(reason)
    override = PrescribingOverride.objects.get()
    assert (override.rule_id, override.reason, override.overridden_by.username) == ("AZA-01", reason, "physician")

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    panel = page.locator("#regimen-panel")
    expect(panel).to_contain_text("AZA-01 overridden")
    expect(panel).to_contain_text(reason)
    panel.screenshot(path=str(screenshot_dir / "patient-page-regimen-panel.png"))


def test_switch_azathioprine_to_mycophenolate_for_intolerance_links_and_buttons_by_keyboard(
    log_in, live_server, patient, screenshot_dir
):
    from aih_tracker.models import User
    from patients.models import PharmacogeneticTest
    from regimens import services
    from tests.factories import drug

    PharmacogeneticTest.objects.create(patient=patient, gene="tpmt", phenotype="normal", tested_on=date(2024, 1, 5))
    physician = User.objects.get(username="physician")
    aza = services.start_course(
        patient=patient,
        drug=drug("azathioprine"),
        started_on=date.today() - timedelta(days=60),
        dose_mg_per_day=100,
        prescriber=physician,
    )
    page = log_in("physician", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/regimen/")
    page.get_by_role("link", name="Switch").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Switch from Azathioprine")).to_be_visible()

    def type_into(label: str, text: str) -> None:
        page.get_by_label(label, exact=True).focus()
        page.keyboard.type(text)

    page.get_by_label("Reason:", exact=True).select_option("intolerance")
    page.get_by_label("New adverse event:", exact=True).select_option("nausea")
    type_into("Description:", "Vomiting since the dose increase")
    page.get_by_label("Onset:", exact=True).fill((date.today() - timedelta(days=5)).isoformat())
    page.get_by_label("New drug:", exact=True).select_option(label="Mycophenolate mofetil")
    type_into("Dose:", "2000")
    page.get_by_label("Dose:", exact=True).press("Enter")  # Enter submits the form

    expect(page.get_by_role("heading", name="Safety checks")).to_be_visible()
    expect(page.get_by_text("Stop Azathioprine (intolerance: nausea / vomiting (new adverse event))")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "prescribe-switch-confirm.png"), full_page=True)
    page.get_by_role("button", name="Switch").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Switched from Azathioprine to Mycophenolate mofetil")
    aza.refresh_from_db()
    assert aza.stop_reason == "intolerance" and aza.stop_adverse_event.kind == "nausea"
    past = page.locator("#past-heading").locator("..")
    expect(past).to_contain_text("Intolerance (adverse event): Nausea / vomiting")


def test_a_due_taper_step_is_recorded_from_the_regimen_page(log_in, live_server, patient, screenshot_dir):
    from aih_tracker.models import User
    from regimens import services
    from tests.factories import drug

    today = date.today()
    services.start_course(
        patient=patient,
        drug=drug("prednisone"),
        started_on=today - timedelta(days=15),
        dose_mg_per_day=60,
        prescriber=User.objects.get(username="physician"),
        protocol="prednisone_monotherapy",
        taper_steps=[
            services.StepInput(today - timedelta(days=15), 60),
            services.StepInput(today - timedelta(days=8), 40),  # missed: 8 days, nothing recorded
            services.StepInput(today - timedelta(days=1), 30),  # due
            services.StepInput(today + timedelta(days=13), 20),
        ],
    )
    page = log_in("physician", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    expect(page.locator("#regimen-panel")).to_contain_text("Prednisone step 2")
    expect(page.locator("#regimen-panel")).to_contain_text("no dose recorded (8 days)")

    page.goto(f"{live_server.url}/patients/{patient.pk}/regimen/")
    rows = page.locator("table.taper-status tbody tr")
    expect(rows.nth(1)).to_contain_text("missed (8 days)")
    expect(rows.nth(2)).to_contain_text("due")
    rows.nth(2).get_by_role("link", name="Record dose").click()
    expect(page.get_by_label("Taper step carried out:")).to_have_value(
        str(patient.courses.get().taper_plans.get().steps.get(sequence=3).pk)
    )
    page.screenshot(path=str(screenshot_dir / "prescribe-record-step.png"), full_page=True)
    page.get_by_role("button", name="Check and save").click()

    expect(page.get_by_role("status")).to_contain_text("Prednisone: 30 mg/day from")
    expect(rows.nth(2)).to_contain_text("30 mg/day from")
    expect(rows.nth(2)).to_contain_text("given")
    page.screenshot(path=str(screenshot_dir / "regimen-page-taper-status.png"), full_page=True)
