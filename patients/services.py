"""Writing patients and visits: each a single transaction that queues the patient's evaluation on commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from monitoring.changes import enqueue_evaluation
from monitoring.labs.services import LabValue, record_lab_result
from monitoring.models import Analyte
from patients.models import Patient, Visit, WeightMeasurement
from regimens.models import AdherenceRecord, AdverseEvent, DoseChange, MedicationCourse


class DuplicateMRN(ValidationError):
    def __init__(self, existing: Patient | None):
        self.existing = existing
        super().__init__({"mrn": "This MRN is already registered in this clinic."})


def find_mrn_owner(*, clinic_id: int, mrn: str, exclude_pk: int | None = None) -> Patient | None:
    """The clinic's patient with this MRN, ignoring case and surrounding spaces ("mrn-1 " = "MRN-1")."""
    patients = Patient.objects.filter(clinic_id=clinic_id, mrn__iexact=mrn.strip())
    if exclude_pk:
        patients = patients.exclude(pk=exclude_pk)
    return patients.first()


class EditConflict(Exception):
    """The patient's record was saved by someone else after this edit began; nothing was saved."""

    def __init__(self, changed_by, changed_at: datetime, current_version: str):
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.current_version = current_version
        super().__init__(f"Changed by {changed_by or 'an import'} at {changed_at:%d %b %Y %H:%M}.")


def _latest_history(patient: Patient, record_models: Sequence[type[models.Model]]) -> list:
    """The newest audit-history row of the patient and of each kind of their intake record."""
    histories = [patient.history.all()] + [model.history.filter(patient_id=patient.pk) for model in record_models]
    return [row for row in (h.order_by("-history_id").first() for h in histories) if row is not None]


def edit_version(patient: Patient, record_models: Sequence[type[models.Model]] = ()) -> str:
    """Where the patient's record (and their intake records) stands: any save of it, from any page
    or the admin, leaves a new audit-history row and so changes this value. "" for a new patient."""
    if patient.pk is None:
        return ""
    return _version_of(_latest_history(patient, record_models))


def _version_of(latest_rows: list) -> str:
    return "-".join(f"{row._meta.label}:{row.history_id}" for row in latest_rows)


def save_patient_intake(
    *,
    patient: Patient,
    records: Sequence[models.Model] = (),
    expected_version: str | None = None,
    record_models: Sequence[type[models.Model]] = (),
    patient_changed: bool = True,
) -> Patient:
    """Save a new or edited patient with its intake records (antibodies, TPMT, vaccinations...), all or nothing.

    `records` are unsaved or changed rows of the patients app that belong to `patient`.
    Raises DuplicateMRN (nothing saved) if the MRN is taken in the clinic, including by a save
    that raced this one past the form's check. With `expected_version` (the `edit_version` the
    edit began from), raises EditConflict (nothing saved) if the record changed since: the later
    save must not silently overwrite the earlier one.
    """
    with transaction.atomic():
        if patient.pk is not None and expected_version is not None:
            Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one check-and-save at a time
            latest_rows = _latest_history(patient, record_models)
            if (current := _version_of(latest_rows)) != expected_version:
                latest = max(latest_rows, key=lambda row: row.history_date)
                raise EditConflict(latest.history_user, latest.history_date, current)
        owner = find_mrn_owner(clinic_id=patient.clinic_id, mrn=patient.mrn, exclude_pk=patient.pk)
        if owner:
            raise DuplicateMRN(owner)
        try:
            if patient.pk is None or patient_changed:  # an unchanged patient writes no audit row
                with transaction.atomic():
                    patient.save()
        except IntegrityError:
            raise DuplicateMRN(find_mrn_owner(clinic_id=patient.clinic_id, mrn=patient.mrn)) from None
        for record in records:
            record.patient = patient
            record.save()
        if patient_changed or records:
            enqueue_evaluation(patient.pk)
    return patient


# -- the visit log -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabEntry:
    """One row of the lab grid: value, unit and range as the report gives them (range None = not stored)."""

    analyte: Analyte
    value: float
    unit: str
    ref_low: float | None = None
    ref_high: float | None = None


@dataclass(frozen=True)
class MedicineEntry:
    """What the patient says they take of one running course, and how well."""

    course: MedicationCourse
    dose_taken: float | None = None  # None: as prescribed (nothing to change)
    adherence_method: str = ""  # "" = not assessed
    missed_doses: int = 0
    lapse_reason: str = ""
    full_adherence_confirmed: bool = False


@dataclass(frozen=True)
class AdverseEventEntry:
    kind: str
    onset_on: date
    course: MedicationCourse | None = None
    grade: int | None = None
    description: str = ""
    resolved_on: date | None = None


@dataclass(frozen=True)
class VisitEntry:
    visit_date: date
    ascites: str
    encephalopathy_grade: int
    jaundice: bool = False
    notes: str = ""
    weight_kg: float | None = None
    labs_collected_on: date | None = None
    labs: Sequence[LabEntry] = ()
    medicines: Sequence[MedicineEntry] = ()
    adverse_events: Sequence[AdverseEventEntry] = field(default_factory=tuple)


def collection_time(on: date, now: datetime | None = None) -> datetime:
    """The visit form takes a date, not a time: today's bloods are stamped now, earlier days at noon."""
    now = now or timezone.now()
    if on >= timezone.localdate(now):
        return now
    return timezone.make_aware(datetime.combine(on, time(12, 0)))


def current_dose(course: MedicationCourse, on: date) -> DoseChange | None:
    return course.dose_changes.filter(effective_on__lte=on).order_by("-effective_on").first()


class AlreadySaved(Exception):
    """This visit form was saved before (sent twice: a double click, a resend after a timeout)."""

    def __init__(self, visit: Visit):
        self.visit = visit
        super().__init__(f"Visit {visit.pk} was already saved from this form.")


def visit_saved_from(patient: Patient, submission_key: str) -> Visit | None:
    """The patient's visit that the form with this key saved already, if it did."""
    return Visit.objects.filter(patient=patient, submission_key=submission_key).first() if submission_key else None


def log_visit(*, patient: Patient, user, entry: VisitEntry, submission_key: str | None = None) -> Visit:
    """Store a whole visit (weight, labs, doses taken, adherence, adverse events) in one transaction.

    Any ValidationError (a lab value refused by the monitoring service, a second dose change for
    the same day...) rolls everything back: a visit is saved completely or not at all. With the
    form's `submission_key`, a second save of the same form (even one racing the first) saves
    nothing and raises AlreadySaved with the visit the first one stored.
    """
    with transaction.atomic():
        if mine := visit_saved_from(patient, submission_key):
            raise AlreadySaved(mine)
        try:
            with transaction.atomic():
                visit = Visit.objects.create(
                    patient=patient,
                    visit_date=entry.visit_date,
                    clinician=user,
                    ascites=entry.ascites,
                    encephalopathy_grade=entry.encephalopathy_grade,
                    jaundice=entry.jaundice,
                    notes=entry.notes,
                    submission_key=submission_key or None,
                )
        except IntegrityError:
            if mine := visit_saved_from(patient, submission_key):
                raise AlreadySaved(mine) from None
            if submission_key and Visit.objects.filter(submission_key=submission_key).exists():
                # a key taken from another patient's form: not this visit's
                raise ValidationError("This form was already used; open the visit form again.") from None
            raise
        if entry.weight_kg is not None:
            WeightMeasurement.objects.create(
                patient=patient, measured_on=entry.visit_date, weight_kg=entry.weight_kg, visit=visit
            )
        collected_at = collection_time(entry.labs_collected_on or entry.visit_date)
        for lab in entry.labs:
            record_lab_result(
                patient=patient,
                lab=LabValue(lab.analyte, lab.value, lab.unit, collected_at, lab.ref_low, lab.ref_high),
                entered_by=user,
                visit=visit,
            )
        for medicine in entry.medicines:
            _record_medicine(patient=patient, user=user, visit=visit, medicine=medicine)
        for event in entry.adverse_events:
            if event.course is not None and event.course.patient_id != patient.pk:
                raise ValidationError({"course": "That course belongs to another patient."})
            AdverseEvent.objects.create(
                patient=patient,
                visit=visit,
                course=event.course,
                kind=event.kind,
                onset_on=event.onset_on,
                grade=event.grade,
                description=event.description,
                resolved_on=event.resolved_on,
            )
        enqueue_evaluation(patient.pk)
    return visit


def _record_medicine(*, patient: Patient, user, visit: Visit, medicine: MedicineEntry) -> None:
    course = medicine.course
    if course.patient_id != patient.pk:
        raise ValidationError({"course": "That course belongs to another patient."})
    if medicine.dose_taken is not None:
        prescribed = current_dose(course, visit.visit_date)
        if prescribed is None or prescribed.dose_mg_per_day != medicine.dose_taken:
            if prescribed is not None and prescribed.effective_on == visit.visit_date:
                raise ValidationError(
                    {"dose_taken": f"A dose of {prescribed.dose_mg_per_day:g} mg/day is already recorded from this "
                     "day; ask the prescriber to correct it."}
                )  # fmt: skip
            was = f"{prescribed.dose_mg_per_day:g} mg/day" if prescribed else "no recorded dose"
            DoseChange.objects.create(
                course=course,
                effective_on=visit.visit_date,
                dose_mg_per_day=medicine.dose_taken,
                note=f"Dose taken as reported at the visit (prescribed: {was}).",
                entered_by=user,
            )
    if medicine.adherence_method:
        AdherenceRecord.objects.create(
            patient=patient,
            course=course,
            visit=visit,
            recorded_on=visit.visit_date,
            method=medicine.adherence_method,
            missed_doses=medicine.missed_doses,
            lapse_reason=medicine.lapse_reason,
            full_adherence_confirmed=medicine.full_adherence_confirmed,
        )
