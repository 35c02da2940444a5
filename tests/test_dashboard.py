"""Dashboard tiles equal an independent count on a known set of alerts, in a fixed number of queries."""

import pytest
from django.utils import timezone

from aih_tracker.roles import Role
from monitoring.models import Alert, AlertStatus, Resolution
from tests.factories import ClinicFactory, PatientFactory

pytestmark = pytest.mark.django_db


def alert(patient, rule_id, severity=2, **fields):
    return Alert.objects.create(patient=patient, rule_id=rule_id, severity=severity, message=rule_id, **fields)


@pytest.fixture
def known_dataset():
    a, b, c, d = (PatientFactory() for _ in range(4))
    alert(a, "LT-03", 4)
    alert(b, "ASA-04", 4, status=AlertStatus.ACKNOWLEDGED)
    alert(c, "ASA-02", 4, status=AlertStatus.RESOLVED, resolution=Resolution.BY_DATA, resolved_at=timezone.now())
    alert(a, "MON-01", 3, evidence={"state": "overdue"})
    alert(a, "MON-04", 2, evidence={"state": "overdue"})  # same patient: counted once
    alert(b, "MON-01", 1, evidence={"state": "due"})  # due, not overdue
    alert(c, "RESP-02", 3)
    alert(d, "REL-01", 3)
    alert(b, "STER-01", 1)
    alert(c, "STER-01", 2)
    alert(d, "STER-01", 2)
    alert(d, "TPM-01", 2)
    alert(PatientFactory(clinic=ClinicFactory()), "LT-03", 4)  # another clinic: never counted


def test_each_tile_equals_an_independent_count(client, make_user, known_dataset, django_assert_max_num_queries):
    client.force_login(make_user(Role.PHYSICIAN))
    client.get("/dashboard/")
    with django_assert_max_num_queries(10):
        response = client.get("/dashboard/")
    tiles = {tile.key: tile.count for tile in response.context["tiles"]}
    assert tiles == {
        "critical": 2,
        "bloods": 1,
        "response": 2,
        "dexa_due": 1,
        "dexa_overdue": 2,
        "low_metabolites": 1,
    }
    assert 'href="/alerts/?severity=4"' in response.content.decode()


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_view_the_dashboard(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get("/dashboard/").status_code == 200
