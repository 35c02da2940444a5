"""Seed-statement prescribing checks (issue 14) on the physician's start-a-course page.

Each row: the seed passage, what the patient has on file, the prescription typed, and how the page
must show the check (blocked until an override reason is given, or a warning that does not block).
"""

from __future__ import annotations

from datetime import date

import pytest

from patients.models import AcuteSevereEpisode, Malignancy
from regimens.models import AdverseEvent, MedicationCourse
from tests.factories import drug
from tests.regimens.test_prescribing_pages import confirm, form, start_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def physician_client(client, physician):
    client.force_login(physician)
    return client


def _aza_hepatotoxicity(patient, physician):
    course = MedicationCourse.objects.create(
        patient=patient, drug=drug("azathioprine"), started_on=date(2024, 9, 16), prescriber=physician
    )
    event = AdverseEvent.objects.create(
        patient=patient, course=course, kind="hepatotoxicity", onset_on=date(2024, 10, 28), grade=3
    )
    course.stopped_on, course.stop_reason, course.stop_adverse_event = date(2024, 11, 4), "intolerance", event
    course.save()


def _lymphoma(patient, physician):
    Malignancy.objects.create(patient=patient, kind="lymphoma", diagnosed_on=date(2025, 1, 20))


def _nothing(patient, physician):
    pass


def _acute_severe(patient, physician):
    AcuteSevereEpisode.objects.create(patient=patient, presented_on=date(2025, 3, 2))


PAGE_ROWS = [
    # (seed passage, set-up, prescription, rule, blocks)
    (
        'S004 §4 "Rechallenge is generally contraindicated"',
        _aza_hepatotoxicity,
        ("azathioprine", {"dose": "100"}),
        "AZA-11",
        True,
    ),
    (
        'S000 "Use prednisone alone ... Active malignancy"',
        _lymphoma,
        ("azathioprine", {"dose": "100"}),
        "AZA-12",
        False,
    ),
    ('S001 "Tacrolimus (starting dose 0.075 mg/kg daily)"', _nothing, ("tacrolimus", {"dose": "10"}), "OTH-06", False),
    (
        'S000 "high-dose intravenous corticosteroids (≥1 mg/kg)"',
        _acute_severe,
        ("prednisolone", {"dose": "40"}),
        "ASA-05",
        False,
    ),
]


@pytest.mark.parametrize(("passage", "setup", "typed", "rule_id", "blocks"), PAGE_ROWS, ids=[r[3] for r in PAGE_ROWS])
def test_seed_checks_show_on_the_prescribing_page(
    physician_client, patient, tpmt_normal, physician, passage, setup, typed, rule_id, blocks
):
    setup(patient, physician)
    data = form(typed[0], **typed[1])
    page = physician_client.post(start_url(patient), data).content.decode()
    assert f'data-rule="{rule_id}"' in page
    assert ("Blocked:" in page) == blocks
    before = MedicationCourse.objects.count()
    response = physician_client.post(start_url(patient), confirm(data))
    if blocks:
        assert response.status_code == 200 and MedicationCourse.objects.count() == before
        reason = "Discussed with the hepatologist: no alternative tolerated"
        response = physician_client.post(
            start_url(patient), confirm(data, override_reason=reason, overridden_rules=rule_id)
        )
    assert response.status_code == 302 and MedicationCourse.objects.count() == before + 1
