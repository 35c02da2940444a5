"""FHIR referenceRange.appliesTo and .age choose the range that applies to the patient (issue 14).

clinical-rules.md §0: "ULNs are lab-specific and often sex-specific"; §4.1: ACG 2017 ALT ULN 29-33 IU/L for
men, 19-25 IU/L for women. A woman's ALT 60 U/L against a man's ULN 60 would hide 2.4 × ULN. No range that
applies: none is stored, and the engine falls back (A-12: the clinic's interval, else typical).
The patient of tests/fhir_builders.py is a woman born 1980-05-17 (44 at the 2025-03-01 collection).
"""

import pytest

from monitoring.interop.fhir import import_fhir_text
from monitoring.models import InboundStatus, LabResult
from tests import fhir_builders as fb
from tests.factories import default_clinic

pytestmark = pytest.mark.django_db

GENDER = "http://hl7.org/fhir/administrative-gender"
MALE = {"coding": [{"system": GENDER, "code": "male"}]}
FEMALE = {"coding": [{"system": GENDER, "code": "female"}]}
SNOMED_MALE = {"coding": [{"system": fb.SNOMED, "code": "248153007", "display": "Male"}]}
SNOMED_FEMALE = {"coding": [{"system": fb.SNOMED, "code": "248152002", "display": "Female"}]}
THERAPEUTIC = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/referencerange-meaning", "code": "treatment"}]
}


def rng(high, applies_to=None, age=None, type_=None, low=None):
    ref = {"high": fb.quantity(high, "U/L")}
    if low is not None:
        ref["low"] = fb.quantity(low, "U/L")
    if applies_to:
        ref["appliesTo"] = applies_to
    if age:
        ref["age"] = {
            k: {"value": v, "unit": "a", "system": fb.UCUM, "code": "a"}
            for k, v in zip(("low", "high"), age, strict=True)
            if v is not None
        }
    if type_:
        ref["type"] = type_
    return ref


ROWS = [
    ("§4.1 sex-specific ALT: male first, woman gets hers", [rng(60, [MALE]), rng(25, [FEMALE])], 25),
    ("§4.1 SNOMED sex codes", [rng(60, [SNOMED_MALE]), rng(25, [SNOMED_FEMALE])], 25),
    ("§0 unrestricted first, the woman's own range wins", [rng(60), rng(25, [FEMALE])], 25),
    ("§0 age band: adult 18-65 not child", [rng(80, age=(0, 17)), rng(35, age=(18, 65))], 35),
    ("§0 sex and age together", [rng(40, [FEMALE], age=(65, None)), rng(30, [FEMALE], age=(18, 64))], 30),
    ("A-12 none applies: none stored (engine falls back)", [rng(60, [MALE]), rng(80, age=(0, 17))], None),
    ("A-12 therapeutic range is not the normal one", [rng(200, type_=THERAPEUTIC), rng(33)], 33),
]


@pytest.mark.parametrize(("row_id", "ranges", "uln"), ROWS, ids=[r[0] for r in ROWS])
def test_the_range_that_applies_to_the_patient_is_stored(row_id, ranges, uln):
    resource = fb.observation("1742-6", 60, "U/L", referenceRange=ranges)

    message = import_fhir_text(fb.bundle(resource), clinic=default_clinic(), origin="test.json")

    assert message.status == InboundStatus.ACCEPTED, message.reason
    assert LabResult.objects.get().ref_high == uln
