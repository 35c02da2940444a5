"""The quarantine review page: staff see what was not imported and why, map the code or pick the
patient, and reprocess; other clinics' messages stay invisible; roles without lab import get 403."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from aih_tracker.roles import Role
from monitoring.interop.hl7 import import_message
from monitoring.interop.hl7_build import LIVER_PANEL, Obx, build_oru
from monitoring.models import Analyte, InboundMessage, InboundStatus, LabResult, LocalCode
from tests.factories import ClinicFactory, PatientFactory, UserFactory, default_clinic

pytestmark = pytest.mark.django_db

WHEN = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)


def oru(control_id="C1", mrn="M1", results=LIVER_PANEL):
    return build_oru(mrn=mrn, control_id=control_id, results=results, collected_at=WHEN)


@pytest.fixture
def staff(client, make_user):
    user = make_user(Role.STAFF)
    client.force_login(user)
    return user


@pytest.fixture
def unknown_code_message():
    PatientFactory(mrn="M1")
    return import_message(
        oru(results=[*LIVER_PANEL, Obx("XGGT", "77", "U/L", system="L", name="Gamma GT")]), clinic=default_clinic()
    )


def test_the_list_shows_quarantined_messages_with_their_reason(client, staff, unknown_code_message):
    response = client.get(reverse("monitoring:quarantine"))
    assert response.status_code == 200
    assert "Code XGGT (Gamma GT, L) is not mapped to an analyte." in response.content.decode()
    assert reverse("monitoring:quarantine_detail", args=[unknown_code_message.pk]) in response.content.decode()
    assert 'href="/quarantine/"' in response.content.decode()  # the nav link


def test_the_list_is_paginated_and_shows_only_quarantined_messages(client, staff):
    PatientFactory(mrn="M1")
    import_message(oru("OK"), clinic=default_clinic())
    for n in range(30):
        import_message(oru(f"Q{n}", mrn="NOBODY"), clinic=default_clinic())
    first = client.get(reverse("monitoring:quarantine"))
    second = client.get(reverse("monitoring:quarantine"), {"page": 2})
    assert first.context["page"].paginator.count == 30
    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 5
    assert all(m.status == InboundStatus.QUARANTINED for m in first.context["page"])


def test_the_detail_shows_the_raw_text_and_a_mapping_form(client, staff, unknown_code_message):
    response = client.get(reverse("monitoring:quarantine_detail", args=[unknown_code_message.pk]))
    page = response.content.decode()
    assert "MSH|^~\\&amp;|LAB|HOSP" in page
    assert 'name="code" value="XGGT"' in page
    assert reverse("monitoring:quarantine_reprocess", args=[unknown_code_message.pk]) in page


def test_mapping_the_code_then_reprocessing_imports_the_whole_message(client, staff, unknown_code_message):
    ggt = Analyte.objects.get(code="ggt")
    detail = reverse("monitoring:quarantine_detail", args=[unknown_code_message.pk])

    response = client.post(
        reverse("monitoring:quarantine_map", args=[unknown_code_message.pk]),
        {"system": "L", "code": "XGGT", "display": "Gamma GT", "analyte": ggt.pk, "unit": ""},
    )
    assert response.status_code == 302 and response.url == detail
    local = LocalCode.objects.get(code="XGGT")
    assert (local.system, local.analyte, local.clinic, local.created_by) == ("L", ggt, default_clinic(), staff)

    response = client.post(reverse("monitoring:quarantine_reprocess", args=[unknown_code_message.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("monitoring:quarantine")
    assert "imported: 7 created" in response.content.decode()
    unknown_code_message.refresh_from_db()
    assert unknown_code_message.status == InboundStatus.REPROCESSED
    assert unknown_code_message.reviewed_by == staff
    assert LabResult.objects.filter(analyte=ggt, value=77).exists()


def test_a_code_can_be_marked_as_not_tracked(client, staff, unknown_code_message):
    client.post(
        reverse("monitoring:quarantine_map", args=[unknown_code_message.pk]),
        {"system": "L", "code": "XGGT", "analyte": "skip"},
    )
    client.post(reverse("monitoring:quarantine_reprocess", args=[unknown_code_message.pk]))
    unknown_code_message.refresh_from_db()
    assert unknown_code_message.status == InboundStatus.REPROCESSED
    assert unknown_code_message.counts == {"created": 6, "skipped": 1}


def test_a_unit_override_the_analyte_does_not_accept_is_refused(client, staff, unknown_code_message):
    response = client.post(
        reverse("monitoring:quarantine_map", args=[unknown_code_message.pk]),
        {"system": "L", "code": "XGGT", "analyte": Analyte.objects.get(code="ggt").pk, "unit": "mg/dL"},
        follow=True,
    )
    assert "GGT is not reported in &#x27;mg/dL&#x27;" in response.content.decode()
    assert not LocalCode.objects.exists()


def test_reprocessing_before_the_fix_keeps_the_message_in_quarantine(client, staff, unknown_code_message):
    response = client.post(reverse("monitoring:quarantine_reprocess", args=[unknown_code_message.pk]), follow=True)
    assert "Still quarantined" in response.content.decode()
    unknown_code_message.refresh_from_db()
    assert unknown_code_message.status == InboundStatus.QUARANTINED
    assert not LabResult.objects.exists()


def test_picking_the_patient_then_reprocessing_imports_the_message(client, staff):
    patient = PatientFactory(mrn="H-123")
    message = import_message(oru(mrn="LAB-9"), clinic=default_clinic())
    assert message.items[0]["kind"] == "unknown_patient"

    client.post(reverse("monitoring:quarantine_patient", args=[message.pk]), {"mrn": "H-123"})
    client.post(reverse("monitoring:quarantine_reprocess", args=[message.pk]))

    message.refresh_from_db()
    assert (message.status, message.patient) == (InboundStatus.REPROCESSED, patient)
    assert LabResult.objects.filter(patient=patient).count() == 6


def test_a_patient_of_another_clinic_cannot_be_picked(client, staff):
    PatientFactory(mrn="H-123", clinic=ClinicFactory())
    message = import_message(oru(mrn="LAB-9"), clinic=default_clinic())
    response = client.post(reverse("monitoring:quarantine_patient", args=[message.pk]), {"mrn": "H-123"}, follow=True)
    assert "No patient with MRN H-123 in this clinic." in response.content.decode()
    message.refresh_from_db()
    assert message.patient is None


def test_another_clinics_messages_are_invisible(client, staff):
    other = ClinicFactory()
    message = import_message(oru(mrn="NOBODY"), clinic=other)
    assert client.get(reverse("monitoring:quarantine")).context["page"].paginator.count == 0
    assert client.get(reverse("monitoring:quarantine_detail", args=[message.pk])).status_code == 404
    assert client.post(reverse("monitoring:quarantine_reprocess", args=[message.pk])).status_code == 404


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.STAFF, True), (Role.NURSE, True), (Role.PHYSICIAN, True), (Role.ADMIN, False)]
)
def test_who_may_review_the_quarantine(client, role, allowed):
    client.force_login(UserFactory(role=role))
    message = import_message(oru(mrn="NOBODY"), clinic=default_clinic())
    pages = [
        client.get(reverse("monitoring:quarantine")),
        client.get(reverse("monitoring:quarantine_detail", args=[message.pk])),
        client.post(reverse("monitoring:quarantine_reprocess", args=[message.pk])),
    ]
    assert [p.status_code for p in pages] == ([200, 200, 302] if allowed else [403, 403, 403])


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("monitoring:quarantine"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_reprocess_only_accepts_post(client, staff, unknown_code_message):
    assert client.get(reverse("monitoring:quarantine_reprocess", args=[unknown_code_message.pk])).status_code == 405
    assert InboundMessage.objects.get(pk=unknown_code_message.pk).status == InboundStatus.QUARANTINED
