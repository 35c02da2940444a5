"""Writing: a fixed number of bulk inserts per batch of patients; `seed_demo_cohort` and
`delete_demo_patients`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, models, transaction
from django.utils import timezone

from aih_tracker.models import Clinic, User
from monitoring.catalogue import BY_CODE
from monitoring.models import Analyte, LabResult, LabSource, ResultStatus
from patients.models import Patient, Visit, WeightMeasurement
from regimens.models import AdherenceRecord, AdverseEvent, DoseChange, Drug, MedicationCourse, TaperPlan, TaperStep

from .generator import plan_patient
from .identity import MRN_PREFIX, PHYSICIAN_USERNAME, demo_index
from .labs import LabRow, lab_rows
from .plans import AdverseEventPlan, CoursePlan, PatientPlan


@dataclass
class SeedSummary:
    requested: int
    created: int
    skipped: int
    lab_results: int
    rows: int
    seconds: float

    def line(self) -> str:
        return (
            f"Seeded {self.created} demo patients ({self.skipped} already present) with "
            f"{self.lab_results:,} lab results ({self.rows:,} rows in all) in {self.seconds:.1f} s."
        )


@dataclass
class Catalogue:
    drugs: dict[str, int]
    analytes: dict[str, int]
    physician: User | None


def load_catalogue() -> Catalogue:
    drugs = dict(Drug.objects.values_list("code", "id"))
    analytes = dict(Analyte.objects.values_list("code", "id"))
    missing = [code for code in BY_CODE if code not in analytes] + [
        d for d in ("prednisolone", "azathioprine") if d not in drugs
    ]
    if missing:
        raise RuntimeError(f"Drug/analyte catalogue incomplete ({', '.join(missing)}): run `manage.py migrate` first.")
    return Catalogue(drugs, analytes, User.objects.filter(username=PHYSICIAN_USERNAME).first())


def existing_demo_indexes(clinic: Clinic) -> set[int]:
    mrns = Patient.objects.filter(clinic=clinic, mrn__startswith=MRN_PREFIX).values_list("mrn", flat=True)
    return {index for index in map(demo_index, mrns) if index is not None}


def _patient(plan: PatientPlan, clinic: Clinic) -> Patient:
    return Patient(
        clinic=clinic,
        mrn=plan.mrn,
        family_name=plan.family_name,
        given_name=plan.given_name,
        date_of_birth=plan.date_of_birth,
        sex=plan.sex,
        aih_type=plan.aih_type,
        diagnosis_date=plan.diagnosis_date,
        viral_hepatitis_excluded=True,
        reproductive_potential=plan.reproductive_potential,
        cirrhosis_diagnosed_on=plan.cirrhosis_diagnosed_on,
        cirrhosis_basis=plan.cirrhosis_basis,
        advanced_fibrosis=plan.advanced_fibrosis,
        notes=plan.notes,
    )


def _adverse_event(patient_id: int, event: AdverseEventPlan) -> AdverseEvent:
    return AdverseEvent(
        patient_id=patient_id,
        onset_on=event.onset_on,
        kind=event.kind,
        grade=event.grade,
        description=event.description,
        resolved_on=event.resolved_on,
    )


@dataclass
class WrittenBatch:
    """Primary keys of what a batch has written so far, for the rows that point at them."""

    patient_ids: list[int]
    visit_ids: dict[tuple[int, date], int] = field(default_factory=dict)  # (patient id, visit date)
    course_ids: dict[int, int] = field(default_factory=dict)  # id(CoursePlan) -> course pk
    rows: int = 0


def write_batch(
    plans: Sequence[PatientPlan], clinic: Clinic, catalogue: Catalogue, seed: int | str, *, use_copy: bool
) -> tuple[int, int]:
    """Insert a batch of planned patients and everything they own. Returns (lab results, rows)."""
    patients = Patient.objects.bulk_create([_patient(plan, clinic) for plan in plans])
    batch = WrittenBatch([p.pk for p in patients], rows=len(patients))
    _write_visits(batch, plans, catalogue.physician)
    courses = _write_courses(batch, plans, catalogue)
    _write_tapers_and_doses(batch, courses, catalogue.physician)
    batch.rows += _write_leaf_rows(batch.patient_ids, plans, batch.visit_ids, batch.course_ids)
    labs = [
        (pid, row, batch.visit_ids.get((pid, row.drawn_on)))
        for pid, plan in zip(batch.patient_ids, plans, strict=True)
        for row in lab_rows(plan, seed)
    ]
    insert_lab_results(labs, catalogue.analytes, use_copy=use_copy)
    return len(labs), batch.rows + len(labs)


def _write_visits(batch: WrittenBatch, plans: Sequence[PatientPlan], physician: User | None) -> None:
    visits = [
        (pid, v.on, Visit(patient_id=pid, visit_date=v.on, clinician=physician, notes=v.notes, jaundice=v.jaundice,
                          varices=v.varices, splenomegaly=v.splenomegaly))
        for pid, plan in zip(batch.patient_ids, plans, strict=True) for v in plan.visits
    ]  # fmt: skip
    Visit.objects.bulk_create([visit for *_, visit in visits])
    batch.visit_ids = {(pid, on): visit.pk for pid, on, visit in visits}
    batch.rows += len(visits)


def _write_courses(
    batch: WrittenBatch, plans: Sequence[PatientPlan], catalogue: Catalogue
) -> list[tuple[CoursePlan, MedicationCourse]]:
    """Courses and their adverse events. Events go first: a course stopped for intolerance must name
    its event (a database constraint); the events then get their course in one bulk update."""
    events: list[tuple[AdverseEvent, CoursePlan]] = []
    stop_events: dict[int, AdverseEvent] = {}
    for pid, plan in zip(batch.patient_ids, plans, strict=True):
        for course in plan.courses:
            for event in [*course.adverse_events, *([course.stop_event] if course.stop_event else [])]:
                row = _adverse_event(pid, event)
                events.append((row, course))
                if event is course.stop_event:
                    stop_events[id(course)] = row
    AdverseEvent.objects.bulk_create([row for row, _ in events])
    courses = [
        (c, MedicationCourse(
            patient_id=pid, drug_id=catalogue.drugs[c.drug], line_of_therapy=c.line, started_on=c.started_on,
            stopped_on=c.stopped_on, stop_reason=c.stop_reason, stop_note=c.stop_note,
            stop_adverse_event=stop_events.get(id(c)), prescriber=catalogue.physician,
            prescribed_in_app=True,  # the demo clinic prescribed its courses on the prescribing page
        ))
        for pid, plan in zip(batch.patient_ids, plans, strict=True) for c in plan.courses
    ]  # fmt: skip
    MedicationCourse.objects.bulk_create([row for _, row in courses])
    batch.course_ids = {id(c): row.pk for c, row in courses}
    for row, course in events:
        row.course_id = batch.course_ids[id(course)]
    AdverseEvent.objects.bulk_update([row for row, _ in events], ["course"])
    batch.rows += len(events) + len(courses)
    return courses


def _write_tapers_and_doses(
    batch: WrittenBatch, courses: list[tuple[CoursePlan, MedicationCourse]], physician: User | None
) -> None:
    """Taper plans, their steps, then the dose changes that carry the steps out."""
    tapered = [(c, row) for c, row in courses if c.taper_steps]
    taper_plans = TaperPlan.objects.bulk_create(
        [TaperPlan(course_id=row.pk, protocol=c.taper_protocol, created_by=physician) for c, row in tapered]
    )
    steps = [
        (id(c), step.sequence, TaperStep(plan_id=tp.pk, sequence=step.sequence, starts_on=step.starts_on,
                                         dose_mg_per_day=step.mg, note=step.note))
        for (c, _), tp in zip(tapered, taper_plans, strict=True) for step in c.taper_steps
    ]  # fmt: skip
    TaperStep.objects.bulk_create([row for *_, row in steps])
    step_ids = {(course_key, sequence): row.pk for course_key, sequence, row in steps}
    doses = [
        DoseChange(course_id=row.pk, effective_on=d.effective_on, dose_mg_per_day=d.mg, schedule=d.schedule,
                   note=d.note, taper_step_id=step_ids.get((id(c), d.step)), entered_by=physician)
        for c, row in courses for d in c.doses
    ]  # fmt: skip
    DoseChange.objects.bulk_create(doses)
    batch.rows += len(taper_plans) + len(steps) + len(doses)


def _write_leaf_rows(
    ids: Sequence[int], plans: Sequence[PatientPlan], visit_ids: dict[tuple[int, date], int], course_ids: dict[int, int]
) -> int:
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for pid, plan in zip(ids, plans, strict=True):
        for row in plan.rows:
            by_model.setdefault(row.model, []).append(row.model(patient_id=pid, **row.fields))
        weights = by_model.setdefault(WeightMeasurement, [])
        for visit in plan.visits:
            if visit.weight_kg:
                weights.append(
                    WeightMeasurement(patient_id=pid, measured_on=visit.on, weight_kg=visit.weight_kg,
                                      visit_id=visit_ids[(pid, visit.on)])
                )  # fmt: skip
        adherence = by_model.setdefault(AdherenceRecord, [])
        courses = {c.key: c for c in plan.courses}
        for record in plan.adherence:
            course = courses.get(record.course_key)
            adherence.append(
                AdherenceRecord(
                    patient_id=pid, recorded_on=record.recorded_on, method=record.method,
                    missed_doses=record.missed_doses, lapse_reason=record.lapse_reason,
                    course_id=course_ids[id(course)] if course else None,
                    visit_id=visit_ids.get((pid, record.recorded_on)),
                )
            )  # fmt: skip
    for model, objects in by_model.items():
        model.objects.bulk_create(objects)
    return sum(len(objects) for objects in by_model.values())


LAB_COLUMNS = (
    "patient", "analyte", "value", "value_as_reported", "unit_as_reported", "ref_low", "ref_high",
    "collected_at", "status", "source", "source_id", "visit", "created_at",
)  # fmt: skip


def insert_lab_results(
    labs: Sequence[tuple[int, LabRow, int | None]], analyte_ids: dict[str, int], *, use_copy: bool
) -> None:
    if use_copy:
        copy_lab_results(labs, analyte_ids)
        return
    LabResult.objects.bulk_create(
        [
            LabResult(patient_id=pid, analyte_id=analyte_ids[r.analyte], value=r.value,
                      value_as_reported=r.value_as_reported, unit_as_reported=r.unit_as_reported,
                      ref_low=r.ref_low, ref_high=r.ref_high, collected_at=r.collected_at,
                      status=ResultStatus.FINAL, source=LabSource.DEMO, source_id=r.source_id, visit_id=visit_id)
            for pid, r, visit_id in labs
        ],
        batch_size=2000,
    )  # fmt: skip


def copy_lab_results(labs: Sequence[tuple[int, LabRow, int | None]], analyte_ids: dict[str, int]) -> None:
    """PostgreSQL COPY (psycopg 3): the same rows as bulk_create, about ten times faster."""
    meta = LabResult._meta
    columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in LAB_COLUMNS)
    now = timezone.now()
    final, demo = ResultStatus.FINAL.value, LabSource.DEMO.value
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {meta.db_table} ({columns}) FROM STDIN") as copy:
        for pid, r, visit_id in labs:
            copy.write_row(
                (pid, analyte_ids[r.analyte], r.value, r.value_as_reported, r.unit_as_reported, r.ref_low,
                 r.ref_high, r.collected_at, final, demo, r.source_id, visit_id, now)
            )  # fmt: skip


def can_copy() -> bool:
    return connection.vendor == "postgresql"


def seed_demo_cohort(
    *,
    patients: int,
    seed: int | str,
    as_of: date | None = None,
    clinic: Clinic | None = None,
    batch_size: int = 200,
    use_copy: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedSummary:
    """Create demo patients 1..`patients` that the clinic does not have yet. Idempotent."""
    started = time.perf_counter()
    as_of = as_of or timezone.localdate()
    clinic = clinic or Clinic.default()
    use_copy = can_copy() if use_copy is None else use_copy
    catalogue = load_catalogue()
    existing = existing_demo_indexes(clinic)
    missing = [i for i in range(1, patients + 1) if i not in existing]
    lab_results = rows = 0
    for start in range(0, len(missing), batch_size):
        batch = [plan_patient(seed, index, as_of) for index in missing[start : start + batch_size]]
        with transaction.atomic():
            labs, written = write_batch(batch, clinic, catalogue, seed, use_copy=use_copy)
        lab_results, rows = lab_results + labs, rows + written
        if progress:
            progress(start + len(batch), len(missing))
    return SeedSummary(
        patients, len(missing), patients - len(missing), lab_results, rows, time.perf_counter() - started
    )


def delete_demo_patients(clinic: Clinic | None = None) -> int:
    """Remove the clinic's demo patients and every row that cascades from them. Returns the patient count.

    One DELETE per table, children first. `Model.delete()` would load and delete row by row
    (django-simple-history listens to post_delete), which takes minutes for a large cohort.
    """
    clinic = clinic or Clinic.default()
    patients = Patient.objects.filter(clinic=clinic, mrn__startswith=MRN_PREFIX)
    with transaction.atomic():
        # QuerySet._raw_delete: Django's own single-statement DELETE, which sends no signals.
        for queryset in _cascade(Patient, patients):
            queryset._raw_delete(queryset.db)
        return patients._raw_delete(patients.db)


def _cascade(model: type[models.Model], queryset: models.QuerySet) -> list[models.QuerySet]:
    """Querysets of the rows that CASCADE from `queryset`, deepest first."""
    dependents: list[models.QuerySet] = []
    for relation in model._meta.related_objects:
        if relation.on_delete is models.CASCADE:
            child = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": queryset})
            dependents += [*_cascade(relation.related_model, child), child]
    return dependents
