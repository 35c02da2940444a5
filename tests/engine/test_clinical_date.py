"""A result's clinical date is its collection time in the clinic's time zone (issue 14), not the UTC day."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from monitoring.engine.dates import clinical_date
from monitoring.engine.loader import load_timelines
from tests.factories import ClinicFactory, LabResultFactory, PatientFactory

# (collection time as the lab sends it, clinic time zone, clinical date). A draw just after midnight
# local time was dated the UTC day before; one just before midnight west of UTC, the day after.
ROWS = [
    pytest.param(
        datetime(2025, 3, 10, 0, 30, tzinfo=timezone(timedelta(hours=1))),
        "Europe/Paris",
        date(2025, 3, 10),
        id="00:30+01:00 Europe/Paris is that day",
    ),
    pytest.param(
        datetime(2025, 1, 10, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        "America/New_York",
        date(2025, 1, 10),
        id="23:30-05:00 America/New_York is that day",
    ),
    pytest.param(
        datetime(2025, 3, 10, 23, 30, tzinfo=UTC),
        "UTC",
        date(2025, 3, 10),
        id="UTC clinic unchanged",
    ),
    pytest.param(
        datetime(2025, 7, 1, 22, 30, tzinfo=UTC),
        "Europe/Paris",
        date(2025, 7, 2),
        id="summer time: 22:30 UTC is 00:30 the next day in Paris",
    ),
]


@pytest.mark.parametrize(("collected_at", "zone", "expected"), ROWS)
def test_clinical_date_is_the_day_in_the_clinics_zone(collected_at, zone, expected):
    assert clinical_date(collected_at, zone) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(("collected_at", "zone", "expected"), ROWS)
def test_the_engine_dates_a_result_in_its_clinics_zone(collected_at, zone, expected):
    clinic = ClinicFactory(time_zone=zone)
    patient = PatientFactory(clinic=clinic)
    LabResultFactory(patient=patient, collected_at=collected_at, value=55)
    (alt,) = load_timelines([patient.pk])[patient.pk].labs["alt"]
    assert (alt.on, alt.value) == (expected, 55)
