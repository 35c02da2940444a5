"""Findings become alerts idempotently, with episodes, history, snoozes and recorded severity changes."""

from datetime import date, timedelta

import pytest

from monitoring.alerts.reconcile import reconcile
from monitoring.models import Alert, AlertActionKind, AlertStatus, Resolution
from monitoring.rules.base import Finding, Severity
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
TODAY = date(2025, 6, 1)


def neutropenia(value: float, severity: Severity = Severity.WARNING) -> Finding:
    return Finding(
        "AZA-06",
        severity,
        f"Neutrophils {value} x10^9/L on a thiopurine.",
        {"neutrophils": {"value": value, "unit": "10*9/L", "date": "2025-05-30"}},
        "Repeat FBC within a week; consider withholding azathioprine.",
        "S004; CTCAE v5.0",
        {"neutrophil_thresholds": [1.5, 1.0, 0.5]},
    )


def kinds(alert: Alert) -> list[str]:
    return [a.kind for a in alert.actions.all()]


def test_a_new_finding_opens_an_alert_with_everything_a_nurse_needs():
    patient = PatientFactory()
    result = reconcile({patient.pk: [neutropenia(1.2)]}, TODAY)
    alert = Alert.objects.get()
    assert result.opened == 1
    assert (alert.rule_id, alert.episode, alert.status, alert.severity) == ("AZA-06", 1, "open", Severity.WARNING)
    assert alert.evidence["neutrophils"]["value"] == 1.2
    assert alert.source == "S004; CTCAE v5.0"
    assert alert.parameters == {"neutrophil_thresholds": [1.5, 1.0, 0.5]}
    assert kinds(alert) == [AlertActionKind.OPENED]


def test_reconciling_twice_changes_nothing():
    patient = PatientFactory()
    reconcile({patient.pk: [neutropenia(1.2)]}, TODAY)
    before = Alert.objects.values().get()
    result = reconcile({patient.pk: [neutropenia(1.2)]}, TODAY)
    assert (result.opened, result.updated, result.resolved) == (0, 0, 0)
    assert Alert.objects.values().get() == before
    assert Alert.history.count() == 1


def test_worse_evidence_raises_the_severity_and_records_it():
    # issue: "neutrophils 1.2 → 0.8, the alert's severity rises and the change is recorded"
    patient = PatientFactory()
    reconcile({patient.pk: [neutropenia(1.2, Severity.WARNING)]}, TODAY)
    reconcile({patient.pk: [neutropenia(0.8, Severity.HIGH)]}, TODAY)
    alert = Alert.objects.get()
    assert alert.severity == Severity.HIGH
    assert alert.evidence["neutrophils"]["value"] == 0.8
    raised = alert.actions.get(kind=AlertActionKind.SEVERITY_RAISED)
    assert raised.detail["from"] == Severity.WARNING and raised.detail["to"] == Severity.HIGH


def test_a_lower_severity_is_recorded_too():
    patient = PatientFactory()
    reconcile({patient.pk: [neutropenia(0.8, Severity.HIGH)]}, TODAY)
    reconcile({patient.pk: [neutropenia(1.2, Severity.WARNING)]}, TODAY)
    assert AlertActionKind.SEVERITY_LOWERED in kinds(Alert.objects.get())


def test_a_finding_that_no_longer_holds_is_resolved_by_data_and_history_kept():
    patient = PatientFactory()
    reconcile({patient.pk: [neutropenia(1.2)]}, TODAY)
    result = reconcile({patient.pk: []}, TODAY)
    alert = Alert.objects.get()
    assert result.resolved == 1
    assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, Resolution.BY_DATA)
    assert alert.evidence["neutrophils"]["value"] == 1.2  # what it was about stays readable
    assert kinds(alert) == [AlertActionKind.OPENED, AlertActionKind.RESOLVED_BY_DATA]


def test_a_condition_that_comes_back_opens_a_new_episode():
    patient = PatientFactory()
    reconcile({patient.pk: [neutropenia(1.2)]}, TODAY)
    reconcile({patient.pk: []}, TODAY)
    reconcile({patient.pk: [neutropenia(1.1)]}, TODAY)
    assert list(Alert.objects.order_by("episode").values_list("episode", "status")) == [
        (1, "resolved"),
        (2, "open"),
    ]


def snoozed(patient, until: date) -> Alert:
    reconcile({patient.pk: [neutropenia(1.2)]}, TODAY)
    alert = Alert.objects.get()
    alert.status, alert.snoozed_until, alert.snooze_reason = AlertStatus.SNOOZED, until, "repeat booked"
    alert.save()
    return alert


def test_a_snoozed_alert_stays_quiet_until_its_snooze_ends_then_returns():
    patient = PatientFactory()
    snoozed(patient, TODAY + timedelta(days=7))
    reconcile({patient.pk: [neutropenia(1.2)]}, TODAY + timedelta(days=6))
    assert Alert.objects.get().status == AlertStatus.SNOOZED
    result = reconcile({patient.pk: [neutropenia(1.2)]}, TODAY + timedelta(days=7))
    alert = Alert.objects.get()
    assert result.woken == 1
    assert alert.status == AlertStatus.OPEN
    assert kinds(alert)[-1] == AlertActionKind.WOKE


def test_a_snoozed_alert_wakes_early_if_it_gets_worse():
    patient = PatientFactory()
    snoozed(patient, TODAY + timedelta(days=7))
    reconcile({patient.pk: [neutropenia(0.4, Severity.CRITICAL)]}, TODAY + timedelta(days=1))
    alert = Alert.objects.get()
    assert (alert.status, alert.severity) == (AlertStatus.OPEN, Severity.CRITICAL)


def test_a_snoozed_alert_whose_condition_clears_is_resolved_by_data():
    patient = PatientFactory()
    snoozed(patient, TODAY + timedelta(days=7))
    reconcile({patient.pk: []}, TODAY + timedelta(days=1))
    assert Alert.objects.get().resolution == Resolution.BY_DATA


def test_an_acknowledged_alert_stays_acknowledged_while_the_finding_holds():
    patient = PatientFactory()
    reconcile({patient.pk: [neutropenia(1.2)]}, TODAY)
    Alert.objects.update(status=AlertStatus.ACKNOWLEDGED)
    reconcile({patient.pk: [neutropenia(1.2)]}, TODAY)
    assert Alert.objects.get().status == AlertStatus.ACKNOWLEDGED


def test_other_patients_alerts_are_left_alone():
    one, two = PatientFactory(), PatientFactory()
    reconcile({one.pk: [neutropenia(1.2)], two.pk: [neutropenia(1.2)]}, TODAY)
    reconcile({one.pk: []}, TODAY)
    assert Alert.objects.get(patient=two).status == AlertStatus.OPEN
