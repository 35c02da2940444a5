"""Nurses work the alert queue and the recall list in a real browser (htmx, no full reloads)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from aih_tracker.demo_users import DEMO_PASSWORD, create_demo_users
from monitoring.alerts.services import acknowledge_alert
from monitoring.models import Alert, AlertAction, AlertActionKind, AlertStatus
from tests.factories import CourseFactory, DoseChangeFactory, PatientFactory, drug

pytestmark = pytest.mark.django_db(transaction=True)

ALT = {
    "test": "ALT",
    "value": 212.0,
    "unit": "U/L",
    "uln": 40.0,
    "x_uln": 5.3,
    "date": "2025-05-01",
    "range_source": "lab",
}
IGG = {"test": "IgG", "value": 24.1, "unit": "g/L", "uln": 16.0, "x_uln": 1.51, "date": "2025-05-01"}


def make_alert(family_name: str, rule_id: str = "RESP-01", severity: int = 4) -> Alert:
    patient = PatientFactory(family_name=family_name, given_name="Ada")
    alert = Alert.objects.create(
        patient=patient, rule_id=rule_id, severity=severity, message=f"{rule_id}: ALT still 5.3 × ULN at week 4",
        evidence={"baseline": ALT, "week_4": ALT, "results": [ALT, IGG], "fall": 0.12, "treatment_start": "2025-04-01"},
        suggested_action="Reconsider the diagnosis and adherence; consider a second-line agent.", source="S001 §4.2",
    )  # fmt: skip
    AlertAction.objects.create(alert=alert, kind=AlertActionKind.OPENED)
    return alert


def item(page, alert):
    return page.locator(f"#alert-{alert.pk}")


def open_queue(log_in, live_server):
    page = log_in("nurse", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/alerts/")
    return page


def no_full_reload(page):
    """Mark the document: a full reload would lose the mark."""
    page.evaluate("window.__kept = true")
    return lambda: page.evaluate("window.__kept === true")


def test_acknowledge_without_a_reload_and_screenshot(log_in, live_server, screenshot_dir):
    create_demo_users()
    alert = make_alert("Okafor")
    make_alert("Brennan", "MON-01", 3)
    make_alert("Keyes", "STER-01", 2)
    page = open_queue(log_in, live_server)
    expect(page.get_by_role("heading", name="Alert queue")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "alert-queue.png"), full_page=True)
    kept = no_full_reload(page)
    item(page, alert).get_by_role("button", name="Acknowledge").click()
    expect(item(page, alert).get_by_role("status")).to_have_text("Acknowledged.")
    expect(item(page, alert)).to_contain_text("Acknowledged")
    assert kept()
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.ACKNOWLEDGED


def test_snooze_with_a_reason(log_in, live_server):
    create_demo_users()
    alert = make_alert("Okafor")
    page = open_queue(log_in, live_server)
    box = item(page, alert)
    box.get_by_text("Snooze…").click()
    until = timezone.localdate() + timedelta(days=7)
    box.get_by_label("Until").fill(until.isoformat())
    box.get_by_label("Reason").fill("Repeat bloods already booked for next week")
    box.get_by_role("button", name="Snooze", exact=True).click()
    expect(box.get_by_role("status")).to_contain_text("Snoozed until")
    expect(box).to_contain_text("Repeat bloods already booked for next week")
    stored = Alert.objects.get(pk=alert.pk)
    assert (stored.status, stored.snoozed_until) == (AlertStatus.SNOOZED, until)


def test_resolve_with_a_note_and_see_it_in_the_history(log_in, live_server):
    create_demo_users()
    alert = make_alert("Okafor")
    page = open_queue(log_in, live_server)
    box = item(page, alert)
    box.get_by_text("Resolve…").click()
    box.get_by_label("What was done").fill("Discussed with Dr Hepat; budesonide switched to prednisolone.")
    box.get_by_role("button", name="Resolve", exact=True).click()
    expect(box.get_by_role("status")).to_have_text("Resolved.")
    box.get_by_text("History").click()
    expect(box.locator(".history")).to_contain_text("Resolved by Nora Nightingale: Discussed with Dr Hepat")


def test_assign_to_a_colleague(log_in, live_server):
    create_demo_users()
    alert = make_alert("Okafor")
    page = open_queue(log_in, live_server)
    box = item(page, alert)
    box.get_by_label("Assign to").select_option(label="Priya Hepat (physician)")
    box.get_by_role("button", name="Assign", exact=True).click()
    expect(box.get_by_role("status")).to_have_text("Assigned to Priya Hepat.")
    assert Alert.objects.get(pk=alert.pk).assignee.username == "physician"


def test_bulk_acknowledge(log_in, live_server):
    create_demo_users()
    first, second, third = make_alert("Alvarez"), make_alert("Brennan"), make_alert("Chen")
    page = open_queue(log_in, live_server)
    kept = no_full_reload(page)
    item(page, first).get_by_role("checkbox").check()
    item(page, third).get_by_role("checkbox").check()
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.locator("#results .messages")).to_contain_text("Acknowledged 2 alerts.")
    assert kept()
    statuses = dict(Alert.objects.values_list("pk", "status"))
    assert (statuses[first.pk], statuses[second.pk], statuses[third.pk]) == ("acknowledged", "open", "acknowledged")


def test_the_second_nurse_sees_who_handled_it(log_in, live_server, screenshot_dir):
    users = {u.username: u for u in create_demo_users()}
    alert = make_alert("Okafor")
    page = open_queue(log_in, live_server)
    expect(item(page, alert)).to_be_visible()
    acknowledge_alert(alert=alert, version=1, user=users["physician"])  # meanwhile, at another desk
    box = item(page, alert)
    box.get_by_text("Resolve…").click()
    box.get_by_label("What was done").fill("Called the patient")
    box.get_by_role("button", name="Resolve", exact=True).click()
    expect(box.get_by_role("alert")).to_contain_text("Already handled by Priya Hepat at")
    page.screenshot(path=str(screenshot_dir / "alert-queue-conflict.png"), full_page=True)
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.ACKNOWLEDGED


def test_recording_a_recall_contact(log_in, live_server, screenshot_dir):
    create_demo_users()
    patient = PatientFactory(family_name="Okafor", given_name="Ada")
    course = CourseFactory(patient=patient, drug=drug("azathioprine"), started_on=date.today() - timedelta(days=30))
    DoseChangeFactory(course=course, dose_mg_per_day=100)
    page = log_in("nurse", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/recall/")
    row = page.locator(f"#recall-{patient.pk}-fbc")
    expect(row).to_contain_text("OKAFOR, Ada")
    kept = no_full_reload(page)
    row.get_by_text("Record contact").click()
    row.get_by_label("Method").select_option("phone")
    row.get_by_label("Outcome").select_option("no_answer")
    row.get_by_label("Reason for the lapse").select_option("self_stopped")
    page.screenshot(path=str(screenshot_dir / "recall-list.png"), full_page=True)
    row.get_by_role("button", name="Save contact").click()
    expect(row.get_by_role("status")).to_contain_text("Contact recorded")
    expect(row).to_contain_text("phone – no answer (self-stopped treatment)")
    assert kept()
