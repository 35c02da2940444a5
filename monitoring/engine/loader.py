"""Build plain-data timelines for many patients with a fixed number of queries.

Never one query per patient: the nightly sweep scales with the rows it reads, not with round trips,
and re-evaluating one patient after a new result costs a few of them. For a batch of patients:
  1. the patient rows (with the version of their data), their courses and dose changes, and every
     other per-patient table the timeline holds whole (weights, visits, biopsies...: PATIENT_TABLES),
     in one UNION ALL;
  2. the analytes' codes, unless the caller has them (and, if a result reports no limits, the
     analytes' typical values and the clinics' reference intervals: ReferenceRanges);
  3. their final lab results.

On PostgreSQL the statements take the patient ids as one array parameter, so that their text is the
same for any patients: each is prepared once per connection and then only executed (engine/cache.py, `fetch`).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.db.models import F, Lookup
from django.utils import timezone

from monitoring.engine.cache import fetch, fetch_batches
from monitoring.engine.dates import clinical_date
from monitoring.engine.timeline import (
    AcuteEpisode,
    AdherenceFact,
    AdverseEventFact,
    Biopsy,
    Course,
    Dated,
    Dose,
    Lab,
    Period,
    Pharmacogenetic,
    Timeline,
    VisitFacts,
)
from monitoring.labs.ranges import Limits, default_range
from monitoring.models import Analyte, LabResult, ReferenceInterval, ResultStatus
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
from regimens.models import AdherenceRecord, AdverseEvent, DoseChange, MedicationCourse, PrescribingOverride


def load_timelines(patient_ids: Sequence[int]) -> dict[int, Timeline]:
    """{patient id: Timeline}, in the order of `patient_ids` (ids of no patient are left out)."""
    return load_for_evaluation(patient_ids)[0]


def load_for_evaluation(
    patient_ids: Sequence[int], analyte_codes: dict[int, str] | None = None
) -> tuple[dict[int, Timeline], dict[int, int]]:
    """The timelines, and the version of each patient's data they were read at (changes.py
    `mark_changed`; 0 for a patient never evaluated), read in the same statement as the patient's tables.
    `analyte_codes` ({analyte id: code}) saves reading them when the caller has them."""
    ids = list(dict.fromkeys(patient_ids))
    rows = load_patient_tables(ids)
    facts = {pid: found[0] for pid, found in rows["patient"].items()}
    if not facts:
        return {}, {}
    versions = {pid: f.pop("data_version") or 0 for pid, f in facts.items()}
    sex_of = {pid: f["sex"] for pid, f in facts.items()}
    clinic_of = {pid: f["clinic_id"] for pid, f in facts.items()}
    zone_of = {pid: f.pop("time_zone") for pid, f in facts.items()}
    labs = _load_labs(ids, ReferenceRanges(set(clinic_of.values()), analyte_codes), sex_of, clinic_of, zone_of)
    timelines = {
        pid: Timeline(
            patient_id=pid,
            **facts[pid],
            labs=labs.get(pid, {}),
            courses=_with_doses(
                rows["courses"].get(pid, ()), rows["doses"].get(pid, ()), rows["overrides"].get(pid, ())
            ),
            **{table.name: tuple(rows[table.name].get(pid, ())) for table in TIMELINE_TABLES},
        )
        for pid in ids
        if pid in facts
    }
    return timelines, versions


# -- what the timeline holds whole: one UNION ALL -------------------------------------------------


@dataclass(frozen=True)
class PatientTable:
    """Rows the timeline holds whole, oldest first: which columns, and what a row becomes."""

    name: str  # the Timeline field it fills (but see PATIENT, COURSES, DOSES and OVERRIDES)
    model: type[models.Model]
    ordered_by: str  # a date column (ties in id order)
    columns: tuple[str, ...]  # passed to `make` in this order; "drug__code" is a column of the table `drug` points to
    make: Callable[..., Any]
    patient: str = "patient"  # the path to the patient's id ("course__patient": through the table `course` points to)

    def queryset(self, patient_ids):
        """(patient id, *columns) of these patients from this table alone: what the combined query must match."""
        return (
            self.model.objects.filter(**{f"{self.patient}__in": patient_ids})
            .order_by(self.ordered_by, "pk")
            .values_list(self.patient, *self.columns)
        )


def _patient_facts(
    clinic_id,
    mrn,
    sex,
    born,
    status,
    aih_type,
    diagnosed,
    cirrhosis_on,
    shunt,
    f3,
    potential,
    viral,
    transplanted,
    version,
    zone,
):
    return {
        "clinic_id": clinic_id,
        "mrn": mrn,
        "sex": sex,
        "date_of_birth": born,
        "status": status,
        "aih_type": aih_type,
        "diagnosis_date": diagnosed,
        "cirrhosis_on": cirrhosis_on,
        "portosystemic_shunt": shunt,
        "advanced_fibrosis": f3,
        "reproductive_potential": potential,
        "viral_hepatitis_excluded": viral,
        "transplanted_on": transplanted,
        "data_version": version,  # not the Timeline's: load_for_evaluation takes it out
        "time_zone": zone,  # the clinic's, which dates the results (clinical_date); taken out too
    }


# The patient row itself: the Timeline's scalar fields, and the version of the patient's data.
PATIENT = PatientTable(
    "patient",
    Patient,
    "date_of_birth",
    (
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
        "liver_transplant_on",
        "evaluation_state__data_version",  # None if never evaluated
        "clinic__time_zone",
    ),
    _patient_facts,
    patient="pk",
)
# Courses (by start) and their dose changes (by date), put together by _with_doses.
COURSES = PatientTable(
    "courses",
    MedicationCourse,
    "started_on",
    (
        "id",
        "drug__code",
        "drug__drug_class",
        "started_on",
        "stopped_on",
        "stop_reason",
        "drug__prednisolone_equivalent",
        "prescribed_in_app",
    ),
    lambda *fields: fields,
)
DOSES = PatientTable(
    "doses",
    DoseChange,
    "effective_on",
    ("course_id", "effective_on", "dose_mg_per_day"),
    lambda course_id, on, mg: (course_id, Dose(on, mg)),
    patient="course__patient",
)


# The rules a physician overrode, with a reason, for a course (prescribing or changing its dose).
OVERRIDES = PatientTable(
    "overrides",
    PrescribingOverride,
    "course__started_on",
    ("course_id", "rule_id"),
    lambda course_id, rule_id: (course_id, rule_id),
)


def _with_doses(
    courses: Sequence[tuple], doses: Sequence[tuple[int, Dose]], overrides: Sequence[tuple[int | None, str]] = ()
) -> tuple[Course, ...]:
    by_course: dict[int, list[Dose]] = defaultdict(list)
    for course_id, dose in doses:
        by_course[course_id].append(dose)
    overridden: dict[int, set[str]] = defaultdict(set)
    for course_id, rule_id in overrides:
        if course_id is not None:
            overridden[course_id].add(rule_id)
    return tuple(
        Course(
            pk,
            drug,
            drug_class,
            start,
            stop,
            reason,
            tuple(by_course[pk]),
            equivalent,
            prescribed_in_app=bool(in_app),
            overridden_rules=frozenset(overridden[pk]),
        )
        for pk, drug, drug_class, start, stop, reason, equivalent, in_app in courses
    )


TIMELINE_TABLES: tuple[PatientTable, ...] = (
    PatientTable(
        "weights",
        WeightMeasurement,
        "measured_on",
        ("measured_on", "weight_kg"),
        lambda on, kg: Dated(on, "weight", number=kg),
    ),
    PatientTable(
        "pharmacogenetics",
        PharmacogeneticTest,
        "tested_on",
        ("gene", "phenotype", "tested_on", "activity", "deficiency_cutoff"),
        Pharmacogenetic,
    ),
    PatientTable("pregnancies", PregnancyEpisode, "started_on", ("kind", "started_on", "ended_on"), Period),
    PatientTable("contraception", ContraceptionRecord, "started_on", ("method", "started_on", "ended_on"), Period),
    PatientTable("pregnancy_tests", PregnancyTest, "tested_on", ("tested_on", "result"), Dated),
    PatientTable("immunity", HepatitisImmunity, "tested_on", ("tested_on", "virus", "status"), Dated),
    PatientTable("vaccinations", Vaccination, "given_on", ("given_on", "vaccine"), Dated),
    PatientTable("dexa_scans", DexaScan, "scanned_on", ("scanned_on",), lambda on: on),
    PatientTable(
        "biopsies", LiverBiopsy, "performed_on", ("performed_on", "hai", "fibrosis_stage", "histology"), Biopsy
    ),
    PatientTable(
        "acute_episodes",
        AcuteSevereEpisode,
        "presented_on",
        ("presented_on", "steroid_day0", "hepatic_encephalopathy", "ended_on"),
        AcuteEpisode,
    ),
    PatientTable(
        "visits",
        Visit,
        "visit_date",
        ("visit_date", "ascites", "encephalopathy_grade", "jaundice", "variceal_bleed", "varices", "splenomegaly"),
        VisitFacts,
    ),
    PatientTable("malignancies", Malignancy, "diagnosed_on", ("diagnosed_on", "kind"), Dated),
    PatientTable(
        "relapses",
        Relapse,
        "diagnosed_on",
        ("diagnosed_on", "after_withdrawal"),
        lambda on, after: Dated(on, "after_withdrawal" if after else "on_treatment"),
    ),
    PatientTable(
        "adverse_events",
        AdverseEvent,
        "onset_on",
        ("onset_on", "kind", "description", "course_id", "grade"),
        AdverseEventFact,
    ),
    PatientTable(
        "autoantibodies",
        Autoantibody,
        "tested_on",
        ("tested_on", "antibody", "positive", "titre"),
        lambda on, antibody, positive, titre: Dated(on, antibody, "positive" if positive else "negative", titre),
    ),
    PatientTable(
        "adherence",
        AdherenceRecord,
        "recorded_on",
        ("recorded_on", "method", "lapse_reason", "missed_doses", "full_adherence_confirmed"),
        AdherenceFact,
    ),
)

PATIENT_TABLES: tuple[PatientTable, ...] = (PATIENT, COURSES, DOSES, OVERRIDES, *TIMELINE_TABLES)


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
        raise TypeError(f"{field} is a datetime; PatientTable columns hold dates.")
    for field_class, kind in (
        (models.DateField, "date"),
        (models.BooleanField, "flag"),
        (models.FloatField, "float"),
        (models.IntegerField, "integer"),  # AutoFields and the small ones too
        (models.ForeignKey, "integer"),
        (models.CharField, "text"),
        (models.TextField, "text"),
    ):
        if isinstance(field, field_class):
            return kind
    raise TypeError(f"No slot kind for {field} ({field.get_internal_type()}).")


def _field(model: type[models.Model], path: str) -> models.Field:
    """The field at `path`: a column of the model, or ("drug__code") of the model a foreign key points to."""
    name, _, further = path.partition("__")
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return _field(field.related_model, further) if further else field


def _numbered(kinds: list[str]) -> list[tuple[str, int]]:
    """["date", "text", "date"] -> [("date", 0), ("text", 0), ("date", 1)]: the slot each column takes."""
    taken: dict[str, int] = defaultdict(int)
    slots = []
    for kind in kinds:
        slots.append((kind, taken[kind]))
        taken[kind] += 1
    return slots


class PatientTablesQuery:
    """Some tables of some patients in one UNION ALL, each table in PatientTable.queryset's order.

    A row is (table index, patient id, id, ordered_by, *slots): a table's columns sit in slots of
    their kind (its first date column in the first date slot, and so on) and the slots it does not
    use hold NULLs, so that every branch has the same column types (see _null).
    """

    HEAD = ("source", "patient_id", "id", "sort_on")

    def __init__(self, tables: Sequence[PatientTable], db_connection):
        self.tables = tuple(tables)
        self.makes = [table.make for table in self.tables]
        slots_of = [_numbered([_slot_kind(_field(t.model, c)) for c in t.columns]) for t in self.tables]
        width = {kind: max(sum(k == kind for k, _ in slots) for slots in slots_of) for kind in SLOT_KINDS}
        self.slots = [(kind, n) for kind in SLOT_KINDS for n in range(width[kind])]
        position = {slot: len(self.HEAD) + i for i, slot in enumerate(self.slots)}
        # Per table: where each of its columns is in a row, and how to read it.
        self.readers = [tuple((position[slot], SLOT_KINDS[slot[0]][1]) for slot in slots) for slots in slots_of]
        branches = [
            self._branch(index, table, slots, db_connection)
            for index, (table, slots) in enumerate(zip(self.tables, slots_of, strict=True))
        ]
        self._statement = " UNION ALL ".join(branches) + " ORDER BY source, sort_on, id"

    def _branch(self, index: int, table: PatientTable, slots: list[tuple[str, int]], db_connection) -> str:
        """One table's SELECT: its columns in their slots, NULLs in the others."""
        quote = db_connection.ops.quote_name
        own = quote(table.model._meta.db_table)
        joins: dict[str, str] = {}  # foreign key -> the JOIN to the table it points to (named after the key)

        def column(path: str) -> str:
            name, _, further = path.partition("__")
            if not further:
                return f"{own}.{quote(_field(table.model, name).column)}"
            key = table.model._meta.get_field(name)
            target = key.related_model._meta
            if key.concrete:  # a foreign key of this table
                on = f"{quote(name)}.{quote(target.pk.column)} = {own}.{quote(key.column)}"
            else:  # the other side of a one-to-one that points here
                on = f"{quote(name)}.{quote(key.field.column)} = {own}.{quote(table.model._meta.pk.column)}"
            joins[name] = f"LEFT JOIN {quote(target.db_table)} {quote(name)} ON {on}"
            return f"{quote(name)}.{quote(_field(key.related_model, further).column)}"

        patient = column(table.patient)
        select = [str(index), patient, column("pk"), column(table.ordered_by)]
        column_in = {slot: column(name) for slot, name in zip(slots, table.columns, strict=True)}
        for kind, n in self.slots:
            select.append(column_in.get((kind, n)) or self._null(kind, typed=index == 0, db_connection=db_connection))
        names = [*self.HEAD, *(f"{kind}{n}" for kind, n in self.slots)]
        columns = ", ".join(f"{value} AS {name}" for value, name in zip(select, names, strict=True))
        where = any_of_sql(patient, "%(patient_ids)s", db_connection)
        return f"SELECT {columns} FROM {own} {' '.join(joins.values())} WHERE {where}"

    @staticmethod
    def _null(kind: str, *, typed: bool, db_connection) -> str:
        """An empty slot. A UNION's column types are resolved pairwise from the left (PostgreSQL's rule), so
        typed NULLs in the first branch fix them and the bare NULLs of the others take them (parsing ~300
        casts costs about as much as the rest of the query)."""
        return f"CAST(NULL AS {SLOT_KINDS[kind][0].db_type(db_connection)})" if typed else "NULL"

    def sql(self, patient_ids: Sequence[int], db_connection) -> tuple[str, dict]:
        """The query for these patients and its parameters: the ids are one parameter, named once and used
        by every branch, so the text is the same for any patients (on PostgreSQL prepared once: `fetch`)."""
        return self._statement, {"patient_ids": ids_parameter(patient_ids, db_connection)}

    def read(self, rows) -> dict[str, dict[int, list]]:
        """{table name: {patient id: [what the table's `make` built, ...]}}, each list oldest first."""
        found: list[dict[int, list]] = [defaultdict(list) for _ in self.tables]
        for row in rows:
            index = row[0]
            values = [convert(row[at]) for at, convert in self.readers[index]]
            found[index][row[1]].append(self.makes[index](*values))
        return {table.name: by_patient for table, by_patient in zip(self.tables, found, strict=True)}


@functools.cache
def _patient_tables_query(vendor: str) -> PatientTablesQuery:
    """Built once per process (per database vendor: the casts and quoting depend on it)."""
    return PatientTablesQuery(PATIENT_TABLES, connection)


def load_patient_tables(ids: Sequence[int]) -> dict[str, dict[int, list]]:
    """The PATIENT_TABLES rows of these patients, {table name: {patient id: [...]}}, in one query."""
    query = _patient_tables_query(connection.vendor)
    if not ids:
        return query.read(())
    return query.read(fetch(*query.sql(ids, connection)))


# -- reference ranges and labs --------------------------------------------------------------------


class ReferenceRanges:
    """The limits to use when a result reports none (labs/ranges.py: the clinic's interval, else the
    typical value), with what they are chosen from.

    The analytes' typical values and the clinics' intervals are read when the first such result comes
    (most results carry the lab's range); every result needs its analyte's code.
    """

    def __init__(self, clinic_ids: set[int], analyte_codes: dict[int, str] | None = None):
        self.clinic_ids = clinic_ids
        self.code_of: dict[int, str] = analyte_codes if analyte_codes is not None else self._read_codes()

    def code(self, analyte_id: int) -> str:
        """The analyte's code (read again for an analyte newer than the codes the caller gave)."""
        if analyte_id not in self.code_of:
            self.code_of = self._read_codes()
        return self.code_of[analyte_id]

    @staticmethod
    def _read_codes() -> dict[int, str]:
        return dict(fetch(*_sql(Analyte.objects.order_by().values_list("pk", "code"))))

    @functools.cached_property
    def analytes(self) -> dict[int, Analyte]:
        return {a.pk: a for a in Analyte.objects.order_by()}

    @functools.cached_property
    def clinic(self) -> dict[tuple[int, int], dict[str, Limits]]:
        """{(clinic id, analyte id): {reference-interval sex: (low, high)}}."""
        rows = (
            ReferenceInterval.objects.filter(clinic_id__in=self.clinic_ids)
            .order_by()
            .values_list("clinic_id", "analyte_id", "sex", "low", "high")
        )
        intervals: dict[tuple[int, int], dict[str, Limits]] = defaultdict(dict)
        for clinic_id, analyte_id, sex, low, high in rows:
            intervals[clinic_id, analyte_id][sex] = (low, high)
        return intervals

    def fallback(self, clinic_id: int, analyte_id: int, sex: str) -> tuple[float | None, float | None, str]:
        """(low, high, source) for a result that reports no limits (labs/ranges.py chooses)."""
        chosen = default_range(self.analytes[analyte_id], sex, self.clinic.get((clinic_id, analyte_id), {}))
        return chosen.low, chosen.high, chosen.source


def ids_parameter(ids, db_connection):
    """Ids as one parameter whatever their number (see AnyOf): an array, or JSON text for SQLite."""
    ids = [int(pid) for pid in ids]
    return ids if db_connection.vendor == "postgresql" else json.dumps(ids)


def any_of_sql(column: str, placeholder: str, db_connection) -> str:
    """`column` is one of the ids passed as `placeholder` (ids_parameter)."""
    if db_connection.vendor == "postgresql":
        return f"{column} = ANY({placeholder}::bigint[])"
    return f"{column} IN (SELECT value FROM json_each({placeholder}))"


class AnyOf(Lookup):
    """The column is one of these ids, passed as one parameter: the statement's text is the same for any
    patients, so PostgreSQL prepares it once (`fetch`) and the SQL is compiled once (lab_rows_sql)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, db_connection):
        lhs, lhs_params = self.process_lhs(compiler, db_connection)
        return any_of_sql(lhs, "%s", db_connection), [*lhs_params, ids_parameter(self.rhs, db_connection)]


def lab_rows_query(ids):
    """The lab rows every evaluation reads: final (and corrected) results, with their collection time (the
    loader dates each in its clinic's time zone: clinical_date)."""
    return (
        LabResult.objects.filter(AnyOf(F("patient_id"), list(ids)))
        .exclude(status=ResultStatus.PRELIMINARY.value)
        .order_by("patient_id", "analyte_id", "collected_at", "pk")  # pk: same-time results in a fixed order
        .values_list("patient_id", "analyte_id", "collected_at", "value", "ref_low", "ref_high")
    )


def lab_rows_sql(ids) -> tuple[str, list]:
    """lab_rows_query's SQL and parameters, compiled once per database and time zone: the ORM takes about
    as long to compile it as the database takes to read one patient's results."""
    sql, params, at = _lab_rows_template(connection.vendor, timezone.get_current_timezone_name())
    params = list(params)
    params[at] = ids_parameter(ids, connection)
    return sql, params


@functools.cache
def _lab_rows_template(vendor: str, time_zone: str) -> tuple[str, tuple, int]:
    marker = ids_parameter([-1], connection)
    sql, params = _sql(lab_rows_query([-1]))
    (at,) = [index for index, param in enumerate(params) if param == marker]
    return sql, tuple(params), at


def _sql(queryset) -> tuple[str, tuple]:
    return queryset.query.sql_with_params()


def _load_labs(ids, ranges: ReferenceRanges, sex_of, clinic_of, zone_of) -> dict[int, dict[str, tuple[Lab, ...]]]:
    """Final (and corrected) results per patient and analyte, oldest first, with limits filled in, each
    dated by its collection time in the patient's clinic's time zone."""
    series_of: dict[int, dict[str, list[Lab]]] = defaultdict(dict)
    current_pid = current_analyte = None  # of the series being read: the rows come ordered by both
    zones = {name: ZoneInfo(name) for name in set(zone_of.values())}
    for pid, analyte_id, at, value, low, high in fetch_batches(*lab_rows_sql(ids)):
        if analyte_id != current_analyte or pid != current_pid:
            current_pid, current_analyte = pid, analyte_id
            series = series_of[pid][ranges.code(analyte_id)] = []
            fallback = None  # the same for the whole series: looked up at its first result without limits
            zone = zones[zone_of[pid]]
        if at.__class__ is str:
            at = datetime.fromisoformat(at)  # SQLite: the stored UTC time as text
        on = clinical_date(at, zone)
        if high is not None and (high <= 0 or (low is not None and high <= low)):
            high = None  # an impossible ULN stored before entry refused it (models.reference_range_problem)
        if high is None:
            # No upper limit reported (none at all, or a lower limit only: FHIR low, HL7 '>7'): the ULN is
            # the clinic's for the patient's sex, else the typical one, and the evidence says which.
            fallback = fallback or ranges.fallback(clinic_of[pid], analyte_id, sex_of[pid])
            fallback_low, high, source = fallback
            series.append(Lab(on, value, high, fallback_low if low is None else low, source))
        else:
            series.append(Lab(on, value, high, low, "reported"))
    return {pid: {code: tuple(labs) for code, labs in by_code.items()} for pid, by_code in series_of.items()}
