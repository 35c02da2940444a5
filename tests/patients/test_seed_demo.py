"""`seed_demo`: idempotent, reproducible, and each scenario carries the data its rule needs."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from io import StringIO

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from monitoring.catalogue import to_canonical
from monitoring.models import Alert, AlertStatus, LabResult, LabSource, ResultStatus
from patients.demo_cohort import (
    MRN_PREFIX,
    SCENARIO_FAMILY_NAMES,
    SCENARIOS,
    delete_demo_patients,
    demo_mrn,
    scenario_mrn,
    seed_demo_cohort,
)
from patients.models import (
    AcuteSevereEpisode,
    DexaScan,
    HepatitisImmunity,
    LiverBiopsy,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    Visit,
    WeightMeasurement,
)
from regimens.models import AdherenceRecord, DoseChange, MedicationCourse, StopReason, TaperStep
from tests.factories import ClinicFactory

AS_OF = date(2025, 6, 30)
COHORT_SIZE = 40
IMMUNOSUPPRESSANTS = ("prednisolone", "budesonide", "azathioprine", "mycophenolate_mofetil", "tacrolimus")

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def cohort(django_db_setup, django_db_blocker):
    """One seeded cohort in the default clinic for the whole module, rolled back at the end.

    Tests that seed for themselves use a clinic of their own, so they start from no patients."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed_demo_cohort(patients=COHORT_SIZE, seed=1, as_of=AS_OF)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def clinic():
    return ClinicFactory()


def seed(clinic, patients: int = len(SCENARIOS), seed: int | str = 1, as_of: date = AS_OF, **kwargs):
    return seed_demo_cohort(patients=patients, seed=seed, as_of=as_of, clinic=clinic, **kwargs)


def digest(clinic, mrns: list[str] | None = None) -> str:
    """A hash of the natural fields of the generated rows (no primary keys, no timestamps)."""
    patients = Patient.objects.filter(clinic=clinic, mrn__startswith=MRN_PREFIX)
    if mrns is not None:
        patients = patients.filter(mrn__in=mrns)
    queries = (
        (
            patients,
            ("mrn", "family_name", "given_name", "date_of_birth", "sex", "aih_type", "diagnosis_date",
             "reproductive_potential", "cirrhosis_diagnosed_on", "cirrhosis_basis", "notes"),
        ),
        (
            MedicationCourse.objects.filter(patient__in=patients),
            ("patient__mrn", "drug__code", "line_of_therapy", "started_on", "stopped_on", "stop_reason", "stop_note"),
        ),
        (
            DoseChange.objects.filter(course__patient__in=patients),
            ("course__patient__mrn", "course__drug__code", "course__started_on", "effective_on", "dose_mg_per_day",
             "schedule", "note", "taper_step__sequence"),
        ),
        (
            TaperStep.objects.filter(plan__course__patient__in=patients),
            ("plan__course__patient__mrn", "plan__protocol", "sequence", "starts_on", "dose_mg_per_day"),
        ),
        (
            LabResult.objects.filter(patient__in=patients),
            ("patient__mrn", "analyte__code", "collected_at", "value", "value_as_reported", "unit_as_reported",
             "ref_low", "ref_high", "source_id", "status"),
        ),
        (Visit.objects.filter(patient__in=patients), ("patient__mrn", "visit_date", "notes", "jaundice")),
    )  # fmt: skip
    hasher = hashlib.sha256()
    for queryset, fields in queries:
        for row in queryset.order_by(*fields).values_list(*fields):
            hasher.update(repr(row).encode())
    return hasher.hexdigest()


def scenario(key: str) -> Patient:
    return Patient.objects.get(mrn=scenario_mrn(key))


def results(patient: Patient, code: str) -> list[LabResult]:
    return list(patient.lab_results.filter(analyte__code=code).order_by("collected_at"))


def fold(result: LabResult) -> float:
    return result.value / result.ref_high


def course(patient: Patient, drug: str) -> MedicationCourse:
    return patient.courses.get(drug__code=drug)


def dose_on(course: MedicationCourse, on: date) -> float:
    return course.dose_changes.filter(effective_on__lte=on).order_by("effective_on").last().dose_mg_per_day


def latest_weight(patient: Patient) -> float:
    return WeightMeasurement.objects.filter(patient=patient).order_by("measured_on").last().weight_kg


def in_window(rows: list[LabResult], start: date, end: date) -> list[LabResult]:
    return [r for r in rows if start <= r.collected_at.date() <= end]


# --------------------------------------------------------------------------------------------
# Idempotent and reproducible
# --------------------------------------------------------------------------------------------


def test_seeding_twice_with_the_same_arguments_creates_nothing_the_second_time(clinic):
    first = seed(clinic, 12)
    patients = Patient.objects.filter(clinic=clinic)
    counts = (patients.count(), LabResult.objects.filter(patient__in=patients).count())

    second = seed(clinic, 12)

    assert (first.created, second.created, second.skipped, second.lab_results) == (12, 0, 12, 0)
    assert (patients.count(), LabResult.objects.filter(patient__in=patients).count()) == counts


def test_a_larger_n_adds_only_the_missing_patients_and_patient_i_is_the_same_whatever_n(clinic):
    seed(clinic, 12)
    before = digest(clinic)

    summary = seed(clinic, 15)

    assert (summary.created, summary.skipped) == (3, 12)
    assert digest(clinic, [demo_mrn(i) for i in range(1, 13)]) == before
    incremental = digest(clinic)
    delete_demo_patients(clinic)
    seed(clinic, 15)
    assert digest(clinic) == incremental


def test_the_same_arguments_on_an_empty_database_give_identical_rows(clinic):
    seed(clinic, 13)
    first = digest(clinic)

    assert delete_demo_patients(clinic) == 13
    assert not Patient.objects.filter(clinic=clinic).exists()
    assert not LabResult.objects.filter(patient__clinic=clinic).exists()
    seed(clinic, 13)

    assert digest(clinic) == first
    delete_demo_patients(clinic)
    seed(clinic, 13, seed=2)
    assert digest(clinic) != first


def test_histories_are_anchored_to_as_of(clinic):
    seed(clinic, 1)
    later = digest(clinic)
    delete_demo_patients(clinic)

    seed(clinic, 1, as_of=AS_OF - timedelta(days=30))

    assert digest(clinic) != later
    assert not LabResult.objects.filter(patient__clinic=clinic, collected_at__date__gte=AS_OF - timedelta(days=30))


def test_writes_a_fixed_set_of_bulk_statements_per_batch_never_one_per_row(clinic):
    def statements(patients: int) -> tuple[set[str], int, int]:
        delete_demo_patients(clinic)
        with CaptureQueriesContext(connection) as captured:
            summary = seed(clinic, patients, batch_size=100)
        sql = [q["sql"] for q in captured.captured_queries]
        kinds = {" ".join(s.split()[:3]) for s in sql if not s.startswith(("SAVEPOINT", "RELEASE"))}
        return kinds, sum(not s.startswith("INSERT") for s in sql), len(sql) / summary.rows

    kinds_small, others_small, per_row_small = statements(12)
    kinds_large, others_large, per_row_large = statements(30)

    # The same statements whatever the batch holds (a table with nothing to insert gets none).
    assert kinds_small <= kinds_large and len(kinds_large) <= 30 and others_small == others_large
    # Inserts are chunked only by the database's parameter limit (SQLite: 999 per statement).
    assert per_row_small < 0.05 and per_row_large < 0.05


# --------------------------------------------------------------------------------------------
# The scenarios
# --------------------------------------------------------------------------------------------


def test_scenarios_come_first_with_their_family_name_and_key_in_the_notes(cohort):
    for index, key in enumerate(SCENARIOS, start=1):
        patient = Patient.objects.get(mrn=demo_mrn(index))
        assert patient.family_name == SCENARIO_FAMILY_NAMES[key]
        assert patient.notes.splitlines()[0] == f"Demo scenario: {key}"


def test_complete_responder_tapers_steroids_and_normalises_by_month_5_on_the_azathioprine_schedule(cohort):
    patient = scenario("complete_responder")
    prednisolone, aza = course(patient, "prednisolone"), course(patient, "azathioprine")
    t0 = prednisolone.started_on

    assert prednisolone.stop_reason == StopReason.REMISSION
    assert (prednisolone.stopped_on - t0).days > 180
    doses = list(prednisolone.dose_changes.order_by("effective_on").select_related("taper_step"))
    assert len(doses) >= 6 and all(d.taper_step and d.taper_step.dose_mg_per_day == d.dose_mg_per_day for d in doses)
    assert [d.dose_mg_per_day for d in doses] == sorted((d.dose_mg_per_day for d in doses), reverse=True)
    assert (aza.started_on - t0).days == 14 and aza.stopped_on is None
    assert 1.0 <= dose_on(aza, AS_OF) / latest_weight(patient) <= 2.0

    month5 = t0 + relativedelta(months=5)
    for code in ("alt", "igg"):
        series = results(patient, code)
        assert fold(series[0]) > 1
        assert all(fold(r) <= 1 for r in series if r.collected_at.date() >= month5), code
    alt = results(patient, "alt")
    baseline = [r for r in alt if t0 - timedelta(days=14) <= r.collected_at.date() <= t0][-1]
    week4 = min(in_window(alt, t0 + timedelta(days=21), t0 + timedelta(days=42)),
                key=lambda r: abs((r.collected_at.date() - t0).days - 28))  # fmt: skip
    assert (baseline.value - week4.value) / baseline.value >= 0.5  # no RESP-01

    d0 = max(d.effective_on for d in aza.dose_changes.all())
    fbc = [r.collected_at.date() for r in results(patient, "wbc") if r.collected_at.date() >= d0]
    for earlier, later in zip(fbc, fbc[1:], strict=False):
        since = (earlier - d0).days
        assert (later - earlier).days <= (14 if since <= 56 else 31 if since <= 183 else 92)
    assert (AS_OF - fbc[-1]).days <= 92
    assert max((b - a).days for a, b in zip(fbc, fbc[1:], strict=False) if a >= t0 + relativedelta(months=6)) <= 106

    assert PharmacogeneticTest.objects.get(patient=patient, gene="tpmt").phenotype == "normal"
    immunity = dict(HepatitisImmunity.objects.filter(patient=patient).values_list("virus", "status"))
    assert immunity == {"hav": "immune_natural", "hbv": "immune_vaccinated"}
    assert DexaScan.objects.filter(patient=patient, scanned_on__gte=t0).exists()
    bone = course(patient, "calcium_vitamin_d")
    assert bone.started_on == t0 and bone.stopped_on == prednisolone.stopped_on
    for tgn in results(patient, "tgn"):
        assert 235 <= tgn.value <= 450
    assert all(m.value <= 5700 for m in results(patient, "mmp"))


def test_insufficient_responder_has_alt_1_5_to_2_uln_and_igg_above_uln_at_month_6(cohort):
    patient = scenario("insufficient_responder")
    t0 = course(patient, "prednisolone").started_on
    start, end = t0 + relativedelta(months=5), t0 + relativedelta(months=7)

    assert t0 + relativedelta(months=7) <= AS_OF
    alt, igg = in_window(results(patient, "alt"), start, end), in_window(results(patient, "igg"), start, end)
    assert alt and igg
    assert 1.5 <= fold(alt[-1]) <= 2.0
    assert fold(igg[-1]) > 1.0


def test_relapse_after_withdrawal_stops_everything_in_remission_then_alt_reaches_3x_uln(cohort):
    patient = scenario("relapse_after_withdrawal")
    courses = list(patient.courses.filter(drug__code__in=IMMUNOSUPPRESSANTS))
    t0 = min(c.started_on for c in courses)
    withdrawn = max(c.stopped_on for c in courses)

    assert all(c.stopped_on and c.stop_reason == StopReason.REMISSION for c in courses)
    assert 120 <= (AS_OF - withdrawn).days <= 183
    assert (withdrawn - t0).days >= 2.75 * 365
    for code in ("alt", "igg"):
        year_before = in_window(results(patient, code), withdrawn - timedelta(days=365), withdrawn)
        assert year_before and all(fold(r) <= 1 for r in year_before)
    latest = results(patient, "alt")[-1]
    assert latest.collected_at.date() > withdrawn
    assert fold(latest) >= 3.0


def test_aza_cholestatic_hepatotoxicity_shows_alp_2x_uln_with_r_at_most_2_in_month_2(cohort):
    patient = scenario("aza_cholestatic_hepatotoxicity")
    aza = course(patient, "azathioprine")
    start = aza.started_on
    assert 60 <= (AS_OF - start).days <= 92 and aza.stopped_on is None

    alp, alt, ggt = (results(patient, code) for code in ("alp", "alt", "ggt"))
    baseline = [r for r in alp if r.collected_at.date() <= start][-1]
    by_time = {code: {r.collected_at: r for r in rows} for code, rows in (("alt", alt), ("ggt", ggt))}
    assert aza.adverse_events.filter(kind="pruritus").exists()
    month2 = in_window(alp, start + timedelta(days=31), start + timedelta(days=60))
    risen = [r for r in month2 if fold(r) >= 2.0]
    assert risen and risen[-1] == month2[-1]
    for result in risen:
        alt_now, ggt_now = by_time["alt"][result.collected_at], by_time["ggt"][result.collected_at]
        assert result.value >= 1.5 * baseline.value
        assert fold(ggt_now) > 1.0
        assert fold(alt_now) > 1.0 and fold(alt_now) / fold(result) <= 2.0


def test_hypermethylator_has_recent_low_tgn_and_high_mmp_after_6_months_on_azathioprine(cohort):
    patient = scenario("hypermethylator")
    aza = course(patient, "azathioprine")
    tgn, mmp = results(patient, "tgn")[-1], results(patient, "mmp")[-1]

    assert aza.stopped_on is None and (AS_OF - aza.started_on).days >= 183
    assert tgn.collected_at == mmp.collected_at and (AS_OF - tgn.collected_at.date()).days <= 92
    assert abs(tgn.value - 180) <= 15 and tgn.value < 220
    assert abs(mmp.value - 9500) <= 600 and mmp.value > 5700


def test_tpmt_intermediate_is_on_a_full_azathioprine_dose(cohort):
    # The scenario shows AZA-03: a full AIH dose (CPIC asks for 30-80% of it) in an intermediate metaboliser.
    patient = scenario("tpmt_intermediate")
    aza = course(patient, "azathioprine")

    assert PharmacogeneticTest.objects.get(patient=patient, gene="tpmt").phenotype == "intermediate"
    assert aza.stopped_on is None
    assert 1.6 < dose_on(aza, AS_OF) / latest_weight(patient) <= 2.0


def test_cirrhotic_patient_has_an_active_budesonide_9_mg_course(cohort):
    patient = scenario("cirrhotic_on_budesonide")
    budesonide = course(patient, "budesonide")

    assert patient.cirrhosis_diagnosed_on and patient.cirrhosis_basis
    assert budesonide.is_active_on(AS_OF) and dose_on(budesonide, AS_OF) == 9.0


def test_pregnant_patient_has_an_active_mmf_course_overlapping_an_ongoing_pregnancy(cohort):
    patient = scenario("pregnant_on_mmf")
    mmf = course(patient, "mycophenolate_mofetil")
    pregnancy = PregnancyEpisode.objects.get(patient=patient)

    assert patient.sex == "female" and patient.reproductive_potential == "yes"
    assert pregnancy.kind == "pregnant" and pregnancy.ended_on is None and pregnancy.is_current(AS_OF)
    assert mmf.is_active_on(AS_OF) and mmf.started_on < pregnancy.started_on
    aza = course(patient, "azathioprine")  # switched for intolerance: the course names its adverse event
    assert aza.stop_reason == StopReason.INTOLERANCE and aza.stop_adverse_event.course_id == aza.pk
    assert aza.stopped_on <= mmf.started_on


def test_acute_severe_aih_has_bilirubin_and_inr_not_improved_at_day_7(cohort):
    patient = scenario("acute_severe_aih")
    episode = AcuteSevereEpisode.objects.get(patient=patient)
    day0 = episode.steroid_day0

    assert 8 <= (AS_OF - episode.presented_on).days <= 10 and day0 is not None
    bilirubin, inr = results(patient, "bilirubin"), results(patient, "inr")
    bili0, inr0 = in_window(bilirubin, day0, day0)[0], in_window(inr, day0, day0)[0]
    bili7 = in_window(bilirubin, day0 + timedelta(days=6), day0 + timedelta(days=8))[-1]
    inr7 = in_window(inr, day0 + timedelta(days=6), day0 + timedelta(days=8))[-1]
    assert inr0.value >= 1.5 and fold(bili0) >= 5
    assert bili7.value >= bili0.value and inr7.value >= inr0.value
    assert all(r.value < 2.0 for r in inr)  # no ALF-level INR (ASA-04)
    prednisolone = course(patient, "prednisolone")
    assert prednisolone.started_on == day0 and dose_on(prednisolone, day0) >= 40


def test_non_adherent_misses_doses_and_bloods_are_overdue_with_low_metabolites(cohort):
    patient = scenario("non_adherent")
    aza = course(patient, "azathioprine")
    records = AdherenceRecord.objects.filter(patient=patient)

    assert aza.stopped_on is None and (AS_OF - aza.started_on).days > 365
    assert records.filter(missed_doses__gt=0).exclude(lapse_reason="").count() >= 2
    for code in ("wbc", "alt"):
        assert (AS_OF - results(patient, code)[-1].collected_at.date()).days > 106
    tgn, mmp = results(patient, "tgn")[-1], results(patient, "mmp")[-1]
    assert abs(tgn.value - 150) <= 15 and abs(mmp.value - 800) <= 150
    assert tgn.value < 220 and mmp.value <= 5700


def test_steroid_patient_without_dexa_has_been_on_prednisolone_over_90_days(cohort):
    patient = scenario("steroid_needs_dexa")
    prednisolone = course(patient, "prednisolone")

    assert prednisolone.is_active_on(AS_OF) and (AS_OF - prednisolone.started_on).days > 90
    assert not DexaScan.objects.filter(patient=patient).exists()


# --------------------------------------------------------------------------------------------
# Plausible, consistent data for the whole cohort
# --------------------------------------------------------------------------------------------


def test_lab_values_are_plausible_and_stored_as_the_lab_reported_them(cohort):
    rows = LabResult.objects.select_related("analyte")
    assert rows.count() > 10_000
    for result in rows.iterator(chunk_size=5000):
        analyte = result.analyte
        assert analyte.plausible_min <= result.value <= analyte.plausible_max, result
        assert result.value == to_canonical(analyte.units, float(result.value_as_reported), result.unit_as_reported)
        assert result.ref_high is None or result.ref_low is None or result.ref_low <= result.ref_high
        assert result.status == ResultStatus.FINAL and result.source == LabSource.DEMO and result.source_id
        assert result.collected_at.tzinfo is not None and result.collected_at.date() < AS_OF
        assert 6 <= result.collected_at.hour < 12


def test_labs_vary_between_patients_and_follow_the_lab(cohort):
    alt_ulns = set(LabResult.objects.filter(analyte__code="alt").values_list("ref_high", flat=True))
    igg_ulns = set(LabResult.objects.filter(analyte__code="igg").values_list("ref_high", flat=True))
    assert {40.0, 33.0, 25.0} <= alt_ulns
    assert {16.0, 15.5} <= igg_ulns


def test_courses_and_doses_are_consistent_and_nothing_is_after_as_of(cohort):
    for course_ in MedicationCourse.objects.prefetch_related("dose_changes"):
        doses = list(course_.dose_changes.all())
        assert doses, course_
        assert doses[0].effective_on == course_.started_on
        for dose in doses:
            assert course_.started_on <= dose.effective_on <= AS_OF
            assert course_.stopped_on is None or dose.effective_on < course_.stopped_on
        assert course_.stopped_on is None or course_.stopped_on <= AS_OF
        assert bool(course_.stopped_on) == bool(course_.stop_reason)
    assert not Visit.objects.filter(visit_date__gt=AS_OF).exists()
    assert not LiverBiopsy.objects.filter(performed_on__gt=AS_OF).exists()
    for patient in Patient.objects.filter(mrn__startswith=MRN_PREFIX):
        patient.full_clean()
        assert patient.date_of_birth < patient.diagnosis_date <= AS_OF


def test_the_random_mix_has_varied_sex_and_some_cirrhosis(cohort):
    random_mix = Patient.objects.filter(mrn__gt=demo_mrn(len(SCENARIOS)))
    assert random_mix.count() == COHORT_SIZE - len(SCENARIOS)
    assert set(random_mix.values_list("sex", flat=True)) == {"female", "male"}
    assert all(p.notes.startswith("Demo profile: ") for p in random_mix)
    assert LiverBiopsy.objects.filter(patient__in=random_mix).count() >= random_mix.count()


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def test_command_prints_a_one_line_summary_and_is_idempotent(clinic):
    out = StringIO()
    args = ("seed_demo", "--patients", "3", "--seed", "7", "--as-of", "2025-06-30", "--clinic", clinic.slug)
    call_command(*args, "--no-evaluate", stdout=out)
    call_command(*args, "--no-evaluate", stdout=out)

    first, second = out.getvalue().splitlines()
    assert first.startswith("Seeded 3 demo patients (0 already present)") and "lab results" in first
    assert second.startswith("Seeded 0 demo patients (3 already present)")
    assert Patient.objects.filter(clinic=clinic).count() == 3
    assert not Alert.objects.filter(patient__clinic=clinic).exists()


def test_command_opens_the_demo_alerts_so_the_queue_is_not_empty_on_first_run(clinic):
    out = StringIO()
    args = ("seed_demo", "--patients", "11", "--seed", "1", "--clinic", clinic.slug)
    call_command(*args, stdout=out)
    opened = Alert.objects.filter(patient__clinic=clinic, status=AlertStatus.OPEN).count()
    call_command(*args, stdout=out)

    first_evaluation, second_evaluation = out.getvalue().splitlines()[1::2]
    assert opened > 0 and first_evaluation == f"Evaluated 11 demo patients: {opened} new alerts."
    assert second_evaluation == "Evaluated 11 demo patients: 0 new alerts."


def test_command_rejects_an_unknown_clinic_and_a_future_date():
    with pytest.raises(CommandError, match="No clinic"):
        call_command("seed_demo", "--patients", "1", "--clinic", "nowhere")
    with pytest.raises(CommandError, match="future"):
        call_command("seed_demo", "--patients", "1", "--as-of", "2999-01-01")
