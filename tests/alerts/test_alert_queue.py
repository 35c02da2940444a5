"""Working the alert queue: actions, validation, concurrency, filters, permissions, query count."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from aih_tracker.roles import Role
from monitoring.alerts.evidence import days_ago
from monitoring.alerts.services import (
    AlertAlreadyHandled,
    acknowledge_alert,
    assign_alert,
    bulk_acknowledge,
    resolve_alert,
    snooze_alert,
)
from monitoring.models import Alert, AlertAction, AlertActionKind, AlertStatus, ClinicalParameter, Resolution
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

ALT = {
    "test": "ALT",
    "value": 120.0,
    "unit": "U/L",
    "uln": 40.0,
    "x_uln": 3.0,
    "date": "2025-05-01",
    "range_source": "lab",
}


def make_alert(patient=None, rule_id="RESP-01", severity=3, **fields) -> Alert:
    """An alert as the engine would open it (the engine's own reconcile is tested elsewhere)."""
    alert = Alert.objects.create(
        patient=patient or PatientFactory(),
        rule_id=rule_id,
        severity=severity,
        message=fields.pop("message", f"{rule_id} fired"),
        evidence=fields.pop("evidence", {"alt": ALT}),
        suggested_action="Review treatment.",
        source="S001",
        **fields,
    )
    AlertAction.objects.create(alert=alert, kind=AlertActionKind.OPENED)
    return alert


# -- services ------------------------------------------------------------------------------------


def test_acknowledge_records_who_and_raises_the_version(nurse):
    alert = make_alert()
    alert = acknowledge_alert(alert=alert, version=1, user=nurse)
    assert (alert.status, alert.version) == (AlertStatus.ACKNOWLEDGED, 2)
    action = alert.actions.last()
    assert (action.kind, action.by) == (AlertActionKind.ACKNOWLEDGED, nurse)
    assert alert.history.count() == 2  # created + acknowledged, in the audit history


def test_assign_to_a_colleague_of_the_same_clinic(nurse, physician):
    alert = assign_alert(alert=make_alert(), version=1, user=nurse, assignee=physician)
    assert alert.assignee == physician
    assert alert.actions.last().note == f"Assigned to {physician.display_name}."


def test_assign_refuses_someone_of_another_clinic_or_role(nurse, make_user):
    outsider = UserFactory(role=Role.NURSE, clinic=ClinicFactory())
    clerk = make_user(Role.STAFF)
    for person in (outsider, clerk):
        with pytest.raises(ValidationError):
            assign_alert(alert=make_alert(), version=1, user=nurse, assignee=person)


def test_snooze_requires_a_reason(nurse):
    alert = make_alert()
    with pytest.raises(ValidationError) as error:
        snooze_alert(alert=alert, version=1, user=nurse, until=timezone.localdate() + timedelta(days=3), reason="  ")
    assert "reason" in error.value.message_dict
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and alert.version == 1


def test_snooze_is_limited_to_the_clinics_maximum(nurse):
    ClinicalParameter.objects.create(clinic=nurse.clinic, key="snooze_max_days", value=7, reason="test")
    today = timezone.localdate()
    with pytest.raises(ValidationError) as error:
        snooze_alert(alert=make_alert(), version=1, user=nurse, until=today + timedelta(days=8), reason="on holiday")
    assert "At most 7 days" in error.value.message_dict["until"][0]
    alert = snooze_alert(alert=make_alert(), version=1, user=nurse, until=today + timedelta(days=7), reason="away")
    assert (alert.status, alert.snooze_reason) == (AlertStatus.SNOOZED, "away")


def test_resolve_requires_a_note(nurse):
    with pytest.raises(ValidationError):
        resolve_alert(alert=make_alert(), version=1, user=nurse, note="")
    alert = resolve_alert(alert=make_alert(), version=1, user=nurse, note="Called the patient, repeat bloods booked.")
    assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, Resolution.BY_USER)
    assert alert.actions.last().note == "Called the patient, repeat bloods booked."


def test_the_second_nurse_is_told_who_handled_it_and_nothing_is_overwritten(nurse, make_user):
    other = make_user(Role.NURSE, first_name="Olu", last_name="Bello")
    alert = make_alert()
    stale_copy = Alert.objects.get(pk=alert.pk)
    resolve_alert(alert=alert, version=1, user=other, note="Done by Olu.")
    with pytest.raises(AlertAlreadyHandled) as conflict:
        snooze_alert(
            alert=stale_copy, version=1, user=nurse, until=timezone.localdate() + timedelta(days=2), reason="x"
        )
    assert conflict.value.message.startswith("Already handled by Olu Bello at ")
    alert.refresh_from_db()
    assert (alert.status, alert.resolution_note, alert.version) == (AlertStatus.RESOLVED, "Done by Olu.", 2)
    assert alert.actions.filter(by=nurse).count() == 0


def test_a_race_is_caught_by_the_conditional_update(nurse, make_user):
    """Both read version 1; the other's write lands between our read and our write."""
    alert = make_alert()
    Alert.objects.filter(pk=alert.pk).update(version=2, status=AlertStatus.ACKNOWLEDGED)
    AlertAction.objects.create(alert=alert, kind=AlertActionKind.ACKNOWLEDGED, by=make_user(Role.NURSE))
    alert.version = 1  # what our form carried; our in-memory copy still says version 1
    with pytest.raises(AlertAlreadyHandled):
        acknowledge_alert(alert=alert, version=1, user=nurse)


def test_bulk_acknowledge_reports_the_ones_handled_meanwhile(nurse):
    first, second = make_alert(), make_alert()
    acknowledge_alert(alert=second, version=1, user=nurse)
    result = bulk_acknowledge(alerts_and_versions=[(first, 1), (Alert.objects.get(pk=second.pk), 1)], user=nurse)
    assert [a.pk for a in result.done] == [first.pk]
    assert [c.alert.pk for c in result.conflicts] == [second.pk]


# -- views -----------------------------------------------------------------------------------------


def test_the_queue_lists_most_severe_then_oldest_first_with_evidence(client, nurse):
    p = PatientFactory(family_name="Okafor", given_name="Ada", mrn="Q-1")
    warning = make_alert(p, "MON-04", severity=2)
    old_high = make_alert(PatientFactory(), "AZA-06", severity=3)
    new_high = make_alert(PatientFactory(), "RESP-02", severity=3)
    critical = make_alert(PatientFactory(), "LT-03", severity=4)
    Alert.objects.filter(pk=old_high.pk).update(opened_at=timezone.now() - timedelta(days=3))
    client.force_login(nurse)
    body = client.get("/alerts/").content.decode()
    order = [body.index(f'id="alert-{a.pk}"') for a in (critical, old_high, new_high, warning)]
    assert order == sorted(order)
    assert "ALT 120 U/L · 3 × ULN (ULN 40, lab&#x27;s range) · 1 May 2025" in body
    assert "Review treatment." in body and "S001" in body and f'href="/patients/{p.pk}/"' in body


def test_day_counts_are_made_from_the_stored_dates_when_shown(client, nurse):
    # Alerts store dates only (a stored count would rewrite the alert every night): the queue and the
    # patient page count the days from today.
    today = timezone.localdate()
    last = (today - timedelta(days=149)).isoformat()
    panels = [{"panel": "FBC", "last_result": last}, {"panel": "LFT", "last_result": None}]
    alert = make_alert(rule_id="MON-01", severity=2, message=f"FBC overdue (last {last})", evidence={"panels": panels})
    make_alert(alert.patient, "STER-01", severity=2, evidence={"steroid_since": (today - timedelta(1)).isoformat()})
    client.force_login(nurse)
    body = client.get("/alerts/").content.decode()
    assert "FBC last drawn 149 days ago" in body and "Steroids started 1 day ago" in body
    assert "FBC last drawn 149 days ago" in client.get(f"/patients/{alert.patient_id}/").content.decode()


@pytest.mark.parametrize(
    ("days", "text"), [(0, "today"), (1, "1 day ago"), (1500, "1,500 days ago"), (-3, "in 3 days")]
)
def test_days_ago(days, text):
    today = timezone.localdate()
    assert days_ago(today - timedelta(days=days), today) == text


def test_filters_narrow_the_queue(client, nurse):
    mine = make_alert(PatientFactory(mrn="F-1"), "AZA-06", severity=4, assignee=nurse)
    unassigned = make_alert(PatientFactory(mrn="F-2", family_name="Zebedee"), "MON-04", severity=2)
    client.force_login(nurse)

    def listed(query):
        body = client.get(f"/alerts/?{query}").content.decode()
        return {a.pk for a in (mine, unassigned) if f'id="alert-{a.pk}"' in body}

    assert listed("severity=4") == {mine.pk}
    assert listed("family=monitoring") == {unassigned.pk}
    assert listed("assignee=me") == {mine.pk}
    assert listed("assignee=unassigned") == {unassigned.pk}
    assert listed("q=zebed") == {unassigned.pk}
    assert listed("q=F-1") == {mine.pk}
    assert listed("severity=banana&family=nope") == {mine.pk, unassigned.pk}


def test_resolved_by_data_alerts_are_listed_separately(client, nurse):
    open_alert = make_alert()
    cleared = make_alert(status=AlertStatus.RESOLVED, resolution=Resolution.BY_DATA, resolved_at=timezone.now())
    client.force_login(nurse)
    queue = client.get("/alerts/").content.decode()
    assert f'id="alert-{open_alert.pk}"' in queue and f'id="alert-{cleared.pk}"' not in queue
    by_data = client.get("/alerts/?view=by_data").content.decode()
    assert f'id="alert-{cleared.pk}"' in by_data and "Cleared by data" in by_data


def test_htmx_acknowledge_returns_the_refreshed_item(client, nurse):
    alert = make_alert()
    client.force_login(nurse)
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"version": 1}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith(f'<article class="alert-item sev-high" id="alert-{alert.pk}"')
    assert "Acknowledged." in body and 'value="2"' in body


def test_plain_post_acknowledge_redirects_back_to_the_queue_with_its_filters(client, nurse):
    alert = make_alert()
    client.force_login(nurse)
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", {"version": 1, "back": "severity=3&page=1"})
    assert response.status_code == 302 and response["Location"] == "/alerts/?severity=3&page=1"


def test_a_form_error_keeps_what_was_typed(client, nurse):
    alert = make_alert()
    client.force_login(nurse)
    until = (timezone.localdate() + timedelta(days=90)).isoformat()
    response = client.post(
        f"/alerts/{alert.pk}/snooze/", {"version": 1, "until": until, "reason": "Patient on holiday"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    body = response.content.decode()
    assert "At most 30 days ahead" in body
    assert 'value="Patient on holiday"' in body and f'value="{until}"' in body
    assert "<details open>" in body


def test_the_concurrent_action_message_is_shown(client, nurse, make_user):
    alert = make_alert()
    acknowledge_alert(alert=alert, version=1, user=make_user(Role.PHYSICIAN, first_name="Priya", last_name="Hepat"))
    client.force_login(nurse)
    response = client.post(
        f"/alerts/{alert.pk}/resolve/", {"version": 1, "note": "done"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "Already handled by Priya Hepat at" in body
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED


def test_bulk_acknowledge_and_assign_with_htmx(client, nurse, physician):
    first, second = make_alert(), make_alert()
    client.force_login(nurse)
    selected = [f"{first.pk}:1", f"{second.pk}:1"]
    response = client.post("/alerts/bulk/", {"selected": selected, "do": "acknowledge"}, headers={"HX-Request": "true"})
    assert "Acknowledged 2 alerts." in response.content.decode()
    assert set(Alert.objects.values_list("status", flat=True)) == {AlertStatus.ACKNOWLEDGED}
    selected = [f"{first.pk}:2", f"{second.pk}:2"]
    client.post("/alerts/bulk/", {"selected": selected, "do": "assign", "assign_to": str(physician.pk)})
    assert set(Alert.objects.values_list("assignee", flat=True)) == {physician.pk}


def test_the_nav_badge_counts_open_critical_and_high(client, nurse):
    make_alert(severity=4)
    make_alert(severity=3)
    make_alert(severity=2)
    make_alert(severity=4, status=AlertStatus.ACKNOWLEDGED)
    client.force_login(nurse)
    body = client.get("/patients/").content.decode()
    assert '<span class="nav-badge" title="Open critical and high alerts">2<' in body


@pytest.mark.parametrize(
    ("role", "can_act"), [(Role.STAFF, False), (Role.NURSE, True), (Role.PHYSICIAN, True), (Role.ADMIN, False)]
)
def test_the_permission_matrix_holds_on_every_queue_endpoint(client, make_user, role, can_act):
    alert = make_alert()
    user = make_user(role)
    client.force_login(user)
    page = client.get("/alerts/")
    assert page.status_code == 200  # every role may view alerts
    assert ("Acknowledge selected" in page.content.decode()) is can_act
    assert client.get(f"/alerts/{alert.pk}/").status_code == 200
    expected = 200 if can_act else 403
    htmx = {"HX-Request": "true"}
    until = (timezone.localdate() + timedelta(days=2)).isoformat()
    posts = [
        ("acknowledge", {"version": 1}),
        ("assign", {"version": 2, "assignee": "me"}),
        ("snooze", {"version": 3, "until": until, "reason": "r"}),
        ("resolve", {"version": 3, "note": "n"}),
    ]
    for action, data in posts:
        assert client.post(f"/alerts/{alert.pk}/{action}/", data, headers=htmx).status_code == expected, action
    assert client.post("/alerts/bulk/", {"selected": [f"{alert.pk}:1"]}, headers=htmx).status_code == expected
    assert client.get(f"/alerts/{alert.pk}/acknowledge/").status_code == (405 if can_act else 405)


def test_another_clinics_alert_is_not_found(client, nurse):
    alert = make_alert(PatientFactory(clinic=ClinicFactory()))
    client.force_login(nurse)
    assert f'id="alert-{alert.pk}"' not in client.get("/alerts/").content.decode()
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
    assert client.post(f"/alerts/{alert.pk}/acknowledge/", {"version": 1}).status_code == 404
    client.post("/alerts/bulk/", {"selected": [f"{alert.pk}:1"], "do": "acknowledge"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_the_first_page_runs_a_fixed_number_of_queries(client, nurse, django_assert_max_num_queries):
    for index in range(30):
        make_alert(PatientFactory(), rule_id=("RESP-01", "MON-04", "AZA-06")[index % 3], severity=1 + index % 4)
    client.force_login(nurse)
    client.get("/alerts/")  # warm the session
    with django_assert_max_num_queries(10):
        response = client.get("/alerts/")
    assert response.content.decode().count('class="alert-item') == 20


def test_bulk_acknowledge_keeps_the_assignee_filter_apart_from_the_bulk_assignee(client, nurse):
    # The bulk form carries the queue's filters as hidden fields; its own "assign to" must not clobber
    # the "assigned to" filter, or the re-rendered list would show someone else's selection.
    mine = make_alert(assignee=nurse)
    make_alert()
    client.force_login(nurse)
    response = client.post(
        "/alerts/bulk/",
        {"selected": [f"{mine.pk}:1"], "do": "acknowledge", "assignee": "me", "assign_to": "me"},
        headers={"HX-Request": "true"},
    )
    assert response.context["filters"].assignee == "me"
    assert [alert.pk for alert in response.context["page"]] == [mine.pk]
    response = client.post("/alerts/bulk/", {"do": "acknowledge", "assign_to": "me"}, headers={"HX-Request": "true"})
    assert response.context["page"].paginator.count == 2  # no filter: everything to work
