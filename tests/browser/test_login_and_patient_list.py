"""Each demo role logs in through the browser and finds the patient list."""

import pytest
from playwright.sync_api import expect

from aih_tracker.demo_users import DEMO_PASSWORD, DEMO_USERS, create_demo_users
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("demo", DEMO_USERS, ids=lambda d: d.username)
def test_each_role_logs_in_and_sees_the_patient_list(log_in, screenshot_dir, demo):
    create_demo_users()
    PatientFactory(mrn="BR-001", family_name="Okafor", given_name="Ada")
    page = log_in(demo.username, DEMO_PASSWORD)

    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    expect(page.get_by_role("link", name="OKAFOR, Ada")).to_be_visible()
    expect(page.get_by_text(demo.role.label, exact=False)).to_be_visible()
    png = page.screenshot(path=str(screenshot_dir / f"patient-list-{demo.username}.png"), full_page=True)
    assert len(png) > 5000  # a rendered page, not a blank one


def test_a_wrong_password_is_refused_with_a_message(log_in):
    create_demo_users()
    page = log_in("nurse", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page.get_by_label("Username")).to_have_value("nurse")


def test_search_narrows_the_list_without_a_full_reload(log_in):
    create_demo_users()
    PatientFactory(mrn="S-1", family_name="Alvarez", given_name="Marta")
    PatientFactory(mrn="S-2", family_name="Brennan", given_name="Liam")
    page = log_in("staff", DEMO_PASSWORD)
    page.get_by_label("Search by MRN or name").fill("Brenn")
    expect(page.get_by_role("link", name="BRENNAN, Liam")).to_be_visible()
    expect(page.get_by_role("link", name="ALVAREZ, Marta")).to_have_count(0)
    assert "q=Brenn" in page.url  # the search is in the address, so it survives a reload


def test_the_page_is_usable_with_the_keyboard(log_in):
    create_demo_users()
    PatientFactory(mrn="K-1", family_name="Keyes", given_name="Tom")
    page = log_in("physician", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_label("Search by MRN or name").focus()
    page.keyboard.type("Keyes")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="KEYES, Tom").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="KEYES, Tom")).to_be_visible()
