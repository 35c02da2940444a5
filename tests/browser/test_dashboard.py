"""The clinic dashboard and the nav badge in a real browser."""

import pytest
from playwright.sync_api import expect

from aih_tracker.demo_users import DEMO_PASSWORD, create_demo_users
from tests.browser.test_alert_queue import make_alert, no_full_reload

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_nav_badge_follows_an_acknowledgement_without_a_reload(log_in, live_server):
    create_demo_users()
    first = make_alert("Okafor", "RESP-01", 4)
    make_alert("Brennan", "MON-01", 3)
    page = log_in("nurse", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/alerts/")
    badge = page.locator("#nav-badge")
    expect(badge).to_contain_text("2")
    kept = no_full_reload(page)
    page.locator(f"#alert-{first.pk}").get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#alert-{first.pk} .notice")).to_contain_text("Acknowledged")
    expect(badge).to_contain_text("1")
    assert kept()


def test_a_dashboard_tile_opens_the_list_it_counted(log_in, live_server, screenshot_dir):
    create_demo_users()
    make_alert("Okafor", "LT-03", 4)
    make_alert("Brennan", "TPM-01", 2)
    page = log_in("physician", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", name="Cohort quality measures")).to_be_visible()
    expect(page.locator("#measure-cbr")).to_contain_text("Complete biochemical response")
    page.screenshot(path=screenshot_dir / "dashboard.png", full_page=True)
    page.locator("#tile-low_metabolites").click()
    expect(page.get_by_role("heading", name="Alert queue")).to_be_visible()
    expect(page.locator(".alert-item")).to_have_count(1)
    expect(page.locator(".alert-item")).to_contain_text("BRENNAN")
