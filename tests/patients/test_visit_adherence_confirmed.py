"""The visit log records full adherence as confirmed (seed 004: treatment failure is "despite full adherence")."""

from __future__ import annotations

import pytest

from regimens.models import AdherenceRecord
from tests.patients.test_visit_log import ALT, meds, nothing_saved, on_prednisolone, patient, post, staff, visit_data

pytestmark = pytest.mark.django_db
__all__ = ["on_prednisolone", "patient", "staff"]  # fixtures used by the tests below


def test_the_visit_form_offers_full_adherence_confirmed_per_medicine(staff, patient, on_prednisolone):
    page = staff.get(f"/patients/{patient.pk}/visits/new/").content.decode()
    assert "Full adherence confirmed" in page and 'name="meds-0-full_adherence_confirmed"' in page


def test_full_adherence_confirmed_is_stored_on_the_adherence_record(staff, patient, on_prednisolone):
    data = visit_data() | meds(
        on_prednisolone, taken="as_prescribed", adherence_method="pill_count", full_adherence_confirmed="on"
    )
    assert post(staff, patient, data).status_code == 302
    record = AdherenceRecord.objects.get()
    assert record.full_adherence_confirmed and record.missed_doses == 0


@pytest.mark.parametrize(
    ("fields", "error_field", "message"),
    [
        # S004 §2: adherence must be "actively excluded": a confirmation says how it was checked
        ({"full_adherence_confirmed": "on"}, "adherence_method", "Say how adherence was checked"),
        # "full adherence" and missed doses contradict each other
        (
            {"full_adherence_confirmed": "on", "adherence_method": "self_report", "missed_doses": "2"},
            "full_adherence_confirmed",
            "full adherence cannot be confirmed",
        ),
    ],
)
def test_a_confirmation_that_contradicts_itself_is_refused(
    staff, patient, on_prednisolone, fields, error_field, message
):
    page = post(staff, patient, visit_data({ALT: {"value": "50"}}) | meds(on_prednisolone, **fields)).content.decode()
    start = page.index(f'id="id_meds-0-{error_field}_error"')
    assert message in page[start : start + 300]
    assert nothing_saved()
