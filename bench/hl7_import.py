"""Benchmark HL7 v2 ORU^R01 import throughput (messages/s), against baselines from the same run.

    eval "$(scripts/services start)"      # PostgreSQL (+ Redis), as CI runs them
    export DATABASE_URL=postgres://aih_tracker:aih_tracker@127.0.0.1:5432/bench_hl7   # a database of its own
    export CELERY_BROKER_URL=redis://127.0.0.1:6379/9   # a Redis db no worker reads
    .venv/bin/python bench/hl7_import.py --messages 10000 --single 1000

Generates liver-panel ORU^R01 messages (6 OBX each, LOINC-coded, mixed unit spellings, some
preliminary, distinct orders) for --patients patients of a clinic of its own, then measures:
  parse        baseline: normalise + python-hl7 parse + read every OBX, no database;
  store 1      baseline: store each raw message alone (one INSERT + commit: the durable-first step);
  one by one   the MLLP listener's path on --single messages: store raw, parse, map, validate,
               write 6 results with audit history, queue the evaluation on commit, per message;
  store batch  baseline: the raw texts in bulk INSERTs of --batch;
  batches      the file path (import_hl7) on --messages messages, --batch per transaction, with the
               same per-message outcome (all or nothing per message, quarantine per message);
  again        the --messages messages sent again (every one a duplicate: nothing new is written).
`--smoke` runs a tiny version (the CI test uses it so the benchmark cannot rot).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a file, Python puts bench/ first on the path, where bench/queue.py would shadow the
# standard library's queue module: the repository root goes there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aih_tracker.settings")

CLINIC_SLUG = "bench-hl7"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--single", type=int, default=1000, help="Messages imported one at a time (MLLP path).")
    parser.add_argument("--batch", type=int, default=500, help="Messages per transaction on the file path.")
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Processes importing side by side (as several listener connections or import jobs); 1 = in order.",
    )
    parser.add_argument("--smoke", action="store_true", help="Tiny run: 60 + 20 messages for 10 patients.")
    return parser.parse_args(argv)


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def generate(count: int, patients: int, seed: int, run: str) -> list[str]:
    """`count` ORU^R01 liver panels, values and unit spellings varied, each its own order."""
    from monitoring.interop.hl7_build import Obx, build_oru

    rng = random.Random(seed)
    start = datetime(2024, 1, 1, 7, 0, tzinfo=UTC)
    messages = []
    for n in range(count):
        results = [
            Obx("1742-6", str(rng.randint(10, 900)), rng.choice(["U/L", "IU/L", "U/l"]), "0-40", name="ALT"),
            Obx("1920-8", str(rng.randint(10, 700)), rng.choice(["U/L", "IU/L"]), "0-40", name="AST"),
            Obx("6768-6", str(rng.randint(40, 400)), "U/L", "30-130", name="ALP"),
            Obx("14631-6", f"{rng.uniform(3, 80):.1f}", rng.choice(["umol/L", "µmol/L"]), "0-21", name="Bilirubin"),
            Obx("1751-7", f"{rng.uniform(25, 48):.1f}", "g/L", "35-50", name="Albumin"),
            Obx("2465-3", f"{rng.uniform(8, 35):.1f}", "g/L", "7-16", name="IgG", status=rng.choice("FFFFP")),
        ]
        messages.append(
            build_oru(
                mrn=f"HL7B{n % patients:06d}",
                control_id=f"{run}-{n}",
                results=results,
                collected_at=start + timedelta(minutes=17 * n),
                order_id=f"{run}-ORD{n}",
            )
        )
    return messages


def parse_only(messages: list[str]) -> int:
    """The baseline without a database: what the importer does to read a message."""
    from monitoring.interop.hl7 import _observations, _parse, normalise, read_header

    observations = 0
    for text in messages:
        normal = normalise(text)
        read_header(normal)
        parsed, fields = _parse(normal)
        observations += len(_observations(parsed, fields))
    return observations


def store_only(messages: list[str], clinic_id: int) -> dict[str, int]:
    """The baseline of the durable-first step alone: one INSERT of the raw text per message."""
    from monitoring.models import InboundMessage

    for text in messages:
        InboundMessage.objects.create(clinic_id=clinic_id, kind="hl7", raw=text, origin="bench-baseline")
    return {"stored": len(messages)}


def import_all(messages: list[str], clinic_id: int) -> dict[str, int]:
    from aih_tracker.models import Clinic
    from monitoring.interop.hl7 import import_message

    clinic = Clinic.objects.get(pk=clinic_id)
    statuses: dict[str, int] = {}
    for text in messages:
        status = str(import_message(text, clinic=clinic, origin="bench").status)
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def store_batches(messages: list[str], clinic_id: int, batch: int = 500) -> dict[str, int]:
    from monitoring.models import InboundMessage

    for start in range(0, len(messages), batch):
        InboundMessage.objects.bulk_create(
            [
                InboundMessage(clinic_id=clinic_id, kind="hl7", raw=text, origin="bench-baseline")
                for text in messages[start : start + batch]
            ]
        )
    return {"stored": len(messages)}


def import_batches(messages: list[str], clinic_id: int, batch: int = 500) -> dict[str, int]:
    from aih_tracker.models import Clinic
    from monitoring.interop.hl7 import import_batch

    clinic = Clinic.objects.get(pk=clinic_id)
    statuses: dict[str, int] = {}
    for start in range(0, len(messages), batch):
        for message in import_batch(messages[start : start + batch], clinic=clinic, origin="bench"):
            statuses[str(message.status)] = statuses.get(str(message.status), 0) + 1
    return statuses


def _run(job: tuple) -> dict[str, int]:
    function, messages, clinic_id = job
    return function(messages, clinic_id)


def in_workers(function, messages: list[str], clinic_id: int, workers: int) -> dict[str, int]:
    """`function` over the messages, in `workers` forked processes (each its own database connection)."""
    if workers <= 1:
        return function(messages, clinic_id)
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from django.db import connections

    connections.close_all()
    chunks = [(function, messages[start::workers], clinic_id) for start in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        totals: dict[str, int] = {}
        for result in pool.map(_run, chunks):
            for key, count in result.items():
                totals[key] = totals.get(key, 0) + count
    return totals


def ensure_patients(clinic, count: int) -> None:
    from datetime import date

    from patients.models import Patient

    Patient.objects.bulk_create(
        [
            Patient(
                clinic=clinic,
                mrn=f"HL7B{n:06d}",
                family_name=f"Bench{n}",
                given_name="Hl7",
                date_of_birth=date(1970, 1, 1) + timedelta(days=n % 9000),
                sex="female" if n % 3 else "male",
            )
            for n in range(count)
        ],
        ignore_conflicts=True,
    )


def main(argv=None) -> dict:
    import django

    args = parse_args(argv)
    if args.smoke:
        args.messages, args.single, args.batch, args.patients = 60, 20, 25, 10
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from aih_tracker.models import Clinic
    from monitoring.models import LabResult

    call_command("migrate", verbosity=0)
    clinic, _ = Clinic.objects.get_or_create(slug=CLINIC_SLUG, defaults={"name": "HL7 benchmark clinic"})
    ensure_patients(clinic, args.patients)
    run = f"R{time.time_ns()}"  # a fresh run on the same database imports new messages, not duplicates
    messages = generate(args.messages + args.single, args.patients, args.seed, run)
    singles, messages = messages[: args.single], messages[args.single :]
    results_before = LabResult.objects.filter(patient__clinic=clinic).count()
    print(
        f"database: {connection.vendor}; broker: {settings.CELERY_BROKER_URL.split('://')[0]}; "
        f"{len(messages):,} + {len(singles):,} messages of 6 OBX for {args.patients} patients; "
        f"{args.workers} process(es); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    from functools import partial

    from monitoring.models import InboundMessage

    def forget_baseline_rows():
        InboundMessage.objects.filter(clinic=clinic, origin="bench-baseline").delete()

    w = args.workers
    parse_s, observations = timed(parse_only, messages)
    store1_s, _ = timed(in_workers, store_only, singles, clinic.pk, w)
    forget_baseline_rows()
    single_s, single_statuses = timed(in_workers, import_all, singles, clinic.pk, w)
    storeb_s, _ = timed(in_workers, partial(store_batches, batch=args.batch), messages, clinic.pk, w)
    forget_baseline_rows()
    batch_s, statuses = timed(in_workers, partial(import_batches, batch=args.batch), messages, clinic.pk, w)
    again_s, again = timed(in_workers, partial(import_batches, batch=args.batch), messages, clinic.pk, w)
    created = LabResult.objects.filter(patient__clinic=clinic).count() - results_before

    n, s = len(messages), len(singles)
    figures = {
        "messages": n,
        "single_messages": s,
        "workers": w,
        "observations": observations,
        "results_created": created,
        "statuses_single": single_statuses,
        "statuses": statuses,
        "statuses_again": again,
        "parse_per_s": n / parse_s,
        "store_one_per_s": s / store1_s,
        "single_per_s": s / single_s,
        "store_batch_per_s": n / storeb_s,
        "import_per_s": n / batch_s,
        "again_per_s": n / again_s,
    }
    print(f"baseline: parse only, no database              {parse_s:7.2f} s {n / parse_s:8.0f} messages/s")
    print(f"baseline: store each raw text (INSERT+commit)  {store1_s:7.2f} s {s / store1_s:8.0f} messages/s")
    print(
        f"one by one (MLLP path), {s:,} messages          {single_s:7.2f} s {s / single_s:8.0f} messages/s "
        f"({single_s / store1_s:.1f}x the raw store)"
    )
    print(f"baseline: raw texts in bulk INSERTs of {args.batch}     {storeb_s:7.2f} s {n / storeb_s:8.0f} messages/s")
    print(
        f"batches of {args.batch} (file path), {n:,} messages  {batch_s:7.2f} s {n / batch_s:8.0f} messages/s "
        f"({6 * n / batch_s:,.0f} results/s; {batch_s / parse_s:.1f}x the parse alone)"
    )
    print(f"again: every message a duplicate              {again_s:7.2f} s {n / again_s:8.0f} messages/s")
    print(f"outcomes: one by one {single_statuses}; batches {statuses}; again {again}; {created:,} results stored")
    return figures


if __name__ == "__main__":
    main()
