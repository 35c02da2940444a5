"""Prescribing is physician-only (aih_tracker/roles.py); every regimen page and htmx endpoint enforces it."""

from __future__ import annotations

from datetime import date

import pytest

from aih_tracker.roles import PERMISSION_MATRIX, Action, Role
from regimens.models import MedicationCourse
from tests.factories import ClinicFactory, CourseFactory, DoseChangeFactory, PatientFactory, drug

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(patient):
    course = CourseFactory(patient=patient, drug=drug("prednisolone"), started_on=date(2025, 2, 3))
    DoseChangeFactory(course=course, dose_mg_per_day=30)
    return course


PRESCRIBING = [
    ("start", "get", lambda c: f"/patients/{c.patient_id}/regimen/start/", {}),
    ("start", "post", lambda c: f"/patients/{c.patient_id}/regimen/start/", {"drug": "", "confirm": "1"}),
    ("preview (htmx)", "htmx", lambda c: f"/patients/{c.patient_id}/regimen/start/", {"preview": "1"}),
    ("change dose", "get", lambda c: f"/patients/{c.patient_id}/regimen/{c.pk}/dose/", {}),
    ("change dose", "post", lambda c: f"/patients/{c.patient_id}/regimen/{c.pk}/dose/", {"dose": "20"}),
    ("stop", "get", lambda c: f"/patients/{c.patient_id}/regimen/{c.pk}/stop/", {}),
    ("stop", "post", lambda c: f"/patients/{c.patient_id}/regimen/{c.pk}/stop/", {"stop_reason": "other"}),
    ("switch", "get", lambda c: f"/patients/{c.patient_id}/regimen/{c.pk}/switch/", {}),
    ("switch", "post", lambda c: f"/patients/{c.patient_id}/regimen/{c.pk}/switch/", {"stop_reason": "other"}),
    ("taper", "get", lambda c: f"/patients/{c.patient_id}/regimen/{c.pk}/taper/", {}),
    ("taper", "post", lambda c: f"/patients/{c.patient_id}/regimen/{c.pk}/taper/", {"protocol": "budesonide"}),
]


def request(client, method, url, data):
    if method == "get":
        return client.get(url)
    headers = {"HX-Request": "true"} if method == "htmx" else {}
    return client.post(url, data, headers=headers)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    ("page", "method", "url_for", "data"), PRESCRIBING, ids=[f"{p[0]} {p[1]}" for p in PRESCRIBING]
)
def test_only_physicians_prescribe(client, make_user, course, role, page, method, url_for, data):
    client.force_login(make_user(role))
    response = request(client, method, url_for(course), data)
    if role in PERMISSION_MATRIX[Action.PRESCRIBE]:
        assert response.status_code in (200, 302), f"{role} should be able to {page}"
    else:
        assert response.status_code == 403, f"{role} should not be able to {page}"
    course.refresh_from_db()
    assert course.stopped_on is None  # none of these (invalid) posts changed anything
    assert course.dose_changes.count() == 1


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_the_regimen_page_but_only_physicians_see_the_actions(client, make_user, course, role):
    client.force_login(make_user(role))
    response = client.get(f"/patients/{course.patient_id}/regimen/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Prednisolone" in page
    assert ("Start a course" in page) is (role == Role.PHYSICIAN)
    assert ("Change dose" in page) is (role == Role.PHYSICIAN)


@pytest.mark.parametrize(
    ("page", "method", "url_for", "data"), PRESCRIBING, ids=[f"{p[0]} {p[1]}" for p in PRESCRIBING]
)
def test_another_clinics_patient_is_not_found(client, physician, page, method, url_for, data):
    stranger = PatientFactory(clinic=ClinicFactory())
    theirs = CourseFactory(patient=stranger, drug=drug("prednisolone"))
    client.force_login(physician)
    assert request(client, method, url_for(theirs), data).status_code == 404
    assert client.get(f"/patients/{stranger.pk}/regimen/").status_code == 404


def test_a_course_of_another_patient_is_not_found_under_this_one(client, physician, course):
    other = CourseFactory(patient=PatientFactory(), drug=drug("prednisolone"))
    client.force_login(physician)
    assert client.get(f"/patients/{course.patient_id}/regimen/{other.pk}/stop/").status_code == 404


def test_the_pages_need_a_login(client, course):
    for _, method, url_for, data in PRESCRIBING:
        response = request(client, method, url_for(course), data)
        assert response.status_code == 302 and "/login/" in response.url
    assert MedicationCourse.objects.count() == 1
