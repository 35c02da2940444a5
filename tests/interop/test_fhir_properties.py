"""Property-based: mangled FHIR bundles never raise, never half-import, and always either import
whole or go to the quarantine with a reason (never with an "unexpected error": that is a bug)."""

import copy
import json

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from monitoring.interop.fhir import import_fhir_text
from monitoring.models import InboundMessage, InboundStatus, LabResult
from patients.models import DexaScan, LiverBiopsy, Patient, PregnancyEpisode, WeightMeasurement
from regimens.models import DoseChange, MedicationCourse
from tests import fhir_builders as fb
from tests.factories import default_clinic

pytestmark = pytest.mark.django_db

BASE = json.loads(
    fb.bundle(
        fb.observation("1742-6", 88, "U/L", referenceRange=[{"high": fb.quantity(40, "U/L")}]),
        fb.observation("1975-2", 2.1, "mg/dL", when="2025-03-01T08:00:00+02:00"),
        fb.observation("29463-7", 64.5, "kg", when="2025-03-01"),
        fb.statement(
            dosages=[
                fb.dosage(
                    40,
                    timing={
                        "repeat": {
                            "frequency": 1,
                            "period": 1,
                            "periodUnit": "d",
                            "boundsPeriod": {"start": "2025-01-06"},
                        }
                    },
                ),
                fb.dosage(
                    20,
                    timing={
                        "repeat": {
                            "frequency": 1,
                            "period": 1,
                            "periodUnit": "d",
                            "boundsPeriod": {"start": "2025-02-03"},
                        }
                    },
                ),
            ],
            end="2025-04-01",
        ),
        fb.condition("408335007", onset="2024-12-20"),
        fb.condition("77386006", onset="2023-01-01", abatement="2023-09-30"),
        fb.procedure("312681000"),
        fb.procedure("86259008", performed="2024-12-22"),
        {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}},
        kind="transaction",
    )
)

TRICKY = st.sampled_from(
    [
        "",
        "mmol/L",
        "mg/dL",
        "{tbl}",
        "2099-01-01",
        "1900-01-01",
        "2025-02-30",
        "Patient/nowhere",
        "urn:uuid:00000000-0000-4000-8000-00000000000a",
        "Observation",
        "Bundle",
        -1,
        0,
        1e308,
        [],
        {},
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | TRICKY,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _paths(node, prefix=()):
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _parent(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def mangled_bundles(draw) -> str:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        operation = draw(st.sampled_from(["delete", "replace", "duplicate entry"]))
        if operation == "delete":
            del parent[key]
        elif operation == "replace":
            parent[key] = draw(JSON)
        elif isinstance(doc.get("entry"), list) and doc["entry"]:
            doc["entry"].append(copy.deepcopy(draw(st.sampled_from(doc["entry"]))))
    text = json.dumps(doc)
    if draw(st.integers(0, 9)) == 0:
        text = text[: draw(st.integers(0, len(text)))]  # a file cut short
    return text


def clinical_rows() -> dict[str, int]:
    models = [
        Patient,
        LabResult,
        WeightMeasurement,
        MedicationCourse,
        DoseChange,
        PregnancyEpisode,
        DexaScan,
        LiverBiopsy,
    ]
    return {model.__name__: model.objects.count() for model in models}


def resource_entries(text: str) -> int | None:
    """How many resources the file holds, if it is a readable Bundle."""
    try:
        doc = json.loads(text)
        if doc["resourceType"] != "Bundle":
            return 1
        return sum(1 for entry in doc["entry"] if isinstance(entry, dict) and "resource" in entry)
    except (ValueError, TypeError, KeyError):
        return None


class _Rollback(Exception):
    pass


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(text=mangled_bundles())
def test_a_mangled_bundle_is_imported_whole_or_quarantined_with_nothing_stored(text):
    try:
        with transaction.atomic():  # each example starts from the same empty database
            before = clinical_rows()
            message = import_fhir_text(text, clinic=default_clinic(), origin="mangled.json")

            assert message.status in (InboundStatus.ACCEPTED, InboundStatus.QUARANTINED)
            event(f"{message.status}: {message.items[0]['kind'] if message.status == 'quarantined' else 'ok'}")
            assert InboundMessage.objects.get(pk=message.pk).raw == text.lstrip("\ufeff")
            if message.status == InboundStatus.QUARANTINED:
                assert message.reason
                assert all(item["kind"] != "error" for item in message.items), message.reason
                assert clinical_rows() == before  # never half-imported
            else:
                entries = resource_entries(text)
                # Every resource is accounted for: created, updated, unchanged or skipped, once.
                assert len(message.items) == sum(message.counts.values())
                if entries is not None:
                    assert sum(message.counts.values()) == entries
            raise _Rollback
    except _Rollback:
        pass


def test_the_unmangled_base_bundle_imports_every_resource():
    message = import_fhir_text(json.dumps(BASE), clinic=default_clinic())

    assert message.status == InboundStatus.ACCEPTED, message.reason
    assert message.counts == {"created": 8, "updated": 1, "unchanged": 0, "skipped": 1}  # AIH updates the patient
    assert clinical_rows() == {
        "Patient": 1,
        "LabResult": 2,
        "WeightMeasurement": 1,
        "MedicationCourse": 1,
        "DoseChange": 2,
        "PregnancyEpisode": 1,
        "DexaScan": 1,
        "LiverBiopsy": 1,
    }
