"""Build plain-data timelines for many patients with a fixed number of queries.

One query per table for the whole batch (patient_id IN (...)), never one per patient, so
the nightly sweep scales with the rows it reads, not with round trips.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from django.db import connection
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
from regimens.models import AdherenceRecord, AdverseEvent, DoseChange, MedicationCourse

from .models import Analyte, LabResult, ReferenceInterval, ResultStatus
from .timeline import AcuteEpisode, Biopsy, Course, Dated, Dose, Lab, Period, Pharmacogenetic, Timeline, VisitFacts

LAB_FETCH_BATCH = 20000


def _grouped(rows, make) -> dict[int, list]:
    """rows of (patient_id, *fields) -> {patient_id: [make(*fields), ...]} in row order."""
    grouped: dict[int, list] = defaultdict(list)
    for patient_id, *fields in rows:
        grouped[patient_id].append(make(*fields))
    return grouped


class ReferenceRanges:
    """The limits to use when a result reports none: the clinic's interval, else the typical value."""

    def __init__(self, clinic_ids: set[int]):
        self.analytes = {a.pk: a for a in Analyte.objects.all()}
        self.clinic: dict[tuple[int, int, str], tuple[float | None, float | None]] = {}
        for row in ReferenceInterval.objects.filter(clinic_id__in=clinic_ids).values_list(
            "clinic_id", "analyte_id", "sex", "low", "high"
        ):
            self.clinic[row[:3]] = row[3:]

    def fallback(self, clinic_id: int, analyte_id: int, sex: str) -> tuple[float | None, float | None, str]:
        for key in ((clinic_id, analyte_id, sex), (clinic_id, analyte_id, "any")):
            if key in self.clinic:
                low, high = self.clinic[key]
                return low, high, "clinic"
        analyte = self.analytes[analyte_id]
        high = analyte.typical_uln(sex)
        return analyte.typical_low, high, ("typical" if high is not None else "none")


def load_timelines(patient_ids: Sequence[int]) -> dict[int, Timeline]:
    ids = list(patient_ids)
    patients = list(
        Patient.objects.filter(pk__in=ids).values_list(
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
    )
    if not patients:
        return {}
    sex_of = {p[0]: p[3] for p in patients}
    clinic_of = {p[0]: p[1] for p in patients}
    ranges = ReferenceRanges(set(clinic_of.values()))
    labs = _load_labs(ids, ranges, sex_of, clinic_of)
    courses = _load_courses(ids)
    by_patient = {"patient_id__in": ids}

    weights = _grouped(
        WeightMeasurement.objects.filter(**by_patient)
        .order_by("measured_on")
        .values_list("patient_id", "measured_on", "weight_kg"),
        lambda on, kg: Dated(on, "weight", number=kg),
    )
    pgx = _grouped(
        PharmacogeneticTest.objects.filter(**by_patient)
        .order_by("tested_on")
        .values_list("patient_id", "gene", "phenotype", "tested_on", "activity", "deficiency_cutoff"),
        Pharmacogenetic,
    )
    pregnancies = _grouped(
        PregnancyEpisode.objects.filter(**by_patient)
        .order_by("started_on")
        .values_list("patient_id", "kind", "started_on", "ended_on"),
        Period,
    )
    contraception = _grouped(
        ContraceptionRecord.objects.filter(**by_patient)
        .order_by("started_on")
        .values_list("patient_id", "method", "started_on", "ended_on"),
        Period,
    )
    pregnancy_tests = _grouped(
        PregnancyTest.objects.filter(**by_patient)
        .order_by("tested_on")
        .values_list("patient_id", "tested_on", "result"),
        Dated,
    )
    immunity = _grouped(
        HepatitisImmunity.objects.filter(**by_patient)
        .order_by("tested_on")
        .values_list("patient_id", "tested_on", "virus", "status"),
        Dated,
    )
    vaccinations = _grouped(
        Vaccination.objects.filter(**by_patient).order_by("given_on").values_list("patient_id", "given_on", "vaccine"),
        Dated,
    )
    dexa = _grouped(
        DexaScan.objects.filter(**by_patient).order_by("scanned_on").values_list("patient_id", "scanned_on"),
        lambda on: on,
    )
    biopsies = _grouped(
        LiverBiopsy.objects.filter(**by_patient)
        .order_by("performed_on")
        .values_list("patient_id", "performed_on", "hai", "fibrosis_stage", "histology"),
        Biopsy,
    )
    episodes = _grouped(
        AcuteSevereEpisode.objects.filter(**by_patient)
        .order_by("presented_on")
        .values_list("patient_id", "presented_on", "steroid_day0", "hepatic_encephalopathy", "ended_on"),
        AcuteEpisode,
    )
    visits = _grouped(
        Visit.objects.filter(**by_patient)
        .order_by("visit_date")
        .values_list(
            "patient_id",
            "visit_date",
            "ascites",
            "encephalopathy_grade",
            "jaundice",
            "variceal_bleed",
            "varices",
            "splenomegaly",
        ),
        VisitFacts,
    )
    malignancies = _grouped(
        Malignancy.objects.filter(**by_patient)
        .order_by("diagnosed_on")
        .values_list("patient_id", "diagnosed_on", "kind"),
        Dated,
    )
    relapses = _grouped(
        Relapse.objects.filter(**by_patient)
        .order_by("diagnosed_on")
        .values_list("patient_id", "diagnosed_on", "after_withdrawal"),
        lambda on, after: Dated(on, "after_withdrawal" if after else "on_treatment"),
    )
    adverse_events = _grouped(
        AdverseEvent.objects.filter(**by_patient)
        .order_by("onset_on")
        .values_list("patient_id", "onset_on", "kind", "description", "course_id"),
        lambda on, kind, description, course_id: Dated(on, kind, description, course_id),
    )
    autoantibodies = _grouped(
        Autoantibody.objects.filter(**by_patient)
        .order_by("tested_on")
        .values_list("patient_id", "tested_on", "antibody", "positive", "titre"),
        lambda on, antibody, positive, titre: Dated(on, antibody, "positive" if positive else "negative", titre),
    )
    adherence = _grouped(
        AdherenceRecord.objects.filter(**by_patient)
        .order_by("recorded_on")
        .values_list("patient_id", "recorded_on", "method", "lapse_reason", "missed_doses"),
        Dated,
    )

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
            weights=tuple(weights.get(pid, ())),
            pharmacogenetics=tuple(pgx.get(pid, ())),
            pregnancies=tuple(pregnancies.get(pid, ())),
            contraception=tuple(contraception.get(pid, ())),
            pregnancy_tests=tuple(pregnancy_tests.get(pid, ())),
            immunity=tuple(immunity.get(pid, ())),
            vaccinations=tuple(vaccinations.get(pid, ())),
            dexa_scans=tuple(dexa.get(pid, ())),
            biopsies=tuple(biopsies.get(pid, ())),
            acute_episodes=tuple(episodes.get(pid, ())),
            visits=tuple(visits.get(pid, ())),
            malignancies=tuple(malignancies.get(pid, ())),
            relapses=tuple(relapses.get(pid, ())),
            adverse_events=tuple(adverse_events.get(pid, ())),
            autoantibodies=tuple(autoantibodies.get(pid, ())),
            adherence=tuple(adherence.get(pid, ())),
        )
    return timelines


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
    series: dict[int, dict[str, list[Lab]]] = defaultdict(lambda: defaultdict(list))
    fallbacks: dict[tuple[int, int], tuple] = {}
    for pid, analyte_id, on, value, low, high in fetch_plain(lab_rows_query(ids)):
        if on.__class__ is str:
            on = date.fromisoformat(on)
        if high is None and low is None:
            key = (pid, analyte_id)
            if key not in fallbacks:
                fallbacks[key] = ranges.fallback(clinic_of[pid], analyte_id, sex_of[pid])
            low, high, source = fallbacks[key]
        else:
            source = "reported"
        series[pid][code_of[analyte_id]].append(Lab(on, value, high, low, source))
    return {pid: {code: tuple(labs) for code, labs in by_code.items()} for pid, by_code in series.items()}


def _load_courses(ids) -> dict[int, list[Course]]:
    doses: dict[int, list[Dose]] = defaultdict(list)
    for course_id, on, mg in (
        DoseChange.objects.filter(course__patient_id__in=ids)
        .order_by("course_id", "effective_on")
        .values_list("course_id", "effective_on", "dose_mg_per_day")
    ):
        doses[course_id].append(Dose(on, mg))
    rows = (
        MedicationCourse.objects.filter(patient_id__in=ids)
        .order_by("started_on", "pk")
        .values_list(
            "patient_id",
            "pk",
            "drug__code",
            "drug__drug_class",
            "started_on",
            "stopped_on",
            "stop_reason",
            "drug__prednisolone_equivalent",
        )
    )
    courses: dict[int, list[Course]] = defaultdict(list)
    for pid, pk, code, drug_class, start, stop, reason, equivalent in rows:
        courses[pid].append(Course(pk, code, drug_class, start, stop, reason, tuple(doses.get(pk, ())), equivalent))
    return courses
