"""The clinic has a time zone: validated, chosen from a list, and active on its users' pages (issue 14)."""

import pytest
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from aih_tracker.admin import ClinicForm
from aih_tracker.middleware import ClinicTimeZone
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("zone", "valid"),
    [
        pytest.param("Europe/Paris", True, id="IANA name"),
        pytest.param("America/New_York", True, id="IANA name west of UTC"),
        pytest.param("UTC", True, id="UTC"),
        pytest.param("Paris", False, id="a city is not a zone name"),
        pytest.param("+01:00", False, id="an offset is not a zone (no summer time)"),
    ],
)
def test_the_clinic_time_zone_must_be_a_zone_name(zone, valid):
    clinic = ClinicFactory(time_zone=zone)
    form = ClinicForm(data={"name": clinic.name, "slug": clinic.slug, "time_zone": zone}, instance=clinic)
    assert form.is_valid() == valid
    if valid:
        clinic.full_clean()
    else:
        with pytest.raises(ValidationError):
            clinic.full_clean()


def test_a_new_clinic_takes_the_servers_time_zone(settings):
    assert ClinicFactory().time_zone == settings.TIME_ZONE


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "UTC"])
def test_pages_run_in_the_users_clinics_time_zone(zone):
    user = UserFactory(clinic=ClinicFactory(time_zone=zone))
    request = RequestFactory().get("/")
    request.user = user
    response = ClinicTimeZone(lambda r: HttpResponse(timezone.get_current_timezone_name()))(request)
    assert response.content.decode() == zone
    assert timezone.get_current_timezone_name() == timezone.get_default_timezone_name()  # not left behind
