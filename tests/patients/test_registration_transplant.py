"""The registration form records a liver transplant (the patient's 'transplanted' status, LT-07)."""

from __future__ import annotations

import pytest

from patients.models import Patient
from tests.patients.test_patient_registration import registration, staff_client

pytestmark = pytest.mark.django_db
__all__ = ["staff_client"]  # the fixture the tests below use


def test_the_registration_form_asks_for_a_liver_transplant_date(staff_client):
    page = staff_client.get("/patients/new/").content.decode()
    assert "Liver transplant on" in page and 'name="liver_transplant_on"' in page


def test_a_transplant_date_is_saved_and_refused_in_the_future(staff_client):
    page = staff_client.post("/patients/new/", registration(liver_transplant_on="2999-01-01")).content.decode()
    assert "This date is in the future." in page and not Patient.objects.exists()
    assert staff_client.post("/patients/new/", registration(liver_transplant_on="2024-11-04")).status_code == 302
    assert Patient.objects.get().liver_transplant_on.isoformat() == "2024-11-04"
