"""Clinic staff register a patient and log a visit in a real browser (htmx rows, conversion, warnings, keyboard)."""

from datetime import date

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from aih_tracker.demo_users import DEMO_PASSWORD, create_demo_users
from monitoring.models import LabResult
from patients.models import Autoantibody, Patient, Visit
from regimens.models import DoseChange
from tests.factories import CourseFactory, DoseChangeFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def tab_to(page, locator, limit: int = 150) -> None:
    """Press Tab until `locator` has the focus: it is reachable with the keyboard alone."""
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{locator} never received the focus")


def test_register_a_patient_from_the_patient_list(log_in, live_server, screenshot_dir):
    create_demo_users()
    page = log_in("staff", DEMO_PASSWORD)
    errors = watch_errors(page)
    page.get_by_role("link", name="Register patient").click()
    expect(page.get_by_role("heading", name="Register a patient")).to_be_visible()
    page.get_by_label("MRN").fill("BR-2001")
    page.get_by_label("Family name").fill("Okafor")
    page.get_by_label("Given name").fill("Ada")
    page.get_by_label("Date of birth").fill("1984-03-01")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("AIH type").select_option("type1")
    page.get_by_label("Reproductive potential").select_option("yes")
    antibodies = page.get_by_role("group", name="Autoantibodies")
    antibodies.get_by_label("Antibody (row 1)").select_option("sma")
    antibodies.get_by_label("Result (row 1)").select_option("True")
    antibodies.get_by_label("Titre 1: (row 1)").fill("160")
    antibodies.get_by_label("Tested on (row 1)").fill("2024-10-20")
    page.evaluate("window.notReloaded = true")
    antibodies.get_by_role("button", name="Add another row").click()  # htmx
    antibodies.get_by_label("Antibody (row 2)").select_option("ana")
    antibodies.get_by_label("Result (row 2)").select_option("False")
    antibodies.get_by_label("Tested on (row 2)").fill("2024-10-20")
    assert page.evaluate("window.notReloaded === true")
    tpmt = page.get_by_role("group", name="TPMT / NUDT15")
    tpmt.get_by_label("Gene (row 1)").select_option("tpmt")
    tpmt.get_by_label("Phenotype (row 1)").select_option("normal")
    tpmt.get_by_label("Tested on (row 1)").fill("2024-10-21")
    page.screenshot(path=str(screenshot_dir / "register-patient.png"), full_page=True)
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="OKAFOR, Ada")).to_be_visible()
    expect(page.get_by_text("OKAFOR, Ada (BR-2001) registered.")).to_be_visible()
    patient = Patient.objects.get(mrn="BR-2001")
    assert sorted(Autoantibody.objects.filter(patient=patient).values_list("antibody", "titre")) == [
        ("ana", None),
        ("sma", 160),
    ]
    assert errors == []


def test_a_duplicate_mrn_is_explained_and_what_was_typed_is_kept(log_in, live_server):
    create_demo_users()
    PatientFactory(mrn="BR-2001", family_name="Brennan", given_name="Liam")
    page = log_in("nurse", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/patients/new/")
    page.get_by_label("MRN").fill("br-2001")
    page.get_by_label("Family name").fill("Okafor")
    page.get_by_label("Given name").fill("Ada")
    page.get_by_label("Date of birth").fill("1984-03-01")
    page.get_by_label("Sex").select_option("female")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("alert")).to_contain_text("Not saved")
    expect(page.locator("#id_mrn_error")).to_contain_text("already registered in this clinic to BRENNAN, Liam")
    expect(page.get_by_label("MRN")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Family name")).to_have_value("Okafor")
    page.locator("#id_mrn_error").get_by_role("link").click()
    expect(page.get_by_role("heading", name="BRENNAN, Liam")).to_be_visible()


@pytest.fixture
def on_prednisolone():
    create_demo_users()
    patient = PatientFactory(mrn="V-1", family_name="Keyes", given_name="Tom", sex="male")
    course = CourseFactory(patient=patient, started_on=date(2025, 1, 6))
    DoseChangeFactory(course=course, effective_on=date(2025, 1, 6), dose_mg_per_day=20)
    return patient


def test_log_a_visit_with_a_lab_panel_and_a_unit_conversion(on_prednisolone, log_in, live_server, screenshot_dir):
    patient = on_prednisolone
    page = log_in("staff", DEMO_PASSWORD)
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name="Log a visit").first.click()
    expect(page.get_by_role("heading", name="Log a visit")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Visit date").fill("2025-01-02")  # before the course started: htmx re-lists medicines
    expect(page.get_by_text("No medicine is running on the visit date")).to_be_visible()
    page.get_by_label("Visit date").fill(timezone.localdate().isoformat())
    expect(page.get_by_role("group", name="Prednisolone taken")).to_be_visible()
    page.get_by_label("Weight (kg)").fill("81.4")
    page.get_by_label("ALT value").fill("85")
    page.get_by_label("Total bilirubin unit").select_option("mg/dL")  # htmx: the range follows the unit
    expect(page.get_by_label("Total bilirubin upper reference limit")).to_have_value("1.228")
    page.get_by_label("Total bilirubin value").fill("2")
    page.get_by_label("Total bilirubin value").blur()
    expect(page.locator("#lab-row-labs-4 .converted")).to_have_text("34.2 µmol/L")
    page.get_by_label("IgG value").fill("1850")
    page.get_by_label("IgG unit").select_option("mg/dL")
    expect(page.locator("#lab-row-labs-7 .converted")).to_have_text("18.5 g/L")
    page.get_by_label("Another test").select_option("potassium")
    page.get_by_role("button", name="Add test").click()  # htmx: a row for any catalogue analyte
    page.get_by_label("Potassium value").fill("4.1")
    page.get_by_role("group", name="Prednisolone taken").get_by_label("As prescribed").check()
    page.get_by_label("Adherence checked by, Prednisolone").select_option("self_report")
    assert page.evaluate("window.notReloaded === true")
    page.screenshot(path=str(screenshot_dir / "visit-log.png"), full_page=True)
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_text("saved with 4 results")).to_be_visible()
    expect(page.get_by_role("heading", name="Visits")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "patient-page-after-visit.png"), full_page=True)
    visit = Visit.objects.get(patient=patient)
    values = dict(LabResult.objects.filter(visit=visit).values_list("analyte__code", "value"))
    assert values == {"alt": 85, "bilirubin": pytest.approx(34.2), "igg": pytest.approx(18.5), "potassium": 4.1}
    assert visit.weights.get().weight_kg == 81.4
    assert errors == []


def test_a_validation_error_keeps_everything_typed(on_prednisolone, log_in, live_server, screenshot_dir):
    patient = on_prednisolone
    page = log_in("physician", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/visits/new/")
    page.get_by_label("Weight (kg)").fill("81.4")
    page.get_by_label("Note").fill("Feels well")
    page.get_by_label("ALT value").fill("-5")
    page.get_by_label("AST value").fill("44")
    page.get_by_label("Total bilirubin unit").select_option("mg/dL")
    page.get_by_label("Total bilirubin value").fill("85")  # a likely unit slip: warned, not refused
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("alert")).to_contain_text("not saved")
    expect(page.locator("#id_labs-0-value_error")).to_have_text("ALT cannot be negative.")
    expect(page.get_by_label("ALT value")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#lab-row-labs-4")).to_contain_text("Was it 85 µmol/L")
    page.locator("#lab-row-labs-4").screenshot(path=str(screenshot_dir / "visit-log-unit-slip.png"))
    page.screenshot(path=str(screenshot_dir / "visit-log-errors.png"), full_page=True)
    for label, value in [("Weight (kg)", "81.4"), ("Note", "Feels well"), ("ALT value", "-5"), ("AST value", "44"),
                         ("Total bilirubin value", "85"), ("Total bilirubin unit", "mg/dL")]:  # fmt: skip
        expect(page.get_by_label(label)).to_have_value(value)
    assert not Visit.objects.exists() and not LabResult.objects.exists()


def test_a_visit_can_be_logged_with_the_keyboard_alone(on_prednisolone, log_in, live_server):
    patient = on_prednisolone
    page = log_in("nurse", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    link = page.get_by_role("link", name="Log a visit").first
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Log a visit")).to_be_visible()
    tab_to(page, page.get_by_label("Weight (kg)"))
    page.keyboard.type("80")
    tab_to(page, page.get_by_label("ALT value"))
    page.keyboard.type("120")
    tab_to(page, page.get_by_label("Total bilirubin unit"))
    page.keyboard.press("ArrowDown")  # µmol/L -> mg/dL
    expect(page.get_by_label("Total bilirubin upper reference limit")).to_have_value("1.228")
    tab_to(page, page.get_by_label("Total bilirubin value"))
    page.keyboard.type("85")
    page.keyboard.press("Tab")  # leaving the field re-checks the row: a likely unit slip
    confirm = page.get_by_label("Save Total bilirubin anyway")
    expect(confirm).to_be_visible()
    tab_to(page, confirm)
    page.keyboard.press("Space")
    tab_to(page, page.get_by_label("As prescribed"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Save visit"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("saved with 2 results")).to_be_visible()
    assert LabResult.objects.get(analyte__code="bilirubin").value == pytest.approx(1453.5)
    assert DoseChange.objects.count() == 1
    assert Visit.objects.get().visit_date == timezone.localdate()


def test_a_patient_can_be_registered_with_the_keyboard_alone(log_in, live_server):
    create_demo_users()
    page = log_in("staff", DEMO_PASSWORD)
    tab_to(page, page.get_by_role("link", name="Register patient"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Register a patient")).to_be_visible()
    for label, keys in [("MRN", "KB-1"), ("Family name", "Keyes"), ("Given name", "Tom")]:
        tab_to(page, page.get_by_label(label))
        page.keyboard.type(keys)
    tab_to(page, page.get_by_label("Date of birth"))
    page.keyboard.type("03011984")  # month, day, year segments of the date field
    tab_to(page, page.get_by_label("Sex"))
    page.keyboard.press("ArrowDown")  # Female
    tab_to(page, page.get_by_role("button", name="Register patient"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="KEYES, Tom")).to_be_visible()
    patient = Patient.objects.get(mrn="KB-1")
    assert (patient.date_of_birth, patient.sex) == (date(1984, 3, 1), "female")
