"""An impossible reference range is refused at every entry path (issue 14): the visit form says so next to
the range, HL7 and FHIR quarantine the message with the reason and store nothing, the admin refuses the
lab result or the clinic's reference interval. A 0 ULN already stored no longer breaks evaluation.

clinical-rules.md §0 ("ULNs are lab-specific ... the engine must store the ULN"), A-12 ("Normal": value ≤ the
ULN; no ULN: the clinic's interval, else the typical value of §4.1): a ULN of 0 or below the lower limit
cannot define "normal", and an ALT ULN of 100000 U/L (§4.1: ULN often 33-56 U/L) would silence every rule.
"""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from aih_tracker.models import Clinic
from monitoring.evaluation import evaluate_patients
from monitoring.interop.fhir import import_fhir_text
from monitoring.interop.hl7 import import_message
from monitoring.interop.hl7_build import Obx, build_oru
from monitoring.models import InboundStatus, LabResult, ReferenceInterval
from patients.models import Patient
from tests import fhir_builders as fb
from tests.factories import LabResultFactory, PatientFactory, analyte, default_clinic
from tests.patients.test_visit_log import ALT, post, staff, visit_data  # noqa: F401 (staff: a fixture)
from tests.test_evaluation import insufficient_responder

pytestmark = pytest.mark.django_db

WHEN = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)

# (id citing the spec, low, high, as HL7 OBX-7 writes it, what the reason says)
BAD_RANGES = [
    ("0-0: A-12 has no normal below a ULN of 0", 0, 0, "0-0", "the upper limit must be above 0"),
    ("5-3: §0 ULN below the lower limit", 5, 3, "5-3", "the upper limit must be above the lower limit"),
    ("ULN -1: §0 a ULN is a concentration", None, -1, "<-1", "must be above 0"),
    ("ULN 0: A-12 has no normal below 0", None, 0, "<0", "the upper limit must be above 0"),
    ("ALT ULN 100000: §4.1 ALT ULN 33-56 U/L", 0, 100000, "0-100000", "plausibly"),
]
IDS = [row[0] for row in BAD_RANGES]


@pytest.mark.parametrize(("row_id", "low", "high", "obx7", "why"), BAD_RANGES, ids=IDS)
def test_hl7_quarantines_an_impossible_range_with_the_reason_and_stores_nothing(row_id, low, high, obx7, why):
    PatientFactory(mrn="M1")
    results = [Obx("1742-6", "300", "U/L", obx7), Obx("1920-8", "48", "U/L", "0-40")]
    message = import_message(
        build_oru(mrn="M1", control_id="C1", results=results, collected_at=WHEN), clinic=default_clinic()
    )

    assert message.status == InboundStatus.QUARANTINED
    [problem] = message.items
    assert "ALT" in problem["detail"] and ("OBX-7" in problem["detail"] or "not understood" in problem["detail"])
    if row_id != IDS[2]:  # OBX-7 has no sign: '<-1' is not understood, which also quarantines it
        assert why in problem["detail"] and "impossible for ALT" in problem["detail"]
    assert not LabResult.objects.exists()  # the AST of the same message is not half-imported


@pytest.mark.parametrize(("row_id", "low", "high", "obx7", "why"), BAD_RANGES, ids=IDS)
def test_fhir_quarantines_an_impossible_range_with_the_reason_and_stores_nothing(row_id, low, high, obx7, why):
    resource = fb.observation("1742-6", 300, "U/L")
    resource["referenceRange"] = [
        {k: fb.quantity(v, "U/L") for k, v in (("low", low), ("high", high)) if v is not None}
    ]

    message = import_fhir_text(fb.bundle(resource), clinic=default_clinic(), origin="test.json")

    assert message.status == InboundStatus.QUARANTINED
    [problem] = message.items
    assert why in problem["detail"] and "impossible for ALT" in problem["detail"]
    assert not Patient.objects.exists() and not LabResult.objects.exists()


@pytest.mark.parametrize(("row_id", "low", "high", "obx7", "why"), BAD_RANGES, ids=IDS)
def test_the_visit_form_says_so_next_to_the_range_and_keeps_what_was_typed(staff, row_id, low, high, obx7, why):  # noqa: F811
    patient = PatientFactory(sex="female", date_of_birth=date(1980, 5, 17))
    typed = {"value": "300", "ref_low": "" if low is None else str(low), "ref_high": str(high)}

    response = post(staff, patient, visit_data({ALT: typed}))

    assert response.status_code == 200 and not LabResult.objects.exists()
    page = response.content.decode()
    start = page.index(f'id="id_labs-{ALT}-ref_high_error"')  # next to the range field
    assert why in page[start : start + 400] and "impossible for ALT" in page[start : start + 400]
    assert f'name="labs-{ALT}-ref_high" value="{high}"' in page  # what was typed is kept


@pytest.mark.parametrize(("row_id", "low", "high", "obx7", "why"), BAD_RANGES, ids=IDS)
def test_the_admin_refuses_a_lab_result_with_an_impossible_range(row_id, low, high, obx7, why):
    result = LabResultFactory.build(patient=PatientFactory(), value=300, ref_low=low, ref_high=high)

    with pytest.raises(ValidationError) as error:
        result.full_clean()

    assert why in " ".join(error.value.message_dict["ref_high"])


@pytest.mark.parametrize(("row_id", "low", "high", "obx7", "why"), BAD_RANGES, ids=IDS)
def test_the_clinics_reference_intervals_refuse_an_impossible_range(row_id, low, high, obx7, why):
    interval = ReferenceInterval(clinic=Clinic.default(), analyte=analyte("alt"), sex="female", low=low, high=high)

    with pytest.raises(ValidationError) as error:
        interval.full_clean()

    assert why in " ".join(error.value.message_dict["high"])


def test_a_plausible_lab_range_is_still_accepted_everywhere():
    # §4.1: ACG 2017's female ALT ULN 25 U/L and a lab's 56 U/L are both real ranges.
    for low, high in ((0, 25), (None, 56), (7, 56)):
        LabResultFactory.build(patient=PatientFactory(), value=30, ref_low=low, ref_high=high).full_clean()
        ReferenceInterval(clinic=Clinic.default(), analyte=analyte("alt"), sex="any", low=low, high=high).full_clean()


def test_a_zero_uln_already_stored_falls_back_and_evaluation_still_runs():
    # Stored before the check existed (bulk_create skips clean): treated as no ULN, so A-12 falls back to
    # the typical ALT ULN 40 U/L (§4.1) and the month-6 ALT 90 U/L is 2.25 × ULN (RESP-02 insufficient).
    patient = insufficient_responder(mrn="ZERO-ULN")
    LabResult.objects.filter(patient=patient, analyte__code="alt").update(ref_low=0, ref_high=0)

    evaluations, _ = evaluate_patients([patient.pk], date(2025, 7, 10))  # raised ZeroDivisionError before

    [evaluation] = evaluations
    alts = [item for f in evaluation.findings for item in _labs(f.evidence) if item["test"] == "ALT"]
    assert alts and all(item["uln"] == 40 and item["range_source"] == "typical" for item in alts)


def _labs(value):
    if isinstance(value, dict):
        if "test" in value and "value" in value:
            yield value
        else:
            for item in value.values():
                yield from _labs(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _labs(item)
