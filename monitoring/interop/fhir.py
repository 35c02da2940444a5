"""FHIR R4 import: Bundles (collection, transaction, batch) and single resources.

One file is one inbound message (monitoring/interop/quarantine.py): its text is stored first,
then `process_message` maps every resource inside one transaction. **Atomic per file**: if any
resource the clinic needs cannot be mapped (unknown patient, a followed lab with an unusable
value or unit, a followed drug without a usable dose, a followed condition without a date, a
resource that fails R4 validation), nothing of the file is stored and the whole file waits in
quarantine with one reason per resource; staff fix the cause and reprocess it. Resources the
clinic does not follow (Encounter, Claim, cholesterol, paracetamol, bronchitis ...) are
*skipped* and listed, never quarantined: a Synthea bundle is mostly such resources.

Idempotent: a result already stored (same source id, or same analyte, time and value), a
course already known (same drug and start date), an event on the same date creates nothing.
Alerts are not imported: `Flag` resources are skipped because the engine re-derives alerts
from the imported data (the evaluation is queued on commit, as for any other data).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as PydanticValidationError

from monitoring.catalogue import normalise_unit_spelling
from monitoring.changes import enqueue_evaluation
from monitoring.interop import fhir_codes as codes
from monitoring.interop import results
from monitoring.interop.bulk import FileTooLarge, file_text, quarantine_too_large
from monitoring.interop.quarantine import Problem, ProblemKind, Rejected, hash_key, process_inbound, receive
from monitoring.labs.services import LabValue, convert_lab_value, record_lab_result
from monitoring.models import (
    Analyte,
    InboundKind,
    InboundMessage,
    InboundStatus,
    LabResult,
    LabSource,
    LocalCode,
    ResultStatus,
)
from patients.models import (
    AcuteSevereEpisode,
    CirrhosisBasis,
    DexaScan,
    Gene,
    HepatitisImmunity,
    ImmunityStatus,
    LiverBiopsy,
    MetaboliserPhenotype,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    PregnancyKind,
    Sex,
    Vaccination,
    Vaccine,
    Virus,
    WeightMeasurement,
)
from regimens.models import DoseChange, Drug, MedicationCourse, StopReason

BUNDLE_TYPES = ("collection", "transaction", "batch")
MRN_MAX = Patient._meta.get_field("mrn").max_length

# Resource types imported, in the order they are processed (patients first: others refer to them).
IMPORTED_TYPES = (
    "Patient",
    "Condition",
    "Procedure",
    "Immunization",
    "MedicationStatement",
    "MedicationRequest",
    "Observation",
)

SKIP_REASONS = {
    "Flag": "alerts are not imported: the monitoring engine re-derives them from the imported data",
    "DetectedIssue": "alerts are not imported: the monitoring engine re-derives them from the imported data",
    "Medication": "read only where a medication statement or request refers to it",
    "DiagnosticReport": "its Observations are imported one by one",
}

CREATED, UPDATED, UNCHANGED, SKIPPED = "created", "updated", "unchanged", "skipped"


@dataclass
class Outcome:
    where: str
    result: str  # created / updated / unchanged / skipped
    detail: str

    def as_dict(self) -> dict:
        return {"where": self.where, "result": self.result, "detail": self.detail}


class Unmappable(Exception):
    """One resource cannot be imported: the problem goes to the quarantine with the file."""

    def __init__(self, kind: str, detail: str, **extra: str):
        self.kind, self.detail, self.extra = kind, detail, extra
        super().__init__(detail)


@dataclass
class ImportContext:
    clinic: Any
    chosen_patient: Patient | None = None  # picked by staff on the review page
    index: dict[str, dict] = field(default_factory=dict)  # fullUrl / "Type/id" -> resource JSON
    patients: dict[str, Patient] = field(default_factory=dict)  # reference -> imported patient
    failed_patients: set[str] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# -- entry points ----------------------------------------------------------------------------------


def import_fhir_text(text: str, *, clinic, origin: str = "", user=None) -> InboundMessage:
    """Store a FHIR JSON file as an inbound message, then import it (or quarantine it)."""
    text = text.lstrip("\ufeff")
    message = receive(clinic=clinic, kind=InboundKind.FHIR, raw=text, dedupe_key=hash_key(text), origin=origin)
    if message.status == InboundStatus.DUPLICATE:
        if message.duplicate_of.status == InboundStatus.RECEIVED:  # stored, then the process died
            process_inbound(message.duplicate_of, user=user)
        return message
    return process_inbound(message, user=user)


def import_fhir_file(path, *, clinic, origin: str = "", user=None) -> InboundMessage:
    """A .json (or gzipped) file from disk; whatever cannot be read goes to the quarantine too."""
    from pathlib import Path

    path = Path(path)
    origin = origin or path.name
    try:
        text = file_text(path.name, path.read_bytes())
    except FileTooLarge as error:
        return quarantine_too_large(clinic, InboundKind.FHIR, error, origin=origin)
    return import_fhir_text(text, clinic=clinic, origin=origin, user=user)


def process_message(message: InboundMessage) -> dict[str, int]:
    """The FHIR processor for `process_inbound`: import every resource, or raise Rejected."""
    token = _CATALOGUE.set({})
    try:
        return _process(message)
    finally:
        _CATALOGUE.reset(token)


def _process(message: InboundMessage) -> dict[str, int]:
    entries = _entries(message.raw)
    context = ImportContext(clinic=message.clinic, chosen_patient=message.patient)
    for _where, full_url, resource in entries:
        for key in _keys(full_url, resource):
            context.index[key] = resource
    order = {name: position for position, name in enumerate(IMPORTED_TYPES)}
    ordered = sorted(entries, key=lambda e: order.get(e[2].get("resourceType"), len(order)))
    for where, full_url, resource in ordered:
        _import_resource(context, where, full_url, resource)
    if context.problems:
        raise Rejected(context.problems)
    for patient_id in context.touched:
        enqueue_evaluation(patient_id)
    patients = {p.pk: p for p in context.patients.values()}
    if len(patients) == 1 and message.patient_id is None:
        message.patient = next(iter(patients.values()))
    message.items = [o.as_dict() for o in context.outcomes]
    counts = dict.fromkeys((CREATED, UPDATED, UNCHANGED, SKIPPED), 0)
    for outcome in context.outcomes:
        counts[outcome.result] += 1
    return counts


def _entries(raw: str) -> list[tuple[str, str, dict]]:
    """(where, fullUrl, resource JSON) for a Bundle's entries or a single resource."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise Rejected([Problem(ProblemKind.MALFORMED, f"Not JSON: {error}")]) from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise Rejected([Problem(ProblemKind.MALFORMED, "Not a FHIR resource: no resourceType.")])
    if data["resourceType"] != "Bundle":
        if not _is_fhir_type(data["resourceType"]):
            raise Rejected(
                [Problem(ProblemKind.MALFORMED, f"'{data['resourceType'][:60]}' is not a FHIR resource type.")]
            )
        return [(_label(data), "", data)]
    if data.get("type") not in BUNDLE_TYPES:
        raise Rejected(
            [
                Problem(
                    ProblemKind.UNSUPPORTED,
                    f"Bundle type '{data.get('type')}' is not imported (only {', '.join(BUNDLE_TYPES)}).",
                )
            ]
        )
    entries, problems = [], []
    raw_entries = data.get("entry") or []
    if not isinstance(raw_entries, list):
        raise Rejected([Problem(ProblemKind.MALFORMED, "Bundle.entry is not a list.")])
    for number, entry in enumerate(raw_entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            if isinstance(entry, dict) and "request" in entry and "resource" not in entry:
                continue  # a transaction DELETE / GET carries no resource: nothing to import
            problems.append(Problem(ProblemKind.MALFORMED, "Entry has no resource.", where=f"entry {number}"))
            continue
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else ""
        entries.append((f"entry {number} {_label(resource)}", full_url, resource))
    if problems:
        raise Rejected(problems)
    if not entries:
        raise Rejected([Problem(ProblemKind.MALFORMED, "The Bundle has no entries.")])
    return entries


def _is_fhir_type(name: str) -> bool:
    try:
        get_fhir_model_class(name)
    except (ValueError, KeyError, AttributeError, ImportError):
        return False
    return True


def _label(resource: dict) -> str:
    rid = resource.get("id")
    return f"{resource.get('resourceType')}/{rid}" if isinstance(rid, str) and rid else str(resource["resourceType"])


def _keys(full_url: str, resource: dict) -> list[str]:
    keys = [full_url] if full_url else []
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        keys.append(f"{resource['resourceType']}/{rid}")
        if full_url.endswith(f"/{resource['resourceType']}/{rid}"):
            keys.append(full_url)
    return keys


def _import_resource(context: ImportContext, where: str, full_url: str, resource: dict) -> None:
    kind = resource["resourceType"]
    mapper = MAPPERS.get(kind)
    if mapper is None and not _is_fhir_type(kind):
        context.problems.append(
            Problem(ProblemKind.MALFORMED, f"'{kind[:60]}' is not a FHIR resource type.", where=where)
        )
        return
    if mapper is None:
        reason = SKIP_REASONS.get(kind, f"{kind} resources are not imported")
        context.outcomes.append(Outcome(where, SKIPPED, reason))
        return
    try:
        model = get_fhir_model_class(kind).model_validate(resource)
    except (PydanticValidationError, ValueError, TypeError) as error:
        _fail_patient(context, kind, full_url, resource)
        context.problems.append(Problem(ProblemKind.MALFORMED, _validation_text(error), where=where))
        return
    try:
        result, detail = mapper(context, model, full_url)
    except Unmappable as problem:
        _fail_patient(context, kind, full_url, resource)
        context.problems.append(Problem(problem.kind, problem.detail, where=where, **problem.extra))
        return
    context.outcomes.append(Outcome(where, result, detail))


def _fail_patient(context: ImportContext, kind: str, full_url: str, resource: dict) -> None:
    if kind == "Patient":
        context.failed_patients.update(_keys(full_url, resource))


def _validation_text(error: Exception) -> str:
    if isinstance(error, PydanticValidationError):
        first = error.errors()[0]
        place = ".".join(str(part) for part in first.get("loc", ()))
        return f"Not valid FHIR R4 ({error.error_count()} error(s)); first: {place}: {first.get('msg')}"[:500]
    return f"Not valid FHIR R4: {error}"[:500]


# -- shared helpers --------------------------------------------------------------------------------

_CATALOGUE: ContextVar[dict | None] = ContextVar("fhir_catalogue", default=None)


def _cached(key: str, load: Callable[[], Any]) -> Any:
    """The analyte and drug tables, read once per file (not once per resource)."""
    cache = _CATALOGUE.get()
    if cache is None:
        return load()
    if key not in cache:
        cache[key] = load()
    return cache[key]


def _codings(concept) -> list:
    return list(concept.coding or []) if concept is not None else []


def _codes(concept, system: str) -> list[str]:
    return [c.code for c in _codings(concept) if c.system == system and c.code]


def _concept_text(concept) -> str:
    if concept is None:
        return ""
    if concept.text:
        return concept.text
    for coding in _codings(concept):
        if coding.display or coding.code:
            return coding.display or coding.code
    return ""


def _as_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            return timezone.localtime(value).date()
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _as_datetime(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, time()))
    return None


def _number(value) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _patient(context: ImportContext, reference, what: str) -> Patient:
    """The patient a resource is about: in this file, known by MRN, or picked by staff."""
    ref = reference.reference if reference is not None else None
    if ref and ref in context.patients:
        return context.patients[ref]
    if ref and ref in context.failed_patients:
        raise Unmappable(ProblemKind.UNKNOWN_PATIENT, f"{what} is about {ref}, which could not be imported.")
    identifier = reference.identifier if reference is not None else None
    if identifier is not None and identifier.value:
        patient = Patient.objects.filter(clinic=context.clinic, mrn=identifier.value.strip()).first()
        if patient is not None:
            return patient
    if context.chosen_patient is not None:
        return context.chosen_patient
    who = ref or (identifier.value if identifier is not None and identifier.value else "no patient")
    raise Unmappable(
        ProblemKind.UNKNOWN_PATIENT,
        f"{what} is about {who}: not in this file and no patient of the clinic has that MRN.",
        mrn=identifier.value if identifier is not None and identifier.value else "",
    )


# -- Patient ---------------------------------------------------------------------------------------


def mrn_of(patient_resource) -> str:
    """The identifier typed MR (v2-0203), else the first identifier with a value."""
    identifiers = [i for i in (patient_resource.identifier or []) if i.value and i.value.strip()]
    for identifier in identifiers:
        if any(c.code == "MR" for c in _codings(identifier.type)):
            return identifier.value.strip()
    return identifiers[0].value.strip() if identifiers else ""


GENDERS = {"female": Sex.FEMALE, "male": Sex.MALE, "other": Sex.OTHER, "unknown": Sex.UNKNOWN}


def map_patient(context: ImportContext, resource, full_url: str) -> tuple[str, str]:
    mrn = mrn_of(resource)
    if not mrn:
        raise Unmappable(ProblemKind.MALFORMED, "Patient has no identifier to use as the MRN.")
    if len(mrn) > MRN_MAX:
        raise Unmappable(ProblemKind.MALFORMED, f"MRN '{mrn[:60]}' is longer than {MRN_MAX} characters.", mrn=mrn)
    keys = _keys(full_url, {"resourceType": "Patient", "id": resource.id})
    patient = Patient.objects.filter(clinic=context.clinic, mrn=mrn).first()
    if patient is not None:
        for key in keys:
            context.patients[key] = patient
        return UNCHANGED, f"patient {mrn} already registered"
    names = list(resource.name or [])
    name = next((n for n in names if n.use == "official"), names[0] if names else None)
    family = (name.family or "").strip() if name else ""
    given = " ".join(g.strip() for g in (name.given or []) if g and g.strip()) if name else ""
    if not family or not given:
        raise Unmappable(ProblemKind.MALFORMED, f"Patient {mrn} needs a family and a given name.", mrn=mrn)
    birth = _as_date(resource.birthDate)
    if birth is None:
        raise Unmappable(ProblemKind.MALFORMED, f"Patient {mrn} has no birth date.", mrn=mrn)
    if birth > timezone.localdate():
        raise Unmappable(ProblemKind.BAD_VALUE, f"Patient {mrn} is born in the future ({birth}).", mrn=mrn)
    patient = Patient(
        clinic=context.clinic,
        mrn=mrn,
        family_name=family[:100],
        given_name=given[:100],
        date_of_birth=birth,
        sex=GENDERS.get(resource.gender or "unknown", Sex.UNKNOWN),
    )
    patient.save()
    for key in keys:
        context.patients[key] = patient
    context.touched.add(patient.pk)
    return CREATED, f"patient {mrn} registered"


# -- Observation: labs and body weight ------------------------------------------------------------

OBSERVATION_STATUS = {
    "final": ResultStatus.FINAL,
    "amended": ResultStatus.CORRECTED,
    "corrected": ResultStatus.CORRECTED,
    "preliminary": ResultStatus.PRELIMINARY,
}


def _analyte_for(context: ImportContext, concept) -> tuple[Analyte | None, str, LocalCode | None]:
    """(analyte, why not, local code). The clinic's local code table first (it may map a code to
    another analyte, override the unit, or mark it not followed), then LOINC, then our own codes."""
    local_codes = _cached(f"local_codes:{context.clinic.pk}", lambda: _local_codes(context.clinic))
    for coding in _codings(concept):
        systems = [coding.system or "", V2_SYSTEM_NAMES.get(coding.system or "", ""), ""]
        local = next((local_codes[(s, coding.code)] for s in systems if (s, coding.code) in local_codes), None)
        if coding.code and local is not None:
            return local.analyte, "" if local.analyte else "not followed (clinic's local code table)", local
    for loinc in _codes(concept, codes.LOINC):
        for analyte in _analytes():
            if analyte.loinc == loinc or loinc in (analyte.other_loincs or []):
                return analyte, "", None
    for code in _codes(concept, codes.OUR_ANALYTE):
        analyte = next((a for a in _analytes() if a.code == code), None)
        if analyte is not None:
            return analyte, "", None
    return None, "", None


# HL7 v2 names of the coding systems, as the local code table may hold them (OBX-3.3).
V2_SYSTEM_NAMES = {codes.LOINC: "LN", codes.SNOMED: "SCT"}


def _local_codes(clinic) -> dict[tuple[str, str], LocalCode]:
    rows = LocalCode.objects.filter(clinic=clinic).select_related("analyte")
    return {(row.system, row.code): row for row in rows}


def _analytes() -> list[Analyte]:
    return _cached("analytes", lambda: list(Analyte.objects.all()))


def _effective(resource) -> datetime | None:
    period = getattr(resource, "effectivePeriod", None)
    for value in (
        getattr(resource, "effectiveDateTime", None),
        getattr(resource, "effectiveInstant", None),
        period.start if period is not None else None,
        getattr(resource, "issued", None),
    ):
        moment = _as_datetime(value)
        if moment is not None:
            return moment
    return None


def _source_id(resource, full_url: str) -> str:
    for identifier in resource.identifier or []:
        if identifier.value:
            return f"{identifier.system or ''}|{identifier.value}"[:120]
    if full_url:
        return full_url[:120]
    if resource.id:
        return f"Observation/{resource.id}"[:120]
    return ""


def _unit(quantity) -> str:
    if quantity.system == codes.UCUM and quantity.code:
        return quantity.code.strip()
    return (quantity.unit or quantity.code or "").strip()


def map_observation(context: ImportContext, resource, full_url: str) -> tuple[str, str]:
    name = _concept_text(resource.code) or "observation"
    if resource.status in ("cancelled", "entered-in-error", "registered"):
        return SKIPPED, f"{name}: status {resource.status}, no result to store"
    if codes.BODY_WEIGHT_LOINC in _codes(resource.code, codes.LOINC):
        return _map_weight(context, resource)
    if _codes(resource.code, codes.OUR_PHARMACOGENETICS):
        return _map_pharmacogenetics(context, resource)
    if _codes(resource.code, codes.OUR_IMMUNITY):
        return _map_immunity(context, resource)
    analyte, why_not, local = _analyte_for(context, resource.code)
    if analyte is None:
        if why_not:
            return SKIPPED, f"{name}: {why_not}"
        loincs = _codes(resource.code, codes.LOINC)
        if loincs:
            return SKIPPED, f"{name} (LOINC {loincs[0]}): not an analyte the clinic follows"
        if not _is_lab(resource):
            return SKIPPED, f"{name}: not a laboratory result"
        coding = next((c for c in _codings(resource.code) if c.code), None)
        raise Unmappable(
            ProblemKind.UNKNOWN_CODE,
            f"{name}: code not in the analyte catalogue nor the clinic's local code table.",
            code=coding.code if coding else "",
            system=(coding.system or "") if coding else "",
            display=(coding.display or "") if coding else "",
        )
    patient = _patient(context, resource.subject, f"{analyte.name} result")
    status = OBSERVATION_STATUS.get(resource.status)
    if status is None:
        return SKIPPED, f"{analyte.name}: status {resource.status}"
    quantity = resource.valueQuantity
    value = _number(quantity.value) if quantity is not None else None
    if value is None:
        shown = resource.valueString or _concept_text(resource.valueCodeableConcept) or "nothing"
        raise Unmappable(ProblemKind.BAD_VALUE, f"{analyte.name}: no numeric value (got {shown}).")
    if quantity.comparator:
        raise Unmappable(ProblemKind.BAD_VALUE, f"{analyte.name}: value {quantity.comparator}{value:g} is not exact.")
    unit = local.unit if local is not None and local.unit else _unit(quantity)
    collected_at = _effective(resource)
    if collected_at is None:
        raise Unmappable(ProblemKind.BAD_TIME, f"{analyte.name}: no effective time.")
    low, high = _reference_range(analyte, resource, unit, patient, collected_at)
    lab = LabValue(analyte=analyte, value=value, unit=unit, collected_at=collected_at, ref_low=low, ref_high=high)
    try:
        canonical, _, _ = convert_lab_value(lab)
    except ValidationError as error:
        raise _lab_problem(analyte, error) from None
    source_id = _source_id(resource, full_url)
    shown = f"{analyte.name} {value:g} {unit} on {collected_at:%Y-%m-%d}"
    existing = _stored_result(patient, analyte, source_id, collected_at, canonical, status)
    same_source = existing is not None and existing.source == LabSource.FHIR
    if (
        existing is not None
        and existing.source_id != source_id
        and not (same_source and existing.status == ResultStatus.PRELIMINARY)
    ):
        # The same analyte, time and value from another source or file: the result is already known.
        return UNCHANGED, f"{shown}: already stored ({existing.get_source_display()})"
    replaced = existing.get_status_display().lower() if existing is not None else ""
    incoming = results.Incoming(lab=lab, status=status, source=LabSource.FHIR, source_id=source_id)
    try:
        outcome = results.decide(incoming, existing)
        if outcome == results.CREATED:
            record_lab_result(patient=patient, lab=lab, source=LabSource.FHIR, source_id=source_id, status=status)
        elif outcome == results.UPDATED:
            _replace(existing, incoming)
    except ValidationError as error:
        raise _lab_problem(analyte, error) from None
    if outcome == results.CREATED:
        context.touched.add(patient.pk)
        return CREATED, shown
    if outcome == results.UPDATED:
        context.touched.add(patient.pk)
        return UPDATED, f"{shown}: replaces the stored {replaced} result"
    if outcome == results.STALE:
        return UNCHANGED, f"{shown}: a newer result is already stored"
    return UNCHANGED, f"{shown}: already stored"


def _replace(existing: LabResult, incoming) -> None:
    """A newer result replaces the stored one (the audit history keeps the old value)."""
    value, low, high = convert_lab_value(incoming.lab)
    existing.value, existing.ref_low, existing.ref_high = value, low, high
    existing.value_as_reported = f"{incoming.lab.value:g}"
    existing.unit_as_reported = incoming.lab.unit
    existing.collected_at = incoming.lab.collected_at
    existing.status = incoming.status
    existing.save()


def _is_lab(resource) -> bool:
    categories = [c.code for concept in resource.category or [] for c in _codings(concept)]
    return "laboratory" in categories or (not categories and resource.valueQuantity is not None)


_SEX_CODES = {
    ("http://hl7.org/fhir/administrative-gender", "male"): "male",
    ("http://hl7.org/fhir/administrative-gender", "female"): "female",
    ("http://snomed.info/sct", "248153007"): "male",
    ("http://snomed.info/sct", "248152002"): "female",
}
_AGE_UNITS_IN_YEARS = {"a": 1.0, "mo": 1 / 12, "wk": 7 / 365.25, "d": 1 / 365.25}


def _applies(ref, patient, collected_at) -> int | None:
    """How many of the range's conditions (appliesTo sex, age) the patient meets, or None if one is not met
    or cannot be checked (a population the importer does not know, or an age without a date of birth)."""
    met = 0
    for concept in ref.appliesTo or []:
        sexes = {_SEX_CODES.get((c.system, c.code)) for c in _codings(concept)} - {None}
        if not sexes or patient.sex not in sexes:
            return None
        met += 1
    if ref.age is not None:
        dob = patient.date_of_birth
        if dob is None:
            return None
        on = collected_at.date()
        years = on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))
        for limit, inside in ((ref.age.low, lambda a, b: a >= b), (ref.age.high, lambda a, b: a <= b)):
            if limit is None or _number(limit.value) is None:
                continue
            factor = _AGE_UNITS_IN_YEARS.get((limit.code or limit.unit or "a").strip())
            if factor is None or not inside(years, _number(limit.value) * factor):
                return None
        met += 1
    return met


def _reference_range(analyte: Analyte, resource, unit: str, patient, collected_at) -> tuple[float | None, float | None]:
    """The lab's normal range that applies to the patient (appliesTo sex, age at collection; the most
    specific one), in the value's unit (a range in another unit is converted). None applies: (None, None),
    and the engine takes the clinic's or the typical limits (labs/ranges.py)."""
    chosen: list[tuple[int, int, list]] = []
    for index, ref in enumerate(resource.referenceRange or []):
        meanings = [c.code for c in _codings(ref.type)]
        if meanings and "normal" not in meanings:
            continue
        met = _applies(ref, patient, collected_at)
        if met is None:
            continue
        bounds = []
        for quantity in (ref.low, ref.high):
            number = _number(quantity.value) if quantity is not None else None
            if number is not None and (_unit(quantity) or unit) != unit:
                try:
                    number = analyte.to_canonical(number, _unit(quantity)) / analyte.to_canonical(1.0, unit)
                except ValueError:
                    raise Unmappable(
                        ProblemKind.BAD_UNIT, f"{analyte.name}: reference range in '{_unit(quantity)}' not accepted."
                    ) from None
            bounds.append(number)
        if any(b is not None for b in bounds):
            chosen.append((-met, index, bounds))
    if not chosen:
        return None, None
    _, _, (low, high) = min(chosen, key=lambda c: (c[0], c[1]))
    return low, high


def _lab_problem(analyte: Analyte, error: ValidationError) -> Unmappable:
    fields = error.message_dict if hasattr(error, "error_dict") else {}
    text = " ".join(error.messages)
    if "unit" in fields:
        return Unmappable(ProblemKind.BAD_UNIT, text)
    if "collected_at" in fields:
        return Unmappable(ProblemKind.BAD_TIME, f"{analyte.name}: {text}")
    return Unmappable(ProblemKind.BAD_VALUE, text)


def _stored_result(patient, analyte, source_id, collected_at, canonical, status) -> LabResult | None:
    results = LabResult.objects.filter(patient=patient, analyte=analyte)
    if source_id:
        same_id = results.filter(source=LabSource.FHIR, source_id=source_id).first()
        if same_id is not None:
            return same_id
    same_time = results.filter(collected_at=collected_at)
    if status != ResultStatus.PRELIMINARY:
        preliminary = same_time.filter(status=ResultStatus.PRELIMINARY, source=LabSource.FHIR).first()
        if preliminary is not None:
            return preliminary
    for stored in same_time:
        if abs(stored.value - canonical) <= 1e-6 * max(1.0, abs(canonical)):
            return stored
    return None


def _map_weight(context: ImportContext, resource) -> tuple[str, str]:
    quantity = resource.valueQuantity
    value = _number(quantity.value) if quantity is not None else None
    if value is None:
        raise Unmappable(ProblemKind.BAD_VALUE, "Body weight without a numeric value.")
    unit = _unit(quantity) or "kg"
    factor = codes.WEIGHT_UNITS.get(unit) or codes.WEIGHT_UNITS.get(unit.lower())
    if factor is None:
        raise Unmappable(ProblemKind.BAD_UNIT, f"Body weight in '{unit}' (accepted: kg, g, [lb_av]).")
    kg = round(value * factor, 3)
    low, high = WeightMeasurement.PLAUSIBLE_KG  # the bounds the table's check constraint enforces
    if not low < kg < high:
        raise Unmappable(ProblemKind.BAD_VALUE, f"Body weight {kg:g} kg is not plausible.")
    measured = _effective(resource)
    if measured is None:
        raise Unmappable(ProblemKind.BAD_TIME, "Body weight without a date.")
    on = _as_date(measured)
    if on > timezone.localdate():
        raise Unmappable(ProblemKind.BAD_TIME, f"Body weight dated in the future ({on}).")
    patient = _patient(context, resource.subject, "Body weight")
    shown = f"weight {kg:g} kg on {on}"
    if WeightMeasurement.objects.filter(patient=patient, measured_on=on, weight_kg__range=(kg - 0.01, kg + 0.01)):
        return UNCHANGED, f"{shown}: already stored"
    WeightMeasurement.objects.create(patient=patient, measured_on=on, weight_kg=kg)
    context.touched.add(patient.pk)
    return CREATED, shown


# -- MedicationStatement / MedicationRequest ------------------------------------------------------


def _drugs() -> list[Drug]:
    return _cached("drugs", lambda: list(Drug.objects.all()))


def drug_for(concept) -> Drug | None:
    """By RxNorm ingredient code, our own drug code, or the drug's name in the text."""
    drugs = _drugs()
    for code in _codes(concept, codes.RXNORM):
        found = next((d for d in drugs if d.rxnorm and d.rxnorm == code), None)
        if found is not None:
            return found
    for code in _codes(concept, codes.OUR_DRUG):
        found = next((d for d in drugs if d.code == code), None)
        if found is not None:
            return found
    texts = [concept.text or ""] + [c.display or "" for c in _codings(concept)] if concept is not None else []
    haystack = " ".join(texts).lower()
    # Longest names first: "mycophenolate mofetil" before "mycophenolic acid" and the like.
    for drug in sorted(drugs, key=lambda d: -len(d.name)):
        for name in {drug.name.lower(), drug.code.replace("_", " ")}:
            if re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", haystack):
                return drug
    return None


def _medication_concept(context: ImportContext, resource):
    if resource.medicationCodeableConcept is not None:
        return resource.medicationCodeableConcept
    ref = resource.medicationReference.reference if resource.medicationReference is not None else None
    if ref:
        target = None
        if ref.startswith("#"):
            target = next((c for c in resource.contained or [] if getattr(c, "id", None) == ref[1:]), None)
            return getattr(target, "code", None)
        raw = context.index.get(ref)
        if raw is not None and raw.get("resourceType") == "Medication":
            try:
                return get_fhir_model_class("Medication").model_validate(raw).code
            except (PydanticValidationError, ValueError):
                return None
    return None


def daily_dose_mg(dosage, drug_name: str) -> float:
    """doseQuantity (mg, g, µg) × administrations per day from the timing."""
    quantity = None
    for dose_and_rate in dosage.doseAndRate or []:
        if dose_and_rate.doseQuantity is not None:
            quantity = dose_and_rate.doseQuantity
            break
        if dose_and_rate.doseRange is not None and dose_and_rate.doseRange.high is not None:
            quantity = dose_and_rate.doseRange.high
            break
    if quantity is None or _number(quantity.value) is None:
        shown = f" ('{dosage.text}')" if dosage.text else ""
        raise Unmappable(ProblemKind.BAD_VALUE, f"{drug_name}: no dose quantity{shown}.")
    unit = _unit(quantity) or "mg"
    factor = codes.DOSE_UNITS.get(unit) or codes.DOSE_UNITS.get(normalise_unit_spelling(unit).lower())
    if factor is None:
        raise Unmappable(ProblemKind.BAD_UNIT, f"{drug_name}: dose in '{unit}', not in mg.")
    per_day = _administrations_per_day(dosage, drug_name)
    mg = round(_number(quantity.value) * factor * per_day, 4)
    if mg < 0:
        raise Unmappable(ProblemKind.BAD_VALUE, f"{drug_name}: negative dose.")
    return mg


def _administrations_per_day(dosage, drug_name: str) -> float:
    timing = dosage.timing
    if timing is None:
        if dosage.asNeededBoolean or dosage.asNeededCodeableConcept is not None:
            raise Unmappable(ProblemKind.BAD_VALUE, f"{drug_name}: taken as needed, no daily dose.")
        return 1.0  # no timing: one dose a day, the usual reading of "20 mg" alone
    repeat = timing.repeat
    if repeat is None or (repeat.frequency is None and repeat.period is None and not repeat.timeOfDay):
        code = next((c.code for c in _codings(timing.code) if c.code), None)
        if code in codes.TIMING_CODES_PER_DAY:
            return codes.TIMING_CODES_PER_DAY[code]
        if code is not None:
            raise Unmappable(ProblemKind.BAD_VALUE, f"{drug_name}: timing code '{code}' not understood.")
        return 1.0
    frequency = repeat.frequencyMax or repeat.frequency or (len(repeat.timeOfDay) if repeat.timeOfDay else 1)
    period = _number(repeat.periodMax or repeat.period) or 1.0
    days = codes.PERIOD_DAYS.get(repeat.periodUnit or "d")
    if days is None or period <= 0:
        raise Unmappable(ProblemKind.BAD_VALUE, f"{drug_name}: timing period '{repeat.periodUnit}' not understood.")
    return frequency / (period * days)


def _bounds(dosage):
    repeat = dosage.timing.repeat if dosage.timing is not None else None
    return repeat.boundsPeriod if repeat is not None else None


STOP_REASONS = {choice.value for choice in StopReason}


def map_medication(context: ImportContext, resource, full_url: str) -> tuple[str, str]:
    kind = resource.get_resource_type()
    concept = _medication_concept(context, resource)
    drug = drug_for(concept)
    name = _concept_text(concept) or "medication"
    if drug is None:
        return SKIPPED, f"{name}: not a drug the clinic follows"
    if resource.status in ("entered-in-error", "not-taken", "cancelled", "draft", "unknown", "intended"):
        return SKIPPED, f"{drug.name}: status {resource.status}, not taken"
    intent = getattr(resource, "intent", None)
    if intent in ("proposal", "plan", "directive", "option"):
        return SKIPPED, f"{drug.name}: a {intent}, not an order (prescribe it on the regimen page)"
    patient = _patient(context, resource.subject, drug.name)
    dosages = list((resource.dosage if kind == "MedicationStatement" else resource.dosageInstruction) or [])
    start, stop = _course_period(resource, dosages)
    if start is None:
        raise Unmappable(ProblemKind.BAD_TIME, f"{drug.name}: no start date (effectivePeriod.start).")
    if stop is not None and stop < start:
        raise Unmappable(ProblemKind.BAD_TIME, f"{drug.name}: stops ({stop}) before it starts ({start}).")
    if start > timezone.localdate():
        raise Unmappable(ProblemKind.BAD_TIME, f"{drug.name}: starts in the future ({start}).")
    if stop is None and resource.status in ("completed", "stopped"):
        raise Unmappable(ProblemKind.BAD_TIME, f"{drug.name}: {resource.status}, but no end date says when.")
    doses: dict[date, float] = {}
    for dosage in dosages:
        bounds = _bounds(dosage)
        on = max(_as_date(bounds.start) or start, start) if bounds is not None else start
        doses[on] = round(doses.get(on, 0.0) + daily_dose_mg(dosage, drug.name), 4)
    reason, note = _stop_reason(resource) if stop is not None else ("", "")
    shown = f"{drug.name} from {start}" + (f" to {stop}" if stop else "")
    course = MedicationCourse.objects.filter(patient=patient, drug=drug, started_on=start).first()
    if course is None:
        course = MedicationCourse.objects.create(
            patient=patient, drug=drug, started_on=start, stopped_on=stop, stop_reason=reason, stop_note=note
        )
        result = CREATED
    else:
        result = UNCHANGED
        if course.stopped_on is None and stop is not None:
            course.stopped_on, course.stop_reason, course.stop_note = stop, reason, note
            course.save()
            result = UPDATED
    known = set(course.dose_changes.values_list("effective_on", flat=True))
    for on, mg in sorted(doses.items()):
        if on not in known and (course.stopped_on is None or on <= course.stopped_on):
            DoseChange.objects.create(course=course, effective_on=on, dose_mg_per_day=mg, note=f"Imported ({kind})")
            result = UPDATED if result == UNCHANGED else result
    if result != UNCHANGED:
        context.touched.add(patient.pk)
    doses_text = ", ".join(f"{mg:g} mg/day from {on}" for on, mg in sorted(doses.items())) or "no dose given"
    return result, f"{shown}: {doses_text}" + ("" if result != UNCHANGED else " (already stored)")


def _course_period(resource, dosages) -> tuple[date | None, date | None]:
    start = stop = None
    if resource.get_resource_type() == "MedicationStatement":
        period = resource.effectivePeriod
        start = _as_date(period.start) if period is not None else _as_date(resource.effectiveDateTime)
        stop = _as_date(period.end) if period is not None else None
    else:
        validity = resource.dispenseRequest.validityPeriod if resource.dispenseRequest is not None else None
        bounds = [b for b in (_bounds(d) for d in dosages) if b is not None]
        starts = [_as_date(b.start) for b in bounds if b.start is not None]
        ends = [_as_date(b.end) for b in bounds if b.end is not None]
        start = min(starts) if starts else None
        start = start or (_as_date(validity.start) if validity is not None else None) or _as_date(resource.authoredOn)
        stop = max(ends) if ends and len(ends) == len(bounds) else None
    if start is None:
        bounds = [b for b in (_bounds(d) for d in dosages) if b is not None and b.start is not None]
        start = min((_as_date(b.start) for b in bounds), default=None)
    return start, stop


def _stop_reason(resource) -> tuple[str, str]:
    concepts = list(resource.statusReason or []) if resource.get_resource_type() == "MedicationStatement" else []
    if resource.get_resource_type() == "MedicationRequest" and resource.statusReason is not None:
        concepts = [resource.statusReason]
    for concept in concepts:
        for code in _codes(concept, codes.OUR_STOP_REASON):
            if code == StopReason.INTOLERANCE:
                # The adverse event it names is not part of the exchange: keep the fact in the note.
                return StopReason.OTHER, "Stopped for intolerance (imported from FHIR; adverse event not imported)."
            if code in STOP_REASONS:
                return code, "Imported from FHIR."
    text = " ".join(_concept_text(c) for c in concepts)
    return StopReason.OTHER, f"Stop date imported from FHIR{': ' + text if text else ''}."[:500]


# -- Condition -------------------------------------------------------------------------------------


def map_condition(context: ImportContext, resource, full_url: str) -> tuple[str, str]:
    if codes.ACUTE_SEVERE in _codes(resource.code, codes.OUR_CONDITION):
        return _map_acute_severe(context, resource)
    snomed = _codes(resource.code, codes.SNOMED)
    code = next((c for c in snomed if c in codes.CONDITION_NAMES), None)
    name = _concept_text(resource.code) or "condition"
    if code is None:
        return SKIPPED, f"{name}: not a condition the clinic records"
    verification = [c.code for c in _codings(resource.verificationStatus)]
    if any(v in ("refuted", "entered-in-error") for v in verification):
        return SKIPPED, f"{codes.CONDITION_NAMES[code]}: {verification[0]}"
    label = codes.CONDITION_NAMES[code]
    patient = _patient(context, resource.subject, label)
    onset = _as_date(resource.onsetDateTime) or _as_date(resource.onsetPeriod.start if resource.onsetPeriod else None)
    if onset is None:
        raise Unmappable(ProblemKind.BAD_TIME, f"{label}: no onset date.")
    if onset > timezone.localdate() or onset < patient.date_of_birth:
        raise Unmappable(ProblemKind.BAD_TIME, f"{label}: onset {onset} is outside the patient's life.")
    abatement = _as_date(resource.abatementDateTime) or _as_date(
        resource.abatementPeriod.end if resource.abatementPeriod else None
    )
    if code == codes.PREGNANCY_SNOMED:
        return _map_pregnancy(context, patient, onset, abatement)
    field_name = "diagnosis_date" if code == codes.AIH_SNOMED else "cirrhosis_diagnosed_on"
    current = getattr(patient, field_name)
    if current == onset:
        return UNCHANGED, f"{label} since {onset}: already recorded"
    if current is not None:
        raise Unmappable(
            ProblemKind.CONFLICT,
            f"{label} since {onset}, but the patient's record says since {current}.",
            mrn=patient.mrn,
        )
    setattr(patient, field_name, onset)
    if code == codes.CIRRHOSIS_SNOMED:
        bases = [c for concept in resource.evidence or [] for c in _codes_of(concept.code, codes.OUR_CIRRHOSIS_BASIS)]
        patient.cirrhosis_basis = next((b for b in bases if b in CirrhosisBasis.values), CirrhosisBasis.CLINICAL)
    patient.save()
    context.touched.add(patient.pk)
    return UPDATED, f"{label} since {onset} recorded on patient {patient.mrn}"


def _codes_of(concepts, system: str) -> list[str]:
    return [code for concept in concepts or [] for code in _codes(concept, system)]


def _map_pregnancy(context: ImportContext, patient, onset: date, ended: date | None) -> tuple[str, str]:
    if ended is not None and ended < onset:
        raise Unmappable(ProblemKind.BAD_TIME, f"Pregnancy ends ({ended}) before it starts ({onset}).")
    episode = PregnancyEpisode.objects.filter(patient=patient, kind=PregnancyKind.PREGNANT, started_on=onset).first()
    if episode is not None:
        if episode.ended_on is None and ended is not None:
            episode.ended_on = ended
            episode.save()
            context.touched.add(patient.pk)
            return UPDATED, f"pregnancy from {onset}: ended {ended}"
        return UNCHANGED, f"pregnancy from {onset}: already recorded"
    PregnancyEpisode.objects.create(patient=patient, kind=PregnancyKind.PREGNANT, started_on=onset, ended_on=ended)
    context.touched.add(patient.pk)
    return CREATED, f"pregnancy from {onset}" + (f" to {ended}" if ended else "")


# -- Procedure -------------------------------------------------------------------------------------


def map_procedure(context: ImportContext, resource, full_url: str) -> tuple[str, str]:
    snomed = _codes(resource.code, codes.SNOMED)
    code = next((c for c in snomed if c in codes.PROCEDURE_NAMES), None)
    name = _concept_text(resource.code) or "procedure"
    if code is None:
        return SKIPPED, f"{name}: not a procedure the clinic records"
    label = codes.PROCEDURE_NAMES[code]
    if resource.status in ("not-done", "entered-in-error", "preparation", "stopped"):
        return SKIPPED, f"{label}: status {resource.status}"
    patient = _patient(context, resource.subject, label)
    performed = _as_date(resource.performedDateTime) or _as_date(
        resource.performedPeriod.start if resource.performedPeriod else None
    )
    if performed is None:
        raise Unmappable(ProblemKind.BAD_TIME, f"{label}: no performed date.")
    if performed > timezone.localdate():
        raise Unmappable(ProblemKind.BAD_TIME, f"{label}: performed in the future ({performed}).")
    model, date_field = (DexaScan, "scanned_on") if code == codes.DEXA_SNOMED else (LiverBiopsy, "performed_on")
    if model.objects.filter(patient=patient, **{date_field: performed}).exists():
        return UNCHANGED, f"{label} on {performed}: already recorded"
    model.objects.create(patient=patient, **{date_field: performed})
    context.touched.add(patient.pk)
    return CREATED, f"{label} on {performed}"


# -- what the safety rules need: TPMT / NUDT15, hepatitis immunity, vaccinations, acute episodes -----


def _dated(context: ImportContext, resource, what: str) -> tuple[Patient, date]:
    patient = _patient(context, getattr(resource, "subject", None) or getattr(resource, "patient", None), what)
    on = _as_date(_effective(resource) or _as_datetime(getattr(resource, "occurrenceDateTime", None)))
    if on is None:
        raise Unmappable(ProblemKind.BAD_TIME, f"{what}: no date.")
    if on > timezone.localdate():
        raise Unmappable(ProblemKind.BAD_TIME, f"{what}: dated in the future ({on}).")
    return patient, on


def _choice(concept, system: str, choices, what: str) -> str:
    for code in _codes(concept, system):
        if code in choices.values:
            return code
    raise Unmappable(ProblemKind.BAD_VALUE, f"{what}: result '{_concept_text(concept) or 'none'}' not understood.")


def _map_pharmacogenetics(context: ImportContext, resource) -> tuple[str, str]:
    gene = next(c for c in _codes(resource.code, codes.OUR_PHARMACOGENETICS))
    if gene not in Gene.values:
        raise Unmappable(ProblemKind.UNKNOWN_CODE, f"Pharmacogenetic test '{gene}' is not TPMT or NUDT15.", code=gene)
    label = Gene(gene).label
    patient, on = _dated(context, resource, label)
    phenotype = _choice(resource.valueCodeableConcept, codes.OUR_PHENOTYPE, MetaboliserPhenotype, label)
    fields = {"activity": None, "activity_unit": "", "genotype": "", "deficiency_cutoff": None}
    for component in resource.component or []:
        part = next(iter(_codes(component.code, codes.OUR_PGX_PART)), "")
        if part == "activity" and component.valueQuantity is not None:
            fields["activity"] = _number(component.valueQuantity.value)
            fields["activity_unit"] = (component.valueQuantity.unit or "")[:40]
        elif part == "genotype" and component.valueString:
            fields["genotype"] = component.valueString[:40]
    for ref in resource.referenceRange or []:
        if ref.low is not None and _number(ref.low.value) is not None:
            fields["deficiency_cutoff"] = _number(ref.low.value)
    if fields["activity"] is not None and (fields["activity"] < 0 or not fields["activity_unit"]):
        raise Unmappable(ProblemKind.BAD_VALUE, f"{label}: activity needs a unit and cannot be negative.")
    shown = f"{label} {MetaboliserPhenotype(phenotype).label.lower()} on {on}"
    if PharmacogeneticTest.objects.filter(patient=patient, gene=gene, tested_on=on, phenotype=phenotype).exists():
        return UNCHANGED, f"{shown}: already recorded"
    PharmacogeneticTest.objects.create(patient=patient, gene=gene, tested_on=on, phenotype=phenotype, **fields)
    context.touched.add(patient.pk)
    return CREATED, shown


def _map_immunity(context: ImportContext, resource) -> tuple[str, str]:
    virus = next(c for c in _codes(resource.code, codes.OUR_IMMUNITY))
    if virus not in Virus.values:
        raise Unmappable(ProblemKind.UNKNOWN_CODE, f"Immunity to '{virus}' is not recorded.", code=virus)
    label = f"{Virus(virus).label} immunity"
    patient, on = _dated(context, resource, label)
    status = _choice(resource.valueCodeableConcept, codes.OUR_IMMUNITY_STATUS, ImmunityStatus, label)
    shown = f"{label}: {ImmunityStatus(status).label.lower()} on {on}"
    if HepatitisImmunity.objects.filter(patient=patient, virus=virus, tested_on=on, status=status).exists():
        return UNCHANGED, f"{shown}: already recorded"
    HepatitisImmunity.objects.create(patient=patient, virus=virus, tested_on=on, status=status)
    context.touched.add(patient.pk)
    return CREATED, shown


def map_immunization(context: ImportContext, resource, full_url: str) -> tuple[str, str]:
    vaccine = next(
        (codes.CVX_VACCINES[c] for c in _codes(resource.vaccineCode, codes.CVX) if c in codes.CVX_VACCINES), None
    )
    name = _concept_text(resource.vaccineCode) or "vaccine"
    if vaccine is None:
        return SKIPPED, f"{name}: not a hepatitis A/B vaccine"
    if resource.status != "completed":
        return SKIPPED, f"{name}: status {resource.status}"
    label = Vaccine(vaccine).label
    patient, on = _dated(context, resource, f"{label} vaccination")
    applied = next((p for p in resource.protocolApplied or [] if p.doseNumberPositiveInt), None)
    dose = applied.doseNumberPositiveInt if applied is not None else 1
    shown = f"{label} vaccination dose {dose} on {on}"
    if Vaccination.objects.filter(patient=patient, vaccine=vaccine, given_on=on).exists():
        return UNCHANGED, f"{shown}: already recorded"
    Vaccination.objects.create(patient=patient, vaccine=vaccine, given_on=on, dose_number=dose)
    context.touched.add(patient.pk)
    return CREATED, shown


def _map_acute_severe(context: ImportContext, resource) -> tuple[str, str]:
    label = "Acute severe AIH"
    patient = _patient(context, resource.subject, label)
    presented = _as_date(resource.onsetDateTime) or _as_date(
        resource.onsetPeriod.start if resource.onsetPeriod else None
    )
    if presented is None or presented > timezone.localdate():
        raise Unmappable(ProblemKind.BAD_TIME, f"{label}: no presentation date, or one in the future.")
    ended = _as_date(resource.abatementDateTime)
    extensions = {e.url: e for e in resource.extension or []}
    day0 = extensions.get(codes.STEROID_DAY0_URL)
    day0 = _as_date(day0.valueDate) if day0 is not None else None
    encephalopathy = extensions.get(codes.ENCEPHALOPATHY_URL)
    encephalopathy = bool(encephalopathy.valueBoolean) if encephalopathy is not None else False
    if (day0 is not None and day0 < presented) or (ended is not None and ended < presented):
        raise Unmappable(ProblemKind.BAD_TIME, f"{label}: steroid day 0 or end before the presentation ({presented}).")
    shown = f"{label} from {presented}"
    if AcuteSevereEpisode.objects.filter(patient=patient, presented_on=presented).exists():
        return UNCHANGED, f"{shown}: already recorded"
    AcuteSevereEpisode.objects.create(
        patient=patient,
        presented_on=presented,
        steroid_day0=day0,
        ended_on=ended,
        hepatic_encephalopathy=encephalopathy,
    )
    context.touched.add(patient.pk)
    return CREATED, shown


MAPPERS: dict[str, Callable[[ImportContext, Any, str], tuple[str, str]]] = {
    "Patient": map_patient,
    "Observation": map_observation,
    "MedicationStatement": map_medication,
    "MedicationRequest": map_medication,
    "Condition": map_condition,
    "Procedure": map_procedure,
    "Immunization": map_immunization,
}
