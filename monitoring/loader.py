"""Build plain-data timelines for many patients with a fixed number of queries.

Never one query per patient: the nightly sweep scales with the rows it reads, not with round trips,
and re-evaluating one patient after a new result costs a handful of round trips. For a batch:
  the patients; their final lab results; their courses with dose changes (one join); and every
  other per-patient table (weights, visits, biopsies...: EVENT_TABLES) in one UNION ALL;
plus the analyte catalogue and the clinics' reference intervals (ReferenceRanges).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, models
from django.db.models.functions import TruncDate

from patients.models import (
    AcuteSevereEpisode,
    Autoantibody,
    ContraceptionRecord,
    DexaScan,
    HepatitisImmunity,
    LiverBiopsy,
    Malignancy,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    PregnancyTest,
    Relapse,
    Vaccination,
    Visit,
    WeightMeasurement,
)
from regimens.models import AdherenceRecord, AdverseEvent, MedicationCourse

from .models import Analyte, LabResult, ReferenceInterval, ResultStatus
from .timeline import AcuteEpisode, Biopsy, Course, Dated, Dose, Lab, Period, Pharmacogenetic, Timeline, VisitFacts

LAB_FETCH_BATCH = 20000


class ReferenceRanges:
    """The limits to use when a result reports none: the clinic's interval, else the typical value.

    The clinics' intervals are read when the first such result comes (most results carry the lab's range).
    """

    def __init__(self, clinic_ids: set[int]):
        self.clinic_ids = clinic_ids
        self.analytes = {a.pk: a for a in Analyte.objects.order_by()}

    @functools.cached_property
    def clinic(self) -> dict[tuple[int, int, str], tuple[float | None, float | None]]:
        rows = (
            ReferenceInterval.objects.filter(clinic_id__in=self.clinic_ids)
            .order_by()
            .values_list("clinic_id", "analyte_id", "sex", "low", "high")
        )
        return {row[:3]: row[3:] for row in rows}

    def fallback(self, clinic_id: int, analyte_id: int, sex: str) -> tuple[float | None, float | None, str]:
        for key in ((clinic_id, analyte_id, sex), (clinic_id, analyte_id, "any")):
            if key in self.clinic:
                low, high = self.clinic[key]
                return low, high, "clinic"
        analyte = self.analytes[analyte_id]
        high = analyte.typical_uln(sex)
        return analyte.typical_low, high, ("typical" if high is not None else "none")


PATIENT_FIELDS = (
    "pk",
    "clinic_id",
    "mrn",
    "sex",
    "date_of_birth",
    "status",
    "aih_type",
    "diagnosis_date",
    "cirrhosis_diagnosed_on",
    "portosystemic_shunt",
    "advanced_fibrosis",
    "reproductive_potential",
    "viral_hepatitis_excluded",
)


def load_timelines(patient_ids: Sequence[int]) -> dict[int, Timeline]:
    ids = list(patient_ids)
    patients = list(Patient.objects.filter(pk__in=ids).order_by().values_list(*PATIENT_FIELDS))
    if not patients:
        return {}
    sex_of = {p[0]: p[3] for p in patients}
    clinic_of = {p[0]: p[1] for p in patients}
    ranges = ReferenceRanges(set(clinic_of.values()))
    labs = _load_labs(ids, ranges, sex_of, clinic_of)
    courses = _load_courses(ids)
    events = load_events(ids)

    timelines = {}
    for row in patients:
        pid = row[0]
        timelines[pid] = Timeline(
            patient_id=pid,
            clinic_id=row[1],
            mrn=row[2],
            sex=row[3],
            date_of_birth=row[4],
            status=row[5],
            aih_type=row[6],
            diagnosis_date=row[7],
            cirrhosis_on=row[8],
            portosystemic_shunt=row[9],
            advanced_fibrosis=row[10],
            reproductive_potential=row[11],
            viral_hepatitis_excluded=row[12],
            labs=labs.get(pid, {}),
            courses=tuple(courses.get(pid, ())),
            **{table.timeline_field: tuple(events[table.timeline_field].get(pid, ())) for table in EVENT_TABLES},
        )
    return timelines


# -- the small per-patient tables, in one query ---------------------------------------------------


@dataclass(frozen=True)
class EventTable:
    """A per-patient table the timeline holds whole, oldest first: which columns, and what a row becomes."""

    timeline_field: str  # the Timeline attribute it fills
    model: type[models.Model]
    ordered_by: str  # a date column (ties in id order)
    columns: tuple[str, ...]  # passed to `make` in this order
    make: Callable[..., Any]

    def queryset(self, patient_ids):
        """(patient_id, *columns) of these patients, read from this table alone (what the combined query must match)."""
        return (
            self.model.objects.filter(patient_id__in=patient_ids)
            .order_by(self.ordered_by, "pk")
            .values_list("patient_id", *self.columns)
        )


EVENT_TABLES: tuple[EventTable, ...] = (
    EventTable(
        "weights",
        WeightMeasurement,
        "measured_on",
        ("measured_on", "weight_kg"),
        lambda on, kg: Dated(on, "weight", number=kg),
    ),
    EventTable(
        "pharmacogenetics",
        PharmacogeneticTest,
        "tested_on",
        ("gene", "phenotype", "tested_on", "activity", "deficiency_cutoff"),
        Pharmacogenetic,
    ),
    EventTable("pregnancies", PregnancyEpisode, "started_on", ("kind", "started_on", "ended_on"), Period),
    EventTable("contraception", ContraceptionRecord, "started_on", ("method", "started_on", "ended_on"), Period),
    EventTable("pregnancy_tests", PregnancyTest, "tested_on", ("tested_on", "result"), Dated),
    EventTable("immunity", HepatitisImmunity, "tested_on", ("tested_on", "virus", "status"), Dated),
    EventTable("vaccinations", Vaccination, "given_on", ("given_on", "vaccine"), Dated),
    EventTable("dexa_scans", DexaScan, "scanned_on", ("scanned_on",), lambda on: on),
    EventTable("biopsies", LiverBiopsy, "performed_on", ("performed_on", "hai", "fibrosis_stage", "histology"), Biopsy),
    EventTable(
        "acute_episodes",
        AcuteSevereEpisode,
        "presented_on",
        ("presented_on", "steroid_day0", "hepatic_encephalopathy", "ended_on"),
        AcuteEpisode,
    ),
    EventTable(
        "visits",
        Visit,
        "visit_date",
        ("visit_date", "ascites", "encephalopathy_grade", "jaundice", "variceal_bleed", "varices", "splenomegaly"),
        VisitFacts,
    ),
    EventTable("malignancies", Malignancy, "diagnosed_on", ("diagnosed_on", "kind"), Dated),
    EventTable(
        "relapses",
        Relapse,
        "diagnosed_on",
        ("diagnosed_on", "after_withdrawal"),
        lambda on, after: Dated(on, "after_withdrawal" if after else "on_treatment"),
    ),
    EventTable(
        "adverse_events",
        AdverseEvent,
        "onset_on",
        ("onset_on", "kind", "description", "course_id"),
        lambda on, kind, description, course_id: Dated(on, kind, description, course_id),
    ),
    EventTable(
        "autoantibodies",
        Autoantibody,
        "tested_on",
        ("tested_on", "antibody", "positive", "titre"),
        lambda on, antibody, positive, titre: Dated(on, antibody, "positive" if positive else "negative", titre),
    ),
    EventTable(
        "adherence",
        AdherenceRecord,
        "recorded_on",
        ("recorded_on", "method", "lapse_reason", "missed_doses"),
        Dated,
    ),
)


def _as_date(value):
    """SQLite returns dates as ISO text (the ORM's converters are bypassed here)."""
    return date.fromisoformat(value) if value.__class__ is str else value


def _as_flag(value):
    """SQLite returns booleans as 0 / 1."""
    return value if value is None else bool(value)


def _same(value):
    return value


# The column kinds the combined query has slots for: the type a slot's NULL is cast to (every
# branch of a UNION must agree on column types), and how a value read from it becomes Python's.
SLOT_KINDS: dict[str, tuple[models.Field, Callable]] = {
    "date": (models.DateField(), _as_date),
    "text": (models.TextField(), _same),
    "float": (models.FloatField(), _same),
    "integer": (models.BigIntegerField(), _same),
    "flag": (models.BooleanField(), _as_flag),
}


def _slot_kind(field: models.Field) -> str:
    if isinstance(field, models.DateTimeField):
        raise TypeError(f"{field} is a datetime; EventTable columns hold dates.")
    for field_class, kind in (
        (models.DateField, "date"),
        (models.BooleanField, "flag"),
        (models.FloatField, "float"),
        (models.IntegerField, "integer"),
        (models.ForeignKey, "integer"),
        (models.CharField, "text"),
        (models.TextField, "text"),
    ):
        if isinstance(field, field_class):
            return kind
    raise TypeError(f"No slot kind for {field} ({field.get_internal_type()}).")


def _numbered(kinds: list[str]) -> list[tuple[str, int]]:
    """["date", "text", "date"] -> [("date", 0), ("text", 0), ("date", 1)]: the slot each column takes."""
    taken: dict[str, int] = defaultdict(int)
    slots = []
    for kind in kinds:
        slots.append((kind, taken[kind]))
        taken[kind] += 1
    return slots


class EventsQuery:
    """The EVENT_TABLES of some patients in one UNION ALL, each table in EventTable.queryset's order.

    A row is (table index, patient_id, id, ordered_by, *slots): a table's columns sit in slots of
    their kind (its first date column in the first date slot, and so on) and the slots it does not
    use hold typed NULLs, so that every branch has the same column types.
    """

    HEAD = ("source", "patient_id", "id", "sort_on")

    def __init__(self, tables: Sequence[EventTable], db_connection):
        self.tables = tuple(tables)
        self.makes = [table.make for table in self.tables]
        slots_of = [_numbered([_slot_kind(t.model._meta.get_field(c)) for c in t.columns]) for t in self.tables]
        width = {kind: max(sum(k == kind for k, _ in slots) for slots in slots_of) for kind in SLOT_KINDS}
        self.slots = [(kind, n) for kind in SLOT_KINDS for n in range(width[kind])]
        position = {slot: len(self.HEAD) + i for i, slot in enumerate(self.slots)}
        # Per table: where each of its columns is in a row, and how to read it.
        self.readers = [tuple((position[slot], SLOT_KINDS[slot[0]][1]) for slot in slots) for slots in slots_of]
        branches = [
            self._branch(index, table, slots, db_connection)
            for index, (table, slots) in enumerate(zip(self.tables, slots_of, strict=True))
        ]
        self._template = " UNION ALL ".join(branches) + " ORDER BY source, sort_on, id"

    def _branch(self, index: int, table: EventTable, slots: list[tuple[str, int]], db_connection) -> str:
        """One table's SELECT: its columns in their slots, typed NULLs in the others."""
        quote = db_connection.ops.quote_name
        meta = table.model._meta
        column_of = {slot: quote(meta.get_field(name).column) for slot, name in zip(slots, table.columns, strict=True)}
        patient = quote(meta.get_field("patient").column)
        select = [str(index), patient, quote(meta.pk.column), quote(meta.get_field(table.ordered_by).column)]
        for kind, n in self.slots:
            select.append(column_of.get((kind, n)) or f"CAST(NULL AS {SLOT_KINDS[kind][0].db_type(db_connection)})")
        names = [*self.HEAD, *(f"{kind}{n}" for kind, n in self.slots)]
        columns = ", ".join(f"{value} AS {name}" for value, name in zip(select, names, strict=True))
        return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {patient} IN ({{patient_ids}})"

    def sql(self, patient_ids: Sequence[int]) -> str:
        """The query for these patients. The ids are written into it as integer literals (int() makes them
        safe): every branch repeats the list, and as parameters a large batch would pass SQLite's limit.
        (A table expression holding them once costs PostgreSQL several ms of planning instead.)"""
        return self._template.format(patient_ids=", ".join(str(int(pid)) for pid in patient_ids))

    def read(self, rows) -> dict[str, dict[int, list]]:
        """{timeline field: {patient_id: [what the table's `make` built, ...]}}, each list oldest first."""
        found: list[dict[int, list]] = [defaultdict(list) for _ in self.tables]
        for row in rows:
            index = row[0]
            values = [convert(row[at]) for at, convert in self.readers[index]]
            found[index][row[1]].append(self.makes[index](*values))
        return {table.timeline_field: by_patient for table, by_patient in zip(self.tables, found, strict=True)}


@functools.cache
def _events_query(vendor: str) -> EventsQuery:
    """Built once per process (per database vendor: the casts and quoting depend on it)."""
    return EventsQuery(EVENT_TABLES, connection)


def load_events(ids: Sequence[int]) -> dict[str, dict[int, list]]:
    """The EVENT_TABLES rows of these patients: {timeline field: {patient_id: [...]}}, one query."""
    query = _events_query(connection.vendor)
    if not ids:
        return query.read(())
    with connection.cursor() as cursor:
        cursor.execute(query.sql(ids))
        return query.read(cursor.fetchall())


def lab_rows_query(ids):
    """The lab rows every evaluation reads: final (and corrected) results, one date per result."""
    return (
        LabResult.objects.filter(patient_id__in=ids)
        .exclude(status=ResultStatus.PRELIMINARY)
        .annotate(on=TruncDate("collected_at"))
        .order_by("patient_id", "analyte_id", "collected_at")
        .values_list("patient_id", "analyte_id", "on", "value", "ref_low", "ref_high")
    )


def fetch_plain(queryset, batch_size: int = LAB_FETCH_BATCH):
    """Yield a values_list queryset's rows as the driver returns them, without the ORM's per-row converters.

    The sweep reads millions of lab rows; Django's converters cost more than the read itself. The
    date annotation is cast by the database (PostgreSQL returns a date; SQLite's cast function
    returns ISO text, parsed here).
    """
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(batch_size):
            yield from batch


def _load_labs(ids, ranges: ReferenceRanges, sex_of, clinic_of) -> dict[int, dict[str, tuple[Lab, ...]]]:
    """Final (and corrected) results per patient and analyte, oldest first, with limits filled in."""
    code_of = {pk: a.code for pk, a in ranges.analytes.items()}
    series_of: dict[int, dict[str, list[Lab]]] = defaultdict(dict)
    current = None  # (patient, analyte) of the series being read: the rows come ordered by both
    for pid, analyte_id, on, value, low, high in fetch_plain(lab_rows_query(ids)):
        if (pid, analyte_id) != current:
            current = (pid, analyte_id)
            series = series_of[pid][code_of[analyte_id]] = []
            fallback = None  # the same for the whole series: looked up at its first result without limits
        if on.__class__ is str:
            on = date.fromisoformat(on)
        if low is None and high is None:
            fallback = fallback or ranges.fallback(clinic_of[pid], analyte_id, sex_of[pid])
            low, high, source = fallback
            series.append(Lab(on, value, high, low, source))
        else:
            series.append(Lab(on, value, high, low, "reported"))
    return {pid: {code: tuple(labs) for code, labs in by_code.items()} for pid, by_code in series_of.items()}


def _load_courses(ids) -> dict[int, list[Course]]:
    """Each patient's courses (by start), each with its dose changes (by date): one query, courses joined to doses."""
    rows = (
        MedicationCourse.objects.filter(patient_id__in=ids)
        .order_by("started_on", "pk", "dose_changes__effective_on", "dose_changes__pk")
        .values_list(
            "patient_id",
            "pk",
            "drug__code",
            "drug__drug_class",
            "started_on",
            "stopped_on",
            "stop_reason",
            "drug__prednisolone_equivalent",
            "dose_changes__effective_on",
            "dose_changes__dose_mg_per_day",
        )
    )
    course_rows: dict[int, tuple] = {}  # course id -> (patient_id, course fields, doses), in course order
    for pid, pk, code, drug_class, start, stop, reason, equivalent, dose_on, mg in rows:
        if pk not in course_rows:
            course_rows[pk] = (pid, (pk, code, drug_class, start, stop, reason), equivalent, [])
        if dose_on is not None:
            course_rows[pk][3].append(Dose(dose_on, mg))
    courses: dict[int, list[Course]] = defaultdict(list)
    for pid, fields, equivalent, doses in course_rows.values():
        courses[pid].append(Course(*fields, tuple(doses), equivalent))
    return courses
