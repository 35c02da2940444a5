"""FHIR R4 export of one patient: a `collection` Bundle, validated by parsing it back (R4B models).

What goes out: Patient; lab results and body weights as Observations (canonical value and unit,
the lab's range, status, and an identifier so a re-import recognises them); one
MedicationStatement per course with one dosage per dose change (timing bounds = the dates the
dose was in force); Conditions for AIH (diagnosis date), cirrhosis (with its basis) and
pregnancies; Procedures for DEXA scans and liver biopsies; unresolved alerts as Flags (rule id,
severity, message). `monitoring.interop.fhir` reads all of it back except the Flags: alerts are
re-derived by the engine from the data, which gives the same open rules (round-trip test).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from monitoring.interop import fhir_codes as codes
from monitoring.models import Alert, LabResult
from patients.models import (
    AcuteSevereEpisode,
    DexaScan,
    HepatitisImmunity,
    LiverBiopsy,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    PregnancyKind,
    Vaccination,
    WeightMeasurement,
)
from regimens.models import MedicationCourse

# Stable urn:uuid ids: the same row exports under the same id every time.
_NAMESPACE = uuid.UUID("0b5c6f0e-7a41-4d5e-9f3a-2f3c1a9e7d10")


def _urn(kind: str, *parts: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join([kind, *map(str, parts)]))}"


def _coding(system: str, code: str, display: str = "") -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(*codings: dict, text: str = "") -> dict:
    concept: dict = {"coding": list(codings)}
    if text:
        concept["text"] = text
    return concept


def _quantity(value: float, unit: str) -> dict:
    quantity = {"value": round(value, 6), "unit": unit}
    if unit and " " not in unit:
        quantity.update(system=codes.UCUM, code=unit)
    return quantity


def export_patient(patient: Patient) -> dict:
    """The patient's Bundle as JSON data, checked against the R4 models before it is returned."""
    patient_url = _urn("patient", patient.clinic_id, patient.mrn)
    subject = {"reference": patient_url, "display": patient.full_name}
    resources: list[tuple[str, dict]] = [(patient_url, _patient(patient))]
    resources += _labs(patient, subject)
    resources += _weights(patient, subject)
    resources += _courses(patient, subject)
    resources += _conditions(patient, subject)
    resources += _procedures(patient, subject)
    resources += _safety_records(patient, subject)
    resources += _flags(patient, subject)
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in resources],
    }
    # Parse it back: an invalid resource raises here, never reaches a file.
    return json.loads(Bundle.model_validate(bundle).model_dump_json(exclude_none=True))


def export_patient_json(patient: Patient) -> str:
    return json.dumps(export_patient(patient), indent=2, ensure_ascii=False)


def _patient(patient: Patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "identifier": [
            {
                "use": "usual",
                "type": _concept(_coding(codes.V2_0203, "MR", "Medical record number")),
                "system": f"{codes.OUR_MRN}:{patient.clinic.slug}",
                "value": patient.mrn,
            }
        ],
        "active": patient.status == "active",
        "name": [{"use": "official", "family": patient.family_name, "given": patient.given_name.split()}],
        "gender": patient.sex,
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.status == "deceased":
        resource["deceasedBoolean"] = True
    return resource


def _labs(patient: Patient, subject: dict) -> list[tuple[str, dict]]:
    out = []
    status = {"final": "final", "preliminary": "preliminary", "corrected": "corrected"}
    for lab in LabResult.objects.filter(patient=patient).select_related("analyte").order_by("collected_at", "pk"):
        analyte = lab.analyte
        coding = (
            _coding(codes.LOINC, analyte.loinc, analyte.name)
            if analyte.loinc
            else _coding(codes.OUR_ANALYTE, analyte.code, analyte.name)
        )
        identifier = (
            {"system": f"{codes.OUR_LAB_SOURCE}:{lab.source}", "value": lab.source_id}
            if lab.source_id
            else {"system": f"{codes.OUR_LAB_SOURCE}:{lab.source}:row", "value": str(lab.pk)}
        )
        resource = {
            "resourceType": "Observation",
            "identifier": [identifier],
            "status": status[lab.status],
            "category": [_concept(_coding(codes.OBSERVATION_CATEGORY, "laboratory", "Laboratory"))],
            "code": _concept(coding, text=analyte.name),
            "subject": subject,
            "effectiveDateTime": lab.collected_at.isoformat(),
            "valueQuantity": _quantity(lab.value, analyte.canonical_unit),
        }
        if lab.ref_low is not None or lab.ref_high is not None:
            limits = {}
            if lab.ref_low is not None:
                limits["low"] = _quantity(lab.ref_low, analyte.canonical_unit)
            if lab.ref_high is not None:
                limits["high"] = _quantity(lab.ref_high, analyte.canonical_unit)
            resource["referenceRange"] = [limits]
        out.append((_urn("lab", lab.pk), resource))
    return out


def _weights(patient: Patient, subject: dict) -> list[tuple[str, dict]]:
    return [
        (
            _urn("weight", weight.pk),
            {
                "resourceType": "Observation",
                "status": "final",
                "category": [_concept(_coding(codes.OBSERVATION_CATEGORY, "vital-signs", "Vital Signs"))],
                "code": _concept(_coding(codes.LOINC, codes.BODY_WEIGHT_LOINC, "Body weight"), text="Body weight"),
                "subject": subject,
                "effectiveDateTime": weight.measured_on.isoformat(),
                "valueQuantity": _quantity(weight.weight_kg, "kg"),
            },
        )
        for weight in WeightMeasurement.objects.filter(patient=patient).order_by("measured_on", "pk")
    ]


def _courses(patient: Patient, subject: dict) -> list[tuple[str, dict]]:
    out = []
    courses = MedicationCourse.objects.filter(patient=patient).select_related("drug").prefetch_related("dose_changes")
    for course in courses.order_by("started_on", "pk"):
        drug = course.drug
        if drug.rxnorm:
            coding = _coding(codes.RXNORM, drug.rxnorm, drug.name)
        else:
            coding = _coding(codes.OUR_DRUG, drug.code, drug.name)
        changes = sorted(course.dose_changes.all(), key=lambda change: change.effective_on)
        dosages = []
        for number, change in enumerate(changes):
            bounds = {"start": change.effective_on.isoformat()}
            following = changes[number + 1].effective_on - timedelta(days=1) if number + 1 < len(changes) else None
            end = following or course.stopped_on
            if end is not None and end >= change.effective_on:
                bounds["end"] = end.isoformat()
            dosage = {
                "sequence": number + 1,
                "timing": {"repeat": {"boundsPeriod": bounds, "frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": _quantity(change.dose_mg_per_day, "mg")}],
            }
            if change.schedule:
                dosage["text"] = change.schedule
            dosages.append(dosage)
        period = {"start": course.started_on.isoformat()}
        if course.stopped_on:
            period["end"] = course.stopped_on.isoformat()
        resource = {
            "resourceType": "MedicationStatement",
            "status": "completed" if course.stopped_on else "active",
            "medicationCodeableConcept": _concept(coding, text=drug.name),
            "subject": subject,
            "effectivePeriod": period,
        }
        if dosages:
            resource["dosage"] = dosages
        if course.stop_reason:
            resource["statusReason"] = [
                _concept(
                    _coding(codes.OUR_STOP_REASON, course.stop_reason, course.get_stop_reason_display()),
                    text=course.stop_note or course.get_stop_reason_display(),
                )
            ]
        out.append((_urn("course", course.pk), resource))
    return out


def _condition(subject: dict, code: str, onset, abatement=None, evidence: dict | None = None) -> dict:
    resource = {
        "resourceType": "Condition",
        "clinicalStatus": _concept(_coding(codes.CONDITION_CLINICAL, "resolved" if abatement else "active")),
        "verificationStatus": _concept(_coding(codes.CONDITION_VERIFICATION, "confirmed")),
        "code": _concept(_coding(codes.SNOMED, code, codes.CONDITION_NAMES[code]), text=codes.CONDITION_NAMES[code]),
        "subject": subject,
        "onsetDateTime": onset.isoformat(),
    }
    if abatement:
        resource["abatementDateTime"] = abatement.isoformat()
    if evidence:
        resource["evidence"] = [{"code": [evidence]}]
    return resource


def _conditions(patient: Patient, subject: dict) -> list[tuple[str, dict]]:
    out = []
    if patient.diagnosis_date:
        out.append((_urn("aih", patient.pk), _condition(subject, codes.AIH_SNOMED, patient.diagnosis_date)))
    if patient.cirrhosis_diagnosed_on:
        basis = _concept(
            _coding(codes.OUR_CIRRHOSIS_BASIS, patient.cirrhosis_basis, patient.get_cirrhosis_basis_display())
        )
        out.append(
            (
                _urn("cirrhosis", patient.pk),
                _condition(subject, codes.CIRRHOSIS_SNOMED, patient.cirrhosis_diagnosed_on, evidence=basis),
            )
        )
    pregnancies = PregnancyEpisode.objects.filter(patient=patient, kind=PregnancyKind.PREGNANT).order_by("started_on")
    for episode in pregnancies:
        condition = _condition(subject, codes.PREGNANCY_SNOMED, episode.started_on, episode.ended_on)
        out.append((_urn("pregnancy", episode.pk), condition))
    return out


def _procedure(subject: dict, code: str, on) -> dict:
    name = codes.PROCEDURE_NAMES[code]
    return {
        "resourceType": "Procedure",
        "status": "completed",
        "code": _concept(_coding(codes.SNOMED, code, name), text=name),
        "subject": subject,
        "performedDateTime": on.isoformat(),
    }


def _procedures(patient: Patient, subject: dict) -> list[tuple[str, dict]]:
    scans = [
        (_urn("dexa", scan.pk), _procedure(subject, codes.DEXA_SNOMED, scan.scanned_on))
        for scan in DexaScan.objects.filter(patient=patient).order_by("scanned_on")
    ]
    biopsies = [
        (_urn("biopsy", biopsy.pk), _procedure(subject, codes.LIVER_BIOPSY_SNOMED, biopsy.performed_on))
        for biopsy in LiverBiopsy.objects.filter(patient=patient).order_by("performed_on")
    ]
    return scans + biopsies


def _safety_records(patient: Patient, subject: dict) -> list[tuple[str, dict]]:
    """TPMT / NUDT15, hepatitis immunity, vaccinations, acute severe episodes (the thiopurine,
    vaccination and acute-severe rules need them; without them a round trip raises other alerts)."""
    out = []
    for test in PharmacogeneticTest.objects.filter(patient=patient).order_by("tested_on", "pk"):
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "category": [_concept(_coding(codes.OBSERVATION_CATEGORY, "laboratory", "Laboratory"))],
            "code": _concept(_coding(codes.OUR_PHARMACOGENETICS, test.gene, test.get_gene_display())),
            "subject": subject,
            "effectiveDateTime": test.tested_on.isoformat(),
            "valueCodeableConcept": _concept(
                _coding(codes.OUR_PHENOTYPE, test.phenotype, test.get_phenotype_display()),
                text=test.get_phenotype_display(),
            ),
        }
        components = []
        if test.activity is not None:
            activity = {"value": test.activity, "unit": test.activity_unit}
            components.append({"code": _concept(_coding(codes.OUR_PGX_PART, "activity")), "valueQuantity": activity})
            if test.deficiency_cutoff is not None:
                low = {"value": test.deficiency_cutoff, "unit": test.activity_unit}
                resource["referenceRange"] = [{"low": low, "text": "deficient below"}]
        if test.genotype:
            components.append({"code": _concept(_coding(codes.OUR_PGX_PART, "genotype")), "valueString": test.genotype})
        if components:
            resource["component"] = components
        out.append((_urn("pgx", test.pk), resource))
    for result in HepatitisImmunity.objects.filter(patient=patient).order_by("tested_on", "pk"):
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "code": _concept(_coding(codes.OUR_IMMUNITY, result.virus, result.get_virus_display())),
            "subject": subject,
            "effectiveDateTime": result.tested_on.isoformat(),
            "valueCodeableConcept": _concept(
                _coding(codes.OUR_IMMUNITY_STATUS, result.status, result.get_status_display()),
                text=result.get_status_display(),
            ),
        }
        out.append((_urn("immunity", result.pk), resource))
    for shot in Vaccination.objects.filter(patient=patient).order_by("given_on", "pk"):
        resource = {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": _concept(
                _coding(codes.CVX, codes.CVX_FOR_VACCINE[shot.vaccine], shot.get_vaccine_display()),
                text=shot.get_vaccine_display(),
            ),
            "patient": subject,
            "occurrenceDateTime": shot.given_on.isoformat(),
            "protocolApplied": [{"doseNumberPositiveInt": shot.dose_number}],
        }
        out.append((_urn("vaccination", shot.pk), resource))
    for episode in AcuteSevereEpisode.objects.filter(patient=patient).order_by("presented_on", "pk"):
        resource = _condition(subject, codes.AIH_SNOMED, episode.presented_on, episode.ended_on)
        resource["code"] = _concept(
            _coding(codes.OUR_CONDITION, codes.ACUTE_SEVERE, "Acute severe autoimmune hepatitis"),
            _coding(codes.SNOMED, codes.AIH_SNOMED, codes.CONDITION_NAMES[codes.AIH_SNOMED]),
            text="Acute severe autoimmune hepatitis",
        )
        extensions = [{"url": codes.ENCEPHALOPATHY_URL, "valueBoolean": episode.hepatic_encephalopathy}]
        if episode.steroid_day0:
            extensions.append({"url": codes.STEROID_DAY0_URL, "valueDate": episode.steroid_day0.isoformat()})
        resource["extension"] = extensions
        out.append((_urn("acute", episode.pk), resource))
    return out


def _flags(patient: Patient, subject: dict) -> list[tuple[str, dict]]:
    out = []
    for alert in Alert.objects.filter(patient=patient).unresolved().order_by("rule_id", "episode"):
        out.append(
            (
                _urn("alert", alert.pk),
                {
                    "resourceType": "Flag",
                    "status": "active",
                    "category": [_concept(_coding(codes.FLAG_CATEGORY, "clinical", "Clinical"))],
                    "code": _concept(
                        _coding(codes.OUR_RULE, alert.rule_id, alert.get_severity_display()),
                        text=f"{alert.rule_id} ({alert.get_severity_display()}): {alert.message}",
                    ),
                    "subject": subject,
                    "period": {"start": alert.opened_at.isoformat()},
                },
            )
        )
    return out
