"""The regimen pages work on the demo cohort's multi-year histories (tapers, switches, stops)."""

from datetime import date

import pytest

from patients.demo_cohort import seed_demo_cohort
from patients.models import Patient
from regimens.models import TaperPlan

pytestmark = pytest.mark.django_db


def test_every_demo_scenario_has_a_readable_regimen_page(client, physician):
    seed_demo_cohort(patients=11, seed="regimens", as_of=date(2025, 3, 3))
    client.force_login(physician)
    assert TaperPlan.objects.exists()
    for patient in Patient.objects.all():
        response = client.get(f"/patients/{patient.pk}/regimen/")
        assert response.status_code == 200
        page = response.content.decode()
        assert "Current courses" in page and "Taper plans: planned and actual" in page
        for course in patient.courses.filter(stopped_on__isnull=True).select_related("drug"):
            assert f"/regimen/{course.pk}/dose/" in page
