"""The visit form's lab checks: unit choices, likely unit slips (a warning) and same-value duplicates."""

import pytest

from monitoring.labs.entry import display_unit, likely_unit_slip, same_value, unit_choices
from monitoring.parameters import defaults
from tests.factories import analyte

pytestmark = pytest.mark.django_db


def test_each_accepted_unit_is_offered_once_in_its_usual_spelling():
    assert unit_choices(analyte("alt")) == ["U/L", "IU/L", "µkat/L"]
    assert unit_choices(analyte("bilirubin")) == ["µmol/L", "mg/dL"]
    assert "" not in unit_choices(analyte("inr"))
    assert display_unit(analyte("bilirubin"), "umol/L") == "µmol/L"


@pytest.mark.parametrize(
    ("code", "value", "unit", "suggested"),
    [
        ("bilirubin", 85, "mg/dL", "µmol/L"),  # the example: 1453.5 µmol/L, 69 × ULN
        ("haemoglobin", 12.5, "g/L", "g/dL"),  # 12.5 g/L is a tenth of anaemia
        ("igg", 14.5, "mg/dL", "g/L"),  # 0.145 g/L
        ("albumin", 3.5, "g/L", "g/dL"),  # below the plausible range: refused, with this suggestion
        ("creatinine", 80, "mg/dL", "µmol/L"),  # 7072 µmol/L
        ("bilirubin", 30, "mg/dL", None),  # 513 µmol/L: deep jaundice happens
        ("bilirubin", 85, "µmol/L", None),
        ("alt", 1800, "U/L", None),  # AS-AIH; no other unit makes it ordinary
        ("sodium", 400, "mmol/L", None),  # every sodium unit is the same: refused, no suggestion
    ],
)
def test_a_likely_unit_slip_names_the_unit_it_would_be_ordinary_in(code, value, unit, suggested):
    slip = likely_unit_slip(analyte(code), value, unit, sex="female", params=defaults())
    assert (slip.unit if slip else None) == suggested


def test_duplicates_compare_at_the_precision_the_analyte_is_reported_to():
    bilirubin = analyte("bilirubin")  # one decimal
    assert same_value(bilirubin, 102.6, 6 * 17.1)
    assert not same_value(bilirubin, 102.6, 102.8)
