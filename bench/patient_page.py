"""Benchmark the physician's patient page for a long history (outside CI).

    .venv/bin/python bench/patient_page.py                 # SQLite, the local default
    eval "$(scripts/services start)"; .venv/bin/python bench/patient_page.py   # PostgreSQL

Creates (once, idempotent by MRN) a patient with 10 years of monthly labs — 17 analytes a month,
about 2,000 results — and 10 years of prednisolone / azathioprine with dose changes and a taper
plan, then renders the page as a physician through Django's test client: the full page (chart,
decision support with a full rules evaluation, latest results) and each htmx chart panel.
Reports the median and p90 server time per request and the number of SQL queries.
`--smoke` runs a small version (the CI test uses it so the benchmark cannot rot).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aih_tracker.settings")

MRN = "BENCH-PAGE-10Y"
ANALYTES = (
    ("alt", 40), ("ast", 40), ("alp", 130), ("ggt", 60), ("bilirubin", 21), ("albumin", 50), ("inr", 1.2),
    ("igg", 16), ("creatinine", 110), ("sodium", 145), ("wbc", 11), ("neutrophils", 7.5), ("lymphocytes", 4),
    ("platelets", 400), ("haemoglobin", 155), ("tgn", 450), ("mmp", 5700),
)  # fmt: skip
TYPICAL_FOLD = {"albumin": 0.85, "sodium": 0.96, "inr": 0.85, "platelets": 0.6, "haemoglobin": 0.85, "tgn": 0.7}
BUDGET_MS = 150


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="Small run: 2 years, 3 samples.")
    return parser.parse_args(argv)


def build_patient(years: int, today: date):
    """The long-history patient: monthly labs, two long courses with dose changes, a taper plan."""
    from aih_tracker.models import Clinic
    from monitoring.models import Analyte, LabResult
    from patients.models import Patient, Sex
    from regimens.models import DoseChange, Drug, MedicationCourse, TaperPlan, TaperStep

    mrn = f"{MRN}-{years}"
    existing = Patient.objects.filter(mrn=mrn).first()
    if existing:
        return existing
    patient = Patient.objects.create(
        clinic=Clinic.default(),
        mrn=mrn,
        family_name="Longhistory",
        given_name="Bench",
        date_of_birth=date(1970, 3, 1),
        sex=Sex.FEMALE,
    )
    start = today - timedelta(days=365 * years)
    analytes = {a.code: a for a in Analyte.objects.filter(code__in=[code for code, _ in ANALYTES])}
    results = []
    for month in range(years * 12):
        on = datetime.combine(start + timedelta(days=30 * month), datetime.min.time(), tzinfo=UTC).replace(hour=9)
        activity = 8.0 if month == 0 else (3.0 if month == 1 else 0.6 + 0.2 * (month % 5) / 5)
        for code, uln in ANALYTES:
            fold = activity if code in ("alt", "ast") else (1.4 if code == "igg" and month < 3 else 0.8)
            fold = TYPICAL_FOLD.get(code, fold) if code not in ("alt", "ast", "igg") else fold
            value = round(uln * fold, 2)
            results.append(
                LabResult(
                    patient=patient,
                    analyte=analytes[code],
                    value=value,
                    value_as_reported=f"{value:g}",
                    unit_as_reported=analytes[code].canonical_unit,
                    ref_high=uln,
                    collected_at=on,
                )
            )
    LabResult.objects.bulk_create(results, batch_size=1000)
    pred = MedicationCourse.objects.create(
        patient=patient, drug=Drug.objects.get(code="prednisolone"), started_on=start
    )
    aza = MedicationCourse.objects.create(
        patient=patient, drug=Drug.objects.get(code="azathioprine"), started_on=start + timedelta(days=14)
    )
    doses = [DoseChange(course=pred, effective_on=start + timedelta(days=7 * i), dose_mg_per_day=mg)
             for i, mg in enumerate((40, 30, 20, 15, 10, 7.5, 5))]  # fmt: skip
    doses += [DoseChange(course=aza, effective_on=aza.started_on + timedelta(days=90 * i), dose_mg_per_day=50 + 25 * i)
              for i in range(3)]  # fmt: skip
    DoseChange.objects.bulk_create(doses)
    plan = TaperPlan.objects.create(course=pred, protocol="prednisolone-weight-based")
    TaperStep.objects.bulk_create(
        TaperStep(plan=plan, sequence=i, starts_on=start + timedelta(days=7 * i), dose_mg_per_day=mg)
        for i, mg in enumerate((40, 30, 20, 15, 10, 7.5, 5))
    )
    return patient


def measure(client, url: str, samples: int, headers=None) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, headers=headers or {})  # warm-up: template compilation, rule discovery
    times = []
    queries = 0
    for _ in range(samples):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers or {})
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return times, queries


def main(argv=None) -> dict:
    import django

    args = parse_args(argv)
    if args.smoke:
        args.years, args.samples = 2, 3
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from aih_tracker.models import Clinic, User
    from aih_tracker.roles import Role
    from monitoring.models import LabResult

    if "testserver" not in settings.ALLOWED_HOSTS:
        setup_test_environment()
    call_command("migrate", verbosity=0)
    patient = build_patient(args.years, timezone.localdate())
    physician, _ = User.objects.get_or_create(
        username="bench-physician", defaults={"role": Role.PHYSICIAN, "clinic": Clinic.default()}
    )
    client = Client()
    client.force_login(physician)
    results = LabResult.objects.filter(patient=patient).count()
    print(f"database: {connection.vendor}; patient {patient.mrn}: {results:,} lab results over {args.years} years")

    figures: dict = {"lab_results": results}
    url = f"/patients/{patient.pk}/"
    pages = [("full page", url, None)] + [
        (f"htmx panel {panel}", f"{url}?panel={panel}&range=all", {"HX-Request": "true"})
        for panel in ("main", "cholestatic", "counts", "metabolites", "scores")
    ]
    for label, address, headers in pages:
        times, queries = measure(client, address, args.samples, headers)
        median_ms = statistics.median(times) * 1000
        p90_ms = sorted(times)[max(0, int(len(times) * 0.9) - 1)] * 1000
        figures[label] = {"median_ms": round(median_ms, 1), "p90_ms": round(p90_ms, 1), "queries": queries}
        flag = "" if label != "full page" else ("  (within budget)" if median_ms <= BUDGET_MS else "  OVER BUDGET")
        print(f"{label:<24} median {median_ms:7.1f} ms  p90 {p90_ms:7.1f} ms  {queries:3d} queries{flag}")
    return figures


if __name__ == "__main__":
    main()
