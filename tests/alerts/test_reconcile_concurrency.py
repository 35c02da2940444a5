"""The engine never writes over a nurse: reconcile's writes are conditional on the version it read."""

from datetime import date, timedelta

import pytest

from monitoring.alerts import reconcile as alerts_module
from monitoring.alerts.reconcile import reconcile
from monitoring.alerts.services import acknowledge_alert, snooze_alert
from monitoring.models import Alert, AlertActionKind, AlertStatus, Resolution
from monitoring.rules.base import Finding, Severity
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
TODAY = date(2025, 6, 1)


def finding(value: float, severity: Severity = Severity.WARNING) -> Finding:
    return Finding(
        "AZA-06",
        severity,
        f"Neutrophils {value} x10^9/L on a thiopurine.",
        {"neutrophils": {"value": value, "unit": "10*9/L", "date": "2025-05-30"}},
        "Repeat FBC within a week.",
        "S004",
        {},
    )


@pytest.fixture
def nurse_acts_during_the_pass(monkeypatch):
    """Run `act()` once, right after reconcile has read the alerts and before it writes."""

    def install(act):
        real_plan = alerts_module._plan
        calls = []

        def plan_then_nurse(*args, **kwargs):
            plan = real_plan(*args, **kwargs)
            if not calls:
                act()
            calls.append(plan)
            return plan

        monkeypatch.setattr(alerts_module, "_plan", plan_then_nurse)
        return calls

    return install


def test_an_acknowledgement_made_while_the_engine_refreshes_the_evidence_is_kept(nurse, nurse_acts_during_the_pass):
    patient = PatientFactory()
    reconcile({patient.pk: [finding(1.2)]}, TODAY)
    alert = Alert.objects.get()
    passes = nurse_acts_during_the_pass(lambda: acknowledge_alert(alert=alert, version=1, user=nurse))

    result = reconcile({patient.pk: [finding(1.1)]}, TODAY)

    alert = Alert.objects.get()
    assert alert.status == AlertStatus.ACKNOWLEDGED  # the nurse's acknowledgement stands
    assert alert.evidence["neutrophils"]["value"] == 1.1  # and the engine's new evidence is there too
    assert alert.version == 2
    assert (result.replanned, result.updated, len(passes)) == (1, 1, 2)
    assert [a.kind for a in alert.actions.all()] == [AlertActionKind.OPENED, AlertActionKind.ACKNOWLEDGED]
    assert alert.history.first().status == AlertStatus.ACKNOWLEDGED  # the audit history agrees


def test_a_snooze_made_while_the_engine_lowers_the_severity_is_kept(nurse, nurse_acts_during_the_pass):
    patient = PatientFactory()
    reconcile({patient.pk: [finding(0.8, Severity.HIGH)]}, TODAY)
    alert = Alert.objects.get()
    until = date.today() + timedelta(days=7)
    nurse_acts_during_the_pass(
        lambda: snooze_alert(alert=alert, version=1, user=nurse, until=until, reason="Repeat booked Friday")
    )

    reconcile({patient.pk: [finding(1.2, Severity.WARNING)]}, TODAY)

    alert = Alert.objects.get()
    assert (alert.status, alert.snoozed_until, alert.snooze_reason) == (
        AlertStatus.SNOOZED,
        until,
        "Repeat booked Friday",
    )
    assert alert.severity == Severity.WARNING
    kinds = [a.kind for a in alert.actions.all()]
    assert kinds == [AlertActionKind.OPENED, AlertActionKind.SNOOZED, AlertActionKind.SEVERITY_LOWERED]


def test_an_alert_resolved_by_a_nurse_during_the_pass_is_not_resolved_again_by_data(nurse, nurse_acts_during_the_pass):
    from monitoring.alerts.services import resolve_alert

    patient = PatientFactory()
    reconcile({patient.pk: [finding(1.2)]}, TODAY)
    alert = Alert.objects.get()
    nurse_acts_during_the_pass(lambda: resolve_alert(alert=alert, version=1, user=nurse, note="Phoned GP"))

    result = reconcile({patient.pk: []}, TODAY)  # the finding no longer holds

    alert = Alert.objects.get()
    assert (alert.status, alert.resolution, alert.resolution_note) == (
        AlertStatus.RESOLVED,
        Resolution.BY_USER,
        "Phoned GP",
    )
    assert result.resolved == 0
    assert AlertActionKind.RESOLVED_BY_DATA not in [a.kind for a in alert.actions.all()]


def test_a_status_change_by_the_engine_makes_the_nurses_stale_action_a_conflict(nurse):
    from monitoring.alerts.services import AlertAlreadyHandled

    patient = PatientFactory()
    reconcile({patient.pk: [finding(1.2)]}, TODAY)
    stale_copy = Alert.objects.get()
    reconcile({patient.pk: []}, TODAY)  # resolved by data: version 2

    with pytest.raises(AlertAlreadyHandled) as conflict:
        acknowledge_alert(alert=Alert.objects.get(), version=stale_copy.version, user=nurse)
    assert "monitoring engine" in conflict.value.message


def test_without_a_nurse_in_between_one_pass_suffices(django_assert_max_num_queries):
    patients = [PatientFactory() for _ in range(3)]
    reconcile({p.pk: [finding(1.2)] for p in patients}, TODAY)
    with django_assert_max_num_queries(12):
        result = reconcile({p.pk: [finding(1.1)] for p in patients}, TODAY)
    assert (result.updated, result.replanned) == (3, 0)
