"""Benchmark the nightly sweep against a plain read of the same lab rows (outside CI).

    eval "$(scripts/services start)"      # PostgreSQL + Redis, as CI runs them
    .venv/bin/python bench/sweep.py --patients 10000

Seeds the demo cohort up to --patients (idempotent), then measures in one run:
  baseline  a plain SQL read of every final lab row of those patients (one cursor, fetchall);
  sweep     load timelines + evaluate every rule + reconcile alerts for EVERY active patient (forced
            full sweep), first pass (opens alerts) and second pass (steady state: nothing changes);
  nightly   the nightly sweep as beat runs it on the following --nights days: only the patients whose
            evaluation may no longer hold (their data changed: --new-labs per night get a new ALT;
            their horizon came; a snooze ended), reported as active patients covered per second;
  one       re-evaluating one patient after a new lab result (evaluate + reconcile, what the task
            runs), and with the save before it, medians over --single samples.
Figures are reported as patients/second and as ratios to the baseline measured in the same run.
`--smoke` runs a tiny version (the CI test uses it so the benchmark cannot rot).
`--only-single` measures just the one-patient figure (seconds, not minutes), against a plain SQL
read of the same patient's lab rows in the same sample.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aih_tracker.settings")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--seed", default="1")
    parser.add_argument("--chunk", type=int, default=500, help="Patients per chunk (as the nightly sweep).")
    parser.add_argument(
        "--workers", type=int, default=1, help="Processes sharing the chunks, as Celery workers do (default 1)."
    )
    parser.add_argument("--single", type=int, default=50, help="Samples for the one-patient re-evaluation.")
    parser.add_argument(
        "--nights", type=int, default=42, help="Nightly incremental sweeps after the full ones (default 42)."
    )
    parser.add_argument(
        "--steady", type=int, default=7, help="Report the mean of the last N nights as the steady state (7)."
    )
    parser.add_argument(
        "--new-labs", type=float, default=0.01, help="Share of patients getting a new result each night (0.01)."
    )
    parser.add_argument("--smoke", action="store_true", help="Tiny run: 30 patients, 5 samples.")
    parser.add_argument(
        "--only-single",
        action="store_true",
        help="Measure only the one-patient re-evaluation (no sweep), against a plain read of that patient's labs.",
    )
    return parser.parse_args(argv)


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def plain_read(patient_ids: list[int]) -> int:
    """The baseline: the same lab rows the loader reads, as plain tuples, no ORM objects."""
    from django.db import connection

    rows = 0
    with connection.cursor() as cursor:
        for start in range(0, len(patient_ids), 500):
            chunk = patient_ids[start : start + 500]
            placeholders = ",".join(["%s"] * len(chunk))
            cursor.execute(
                "SELECT patient_id, analyte_id, collected_at, value, ref_low, ref_high "
                f"FROM monitoring_labresult WHERE status <> 'preliminary' AND patient_id IN ({placeholders}) "
                "ORDER BY patient_id, analyte_id, collected_at",
                chunk,
            )
            rows += len(cursor.fetchall())
    return rows


def sample_patients(patient_ids: list[int], samples: int) -> list[int]:
    """`samples` ids spread evenly over the cohort (each sample adds a lab result to its patient)."""
    step = max(1, len(patient_ids) // samples)
    return patient_ids[::step][:samples]


def loader_query_read(patient_ids: list[int], chunk: int) -> int:
    """A second baseline: exactly the loader's lab query (dates cast by the database), plain tuples."""
    from monitoring.engine.cache import fetch_batches
    from monitoring.engine.loader import lab_rows_sql

    rows = 0
    for start in range(0, len(patient_ids), chunk):
        rows += sum(1 for _ in fetch_batches(*lab_rows_sql(patient_ids[start : start + chunk])))
    return rows


def _evaluate_chunk(job: tuple[list[int], date | None]):
    """What one Celery `evaluate_chunk` task does, returning what it changed and found."""
    from monitoring.evaluation import evaluate_patients

    chunk, as_of = job
    evaluations, result = evaluate_patients(chunk, as_of)
    return result, sum(len(e.findings) for e in evaluations)


def sweep_chunks(patient_ids: list[int], chunk: int, workers: int = 1, as_of: date | None = None):
    """Chunks of ids evaluated in `workers` processes, as Celery workers share them: (changes, findings)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from django.db import connections

    from monitoring.alerts.reconcile import ReconcileResult

    jobs = [(patient_ids[start : start + chunk], as_of) for start in range(0, len(patient_ids), chunk)]
    if workers > 1 and jobs:
        connections.close_all()  # each forked worker opens its own connection
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            outcomes = list(pool.map(_evaluate_chunk, jobs))
    else:
        outcomes = [_evaluate_chunk(job) for job in jobs]
    total, findings = ReconcileResult(), 0
    for result, found in outcomes:
        total += result
        findings += found
    return total, findings


def full_sweep(patient_ids: list[int], chunk: int, workers: int = 1):
    """A forced sweep of every one of these patients, as of today."""
    return sweep_chunks(patient_ids, chunk, workers)


def nightly_sweeps(patient_ids: list[int], chunk: int, workers: int, nights: int, new_labs: float) -> list[dict]:
    """Each following night: new results arrive for a share of patients (during the day, not timed), then
    the nightly sweep runs (timed): select the patients due, evaluate them in chunks in `workers` processes."""
    import random

    from django.utils import timezone

    from monitoring.evaluation import due_patient_ids
    from monitoring.labs.services import LabValue, record_lab_result
    from monitoring.models import Analyte
    from patients.models import Patient

    alt = Analyte.objects.get(code="alt")
    rng = random.Random(7)
    measured = set(patient_ids)
    results = []
    for night in range(1, nights + 1):
        as_of = timezone.localdate() + timedelta(days=night)
        for pid in rng.sample(patient_ids, int(len(patient_ids) * new_labs)):
            collected = datetime.now(UTC) - timedelta(hours=1)
            record_lab_result(patient=Patient.objects.get(pk=pid), lab=LabValue(alt, 30, "U/L", collected, ref_high=40))
        started = time.perf_counter()
        due = [pid for pid in due_patient_ids(as_of) if pid in measured]  # this run's patients only
        sweep_chunks(due, chunk, workers, as_of)
        results.append({"night": night, "due": len(due), "seconds": time.perf_counter() - started})
    return results


def one_patient_after_a_new_lab(
    patient_ids: list[int], samples: int, baseline: list[float] | None = None
) -> tuple[list[float], list[float]]:
    """Seconds per sample: (save + re-evaluation, the re-evaluation alone: what the task runs); with
    `baseline`, also time a plain read of the patient's lab rows just before."""
    from monitoring.engine.cache import freeze_loaded_objects
    from monitoring.evaluation import evaluate_patients
    from monitoring.labs.services import LabValue, record_lab_result
    from monitoring.models import Analyte
    from patients.models import Patient

    alt = Analyte.objects.get(code="alt")
    frozen = freeze_loaded_objects()  # as a worker does once it has started
    print(f"Froze {frozen} objects loaded at start out of the garbage collector's view.")
    total, evaluation = [], []
    try:
        for pid in sample_patients(patient_ids, samples):
            patient = Patient.objects.get(pk=pid)
            if baseline is not None:
                baseline.append(timed(plain_read, [pid])[0])
            collected = datetime.now(UTC) - timedelta(hours=1)
            started = time.perf_counter()
            record_lab_result(patient=patient, lab=LabValue(alt, 55, "U/L", collected, ref_high=40))
            recorded = time.perf_counter()
            evaluate_patients([pid])
            total.append(time.perf_counter() - started)
            evaluation.append(time.perf_counter() - recorded)
    finally:
        gc.unfreeze()  # the rest of this process (the nights, a test session) collects as before
    return total, evaluation


def one_patient_figures(total: list[float], evaluation: list[float]) -> dict:
    p90 = statistics.quantiles(total, n=10)[-1] if len(total) > 1 else total[0]
    figures = {
        "one_patient_median_ms": statistics.median(total) * 1000,
        "one_patient_p90_ms": p90 * 1000,
        "one_patient_evaluate_median_ms": statistics.median(evaluation) * 1000,
    }
    print(
        f"one patient after a new lab, over {len(total)} samples: save + re-evaluation median "
        f"{figures['one_patient_median_ms']:.1f} ms (p90 {figures['one_patient_p90_ms']:.1f} ms); "
        f"the re-evaluation alone (the task's work) median {figures['one_patient_evaluate_median_ms']:.1f} ms"
    )
    return figures


def only_single(patient_ids: list[int], samples: int) -> dict:
    """The one-patient figure alone, with the plain read of the same patient's labs as its baseline."""
    baseline: list[float] = []
    figures = one_patient_figures(*one_patient_after_a_new_lab(patient_ids, samples, baseline))
    read_ms = statistics.median(baseline) * 1000
    ratio = figures["one_patient_median_ms"] / read_ms
    print(f"plain read of that patient's labs: median {read_ms:.2f} ms; save + re-evaluation {ratio:.1f}x that")
    return {
        "patients": len(patient_ids),
        **figures,
        "one_patient_read_median_ms": read_ms,
        "ratio_one_patient_to_read": ratio,
    }


def main(argv=None) -> dict:
    import django

    args = parse_args(argv)
    if args.smoke:
        args.patients, args.single, args.nights = 30, 5, 2
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from patients.demo_cohort import seed_demo_cohort
    from patients.models import Patient

    call_command("migrate", verbosity=0)
    seconds, summary = timed(lambda: seed_demo_cohort(patients=args.patients, seed=args.seed))
    ids = list(Patient.objects.active().order_by("pk").values_list("pk", flat=True)[: args.patients])
    print(
        f"database: {connection.vendor}; {len(ids)} active patients (seeded {summary.created} in {seconds:.1f} s); "
        f"sweep in {args.workers} worker process(es)"
    )

    if args.only_single:
        return only_single(ids, args.single)

    read_s, rows = timed(plain_read, ids)
    query_s, _ = timed(loader_query_read, ids, args.chunk)
    first_s, (first, findings) = timed(full_sweep, ids, args.chunk, args.workers)
    second_s, (second, _) = timed(full_sweep, ids, args.chunk, args.workers)
    # Everyone was just evaluated as of today: the state a new result finds. (After the nights below,
    # evaluated as of later days, each sample would also bring its patient's alerts back to today.)
    single = one_patient_after_a_new_lab(ids, args.single)
    nights = nightly_sweeps(ids, args.chunk, args.workers, args.nights, args.new_labs)
    # After a full sweep everyone was just evaluated; once the safety net (28 days) has come round the
    # nights reach their steady state: the last --steady nights are the figure.
    steady = nights[-args.steady :]
    nightly_s = sum(n["seconds"] for n in steady) / max(1, len(steady))
    nightly_due = sum(n["due"] for n in steady) / max(1, len(steady))

    figures = {
        "patients": len(ids),
        "workers": args.workers,
        "lab_rows": rows,
        "baseline_read_s": read_s,
        "sweep_first_s": first_s,
        "sweep_steady_s": second_s,
        "patients_per_s_steady": len(ids) / second_s,
        "ratio_steady_to_read": second_s / read_s,
        "ratio_first_to_read": first_s / read_s,
        "loader_query_read_s": query_s,
        "ratio_steady_to_loader_query": second_s / query_s,
        "nightly_mean_s": nightly_s,
        "nightly_mean_due": nightly_due,
        "nightly_patients_per_s": len(ids) / nightly_s if nightly_s else None,
        "ratio_nightly_to_read": nightly_s / read_s,
        "findings": findings,
        "alerts_opened_first_pass": first.opened,
        "changes_second_pass": second.opened + second.updated + second.resolved,
    }
    print(f"baseline: plain read of {rows:,} lab rows              {read_s:8.2f} s")
    print(f"baseline: the loader's lab query alone, plain tuples  {query_s:8.2f} s")
    print(
        f"sweep, first pass (opens {first.opened:,} alerts)        {first_s:8.2f} s  "
        f"{len(ids) / first_s:8.0f} patients/s  {first_s / read_s:5.2f}x the read"
    )
    print(
        f"sweep, steady state ({figures['changes_second_pass']} changes)           {second_s:8.2f} s  "
        f"{len(ids) / second_s:8.0f} patients/s  {second_s / read_s:5.2f}x the read  "
        f"{second_s / query_s:5.2f}x the loader's query"
    )
    for n in nights:
        print(
            f"nightly sweep, night {n['night']}: {n['due']:,} of {len(ids):,} due      {n['seconds']:8.2f} s  "
            f"{len(ids) / n['seconds']:8.0f} patients/s covered"
        )
    if nights:
        print(
            f"nightly sweep, steady state, mean of the last {len(steady)} nights ({nightly_due:,.0f} due)  "
            f"{nightly_s:8.2f} s  "
            f"{len(ids) / nightly_s:8.0f} patients/s covered  {nightly_s / read_s:5.2f}x the read"
        )
    figures |= one_patient_figures(*single)
    return figures


if __name__ == "__main__":
    main()
