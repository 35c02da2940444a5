"""Small builders of FHIR R4 JSON for the import tests."""

import json

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
PATIENT_URL = "urn:uuid:00000000-0000-4000-8000-00000000000a"
SUBJECT = {"reference": PATIENT_URL}


def patient(mrn="MAP-1", **extra) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "value": mrn,
            }
        ],
        "name": [{"use": "official", "family": "Map", "given": ["Mary", "Ann"]}],
        "gender": "female",
        "birthDate": "1980-05-17",
    }
    resource.update(extra)
    return resource


def bundle(*resources, kind="collection", with_patient=True, patient_resource=None) -> str:
    entries = [{"fullUrl": PATIENT_URL, "resource": patient_resource or patient()}] if with_patient else []
    entries += [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{n:012d}", "resource": resource}
        for n, resource in enumerate(resources, start=100)
    ]
    if kind in ("transaction", "batch"):
        for entry in entries:
            entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries})


def quantity(value, unit, comparator=None) -> dict:
    q = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if comparator:
        q["comparator"] = comparator
    return q


def observation(loinc="1742-6", value=88, unit="U/L", when="2025-03-01T08:00:00Z", **extra) -> dict:
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": SUBJECT,
        "effectiveDateTime": when,
    }
    if value is not None:
        resource["valueQuantity"] = quantity(value, unit)
    resource.update(extra)
    return {k: v for k, v in resource.items() if v is not None}


def dosage(mg, unit="mg", frequency=1, period=1, period_unit="d", **extra) -> dict:
    d = {
        "timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": period_unit}},
        "doseAndRate": [{"doseQuantity": quantity(mg, unit)}],
    }
    d.update(extra)
    return d


def statement(rxnorm="8638", name=None, dosages=None, start="2025-01-06", end=None, **extra) -> dict:
    concept = {"coding": [{"system": RXNORM, "code": rxnorm}]} if rxnorm else {}
    if name:
        concept["text"] = name
    period = {"start": start}
    if end:
        period["end"] = end
    resource = {
        "resourceType": "MedicationStatement",
        "status": "active" if not end else "completed",
        "medicationCodeableConcept": concept,
        "subject": SUBJECT,
        "effectivePeriod": period,
        "dosage": dosages if dosages is not None else [dosage(20)],
    }
    resource.update(extra)
    return resource


def condition(snomed, onset="2024-01-10", abatement=None, **extra) -> dict:
    resource = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": SNOMED, "code": snomed}]},
        "subject": SUBJECT,
    }
    if onset:
        resource["onsetDateTime"] = onset
    if abatement:
        resource["abatementDateTime"] = abatement
    resource.update(extra)
    return resource


def procedure(snomed, performed="2024-02-01", **extra) -> dict:
    resource = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": {"coding": [{"system": SNOMED, "code": snomed}]},
        "subject": SUBJECT,
        "performedDateTime": performed,
    }
    resource.update(extra)
    return resource
