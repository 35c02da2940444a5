"""Imports read a lab's local times (no offset) in the clinic's time zone, and date results by it (issue 14)."""

from datetime import UTC, date, datetime

import pytest

from monitoring.engine.loader import load_timelines
from monitoring.interop.hl7 import import_message, import_text
from monitoring.interop.hl7_build import Obx, build_oru
from monitoring.models import LabResult
from tests.factories import ClinicFactory, PatientFactory

pytestmark = pytest.mark.django_db

ALT = (Obx("1742-6", "54", "U/L", "0-40", name="ALT"),)

# (HL7 collection time as sent, clinic time zone, stored instant, clinical date)
ROWS = [
    pytest.param(
        "202503100030",
        "Europe/Paris",
        datetime(2025, 3, 9, 23, 30, tzinfo=UTC),
        date(2025, 3, 10),
        id="local 00:30 in a Paris clinic is that day",
    ),
    pytest.param(
        "202501102330",
        "America/New_York",
        datetime(2025, 1, 11, 4, 30, tzinfo=UTC),
        date(2025, 1, 10),
        id="local 23:30 in a New York clinic is that day",
    ),
    pytest.param(
        "202503102330",
        "UTC",
        datetime(2025, 3, 10, 23, 30, tzinfo=UTC),
        date(2025, 3, 10),
        id="UTC clinic unchanged",
    ),
    pytest.param(
        "202503100030+0100",
        "Europe/Paris",
        datetime(2025, 3, 9, 23, 30, tzinfo=UTC),
        date(2025, 3, 10),
        id="00:30+01:00 with an offset in a Paris clinic is that day",
    ),
]


@pytest.mark.parametrize("batch", [False, True], ids=["one message", "a file of messages"])
@pytest.mark.parametrize(("sent", "zone", "instant", "clinical"), ROWS)
def test_an_imported_result_is_dated_in_the_clinics_zone(sent, zone, instant, clinical, batch):
    clinic = ClinicFactory(time_zone=zone)
    patient = PatientFactory(clinic=clinic, mrn="TZ1")
    first = build_oru(mrn="TZ1", control_id="C1", results=ALT, collected_at=sent)
    if batch:
        second = build_oru(mrn="TZ1", control_id="C2", results=ALT, collected_at=sent, order_id="ORD2")
        import_text(first + "\n" + second, clinic=clinic)
    else:
        import_message(first, clinic=clinic)
    stored = LabResult.objects.filter(patient=patient).first()
    assert stored is not None and stored.collected_at == instant
    assert load_timelines([patient.pk])[patient.pk].labs["alt"][0].on == clinical
