"""Lab results are converted to the analyte's canonical unit on entry (clinical-rules.md §3.1, §4)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from monitoring.labs.services import LabValue, record_lab_result
from monitoring.models import LabResult
from tests.factories import PatientFactory, analyte

pytestmark = pytest.mark.django_db
COLLECTED = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "value", "unit", "canonical"),
    [
        # §3.1: bilirubin µmol/L = mg/dL × 17.1; 6 mg/dL = 102.6 µmol/L
        ("bilirubin", 6, "mg/dL", 102.6),
        ("bilirubin", 85, "µmol/L", 85),
        ("bilirubin", 85, "umol/L", 85),
        # §3.1: creatinine µmol/L = mg/dL × 88.4
        ("creatinine", 1.5, "mg/dL", 132.6),
        # §4: IgG 1 g/L = 100 mg/dL
        ("igg", 1600, "mg/dL", 16),
        # §4: albumin g/L = g/dL × 10
        ("albumin", 3.5, "g/dL", 35),
        # §4: 1 µkat/L = 60 U/L; IU/L = U/L
        ("alt", 1.5, "ukat/L", 90),
        ("alt", 38, "IU/L", 38),
        # §4: counts 10*3/uL = 10*9/L; HL7 samples spell it giga.l-1
        ("platelets", 220, "10*3/uL", 220),
        ("wbc", 8.2, "giga.l-1", 8.2),
        ("haemoglobin", 13.4, "g/dL", 134),
        ("sodium", 134, "mEq/L", 134),
    ],
)
def test_value_is_stored_in_the_canonical_unit(code, value, unit, canonical):
    result = record_lab_result(patient=PatientFactory(), lab=LabValue(analyte(code), value, unit, COLLECTED))
    assert result.value == pytest.approx(canonical)
    assert result.value_as_reported == f"{value:g}"
    assert result.unit_as_reported == unit


def test_reference_range_is_converted_with_the_value():
    result = record_lab_result(
        patient=PatientFactory(),
        lab=LabValue(analyte("bilirubin"), 2.0, "mg/dL", COLLECTED, ref_low=0.1, ref_high=1.2),
    )
    assert result.ref_high == pytest.approx(20.52)
    assert result.ref_low == pytest.approx(1.71)


def test_unknown_unit_is_refused_with_the_accepted_ones_listed():
    with pytest.raises(ValidationError) as error:
        record_lab_result(patient=PatientFactory(), lab=LabValue(analyte("inr"), 45, "%", COLLECTED))
    assert "Accepted units" in str(error.value)
    assert LabResult.objects.count() == 0


@pytest.mark.parametrize(("code", "value", "unit"), [("alt", -3, "U/L"), ("sodium", 400, "mmol/L"), ("inr", 30, "")])
def test_impossible_values_are_refused_and_nothing_is_stored(code, value, unit):
    with pytest.raises(ValidationError):
        record_lab_result(patient=PatientFactory(), lab=LabValue(analyte(code), value, unit, COLLECTED))
    assert LabResult.objects.count() == 0


def test_a_future_collection_time_is_refused():
    tomorrow = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        record_lab_result(patient=PatientFactory(), lab=LabValue(analyte("alt"), 40, "U/L", tomorrow))
    assert "future" in str(error.value)
