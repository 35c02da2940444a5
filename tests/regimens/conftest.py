from datetime import UTC, date, datetime

import pytest
import time_machine

from patients.models import PharmacogeneticTest, WeightMeasurement
from tests.factories import LabResultFactory, PatientFactory, analyte

TODAY = date(2025, 3, 3)


@pytest.fixture(autouse=True)
def frozen_today():
    """Pages default dates to today and checks run as of the prescription's date: a fixed day."""
    with time_machine.travel(datetime(2025, 3, 3, 10, tzinfo=UTC), tick=False):
        yield TODAY


def lab(patient, code: str, value: float, on: date = date(2025, 2, 24), unit: str = "", high=None):
    return LabResultFactory(
        patient=patient,
        analyte=analyte(code),
        value=value,
        unit_as_reported=unit or analyte(code).canonical_unit,
        ref_high=high,
        collected_at=datetime(on.year, on.month, on.day, 9, tzinfo=UTC),
    )


@pytest.fixture
def patient(db):
    """A woman of 72 kg with recent normal bilirubin and blood count; no TPMT result yet."""
    patient = PatientFactory(reproductive_potential="no")
    WeightMeasurement.objects.create(patient=patient, measured_on=date(2025, 2, 24), weight_kg=72)
    lab(patient, "bilirubin", 15, high=21)
    lab(patient, "wbc", 6.0)
    lab(patient, "platelets", 250)
    return patient


@pytest.fixture
def tpmt_normal(patient):
    return PharmacogeneticTest.objects.create(
        patient=patient, gene="tpmt", phenotype="normal", tested_on=date(2025, 1, 10)
    )
