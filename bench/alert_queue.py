"""Benchmark the nurses' alert queue and the clinic dashboard on a large clinic (outside CI).

    eval "$(scripts/services start)"      # PostgreSQL + Redis, as CI runs them
    .venv/bin/python bench/alert_queue.py        # its own database, bench_queue (never the main one)

Uses its own database (--database-url, default .../bench_queue; created if missing, refused if
it is the main aih_tracker database): migrates, seeds the demo cohort up to --patients
(idempotent, about 10 minutes for 10,000 on PostgreSQL), evaluates it if it has no alerts yet,
and tops the alerts up with synthetic ones (marked "[bench]": resolved episodes and open,
acknowledged and snoozed alerts of rules the patient has none of) to --alerts. Then, through
Django's test client (the whole request: middleware, session, auth, view, template), median
over --samples requests:

  baseline   a plain SELECT of the rows the queue's first page shows (20 alerts joined to their
             patients, in queue order): the least any queue page can cost;
  queue      the first page of the queue, as a nurse of the clinic and as a superuser (all
             clinics, and narrowed to one);
  dashboard  the clinic dashboard, with the day's cohort snapshot in the cache (the nightly
             job's work, timed separately: computing it for every patient).

Each page reports its SQL query count (the budget is 10) and its median against the 150 ms
budget and as a ratio to the baseline measured in the same run. `--smoke` runs a tiny version
in the test database (tests/alerts/test_bench_queue.py), so the benchmark cannot rot.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file would then shadow the
# standard library's `queue` (which psycopg, kombu and others import). Drop the folder; add the project.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aih_tracker.settings")

DEFAULT_URL = "postgres://aih_tracker:aih_tracker@127.0.0.1:5432/bench_queue"
PROTECTED_DATABASES = {"aih_tracker"}  # the sweep benchmark and the team use it
BUDGET_MS = 150
BUDGET_QUERIES = 10
TAG = "[bench]"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_QUEUE_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--patients", type=int, default=10000)
    parser.add_argument("--alerts", type=int, default=50000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seed", default="1")
    parser.add_argument("--snapshot", action="store_true", help="Recompute (and time) today's cohort snapshot.")
    parser.add_argument("--smoke", action="store_true", help="Tiny run in the current (test) database.")
    return parser.parse_args(argv)


def ensure_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if missing; never touch a protected one."""
    name = urlsplit(url).path.lstrip("/")
    if name in PROTECTED_DATABASES:
        raise SystemExit(f"Refusing to benchmark in '{name}': give a database of its own (--database-url).")
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def top_up_alerts(target: int, seed: str) -> int:
    """Add synthetic alerts until there are `target`; returns how many were added.

    Respects the alert constraints: episodes continue each (patient, rule) numbering, and an
    unresolved alert is added only for a rule the patient has no unresolved alert of.
    """
    import random
    from datetime import timedelta

    from django.db.models import Max
    from django.utils import timezone

    from monitoring.models import Alert, AlertStatus, Resolution
    from monitoring.rules import load_rules
    from patients.models import Patient

    missing = target - Alert.objects.count()
    if missing <= 0:
        return 0
    rng = random.Random(f"bench-queue-{seed}")
    rules = sorted(load_rules())
    patients = list(Patient.objects.active().order_by("pk").values_list("pk", flat=True))
    episode = {
        (row["patient_id"], row["rule_id"]): row["last"]
        for row in Alert.objects.values("patient_id", "rule_id").annotate(last=Max("episode"))
    }
    open_now = set(Alert.objects.unresolved().values_list("patient_id", "rule_id"))
    now = timezone.now()
    today = timezone.localdate()
    batch: list[Alert] = []
    added = 0
    while added < missing:
        patient_id, rule_id = rng.choice(patients), rng.choice(rules)
        key = (patient_id, rule_id)
        fields = {"status": AlertStatus.RESOLVED, "resolution": Resolution.BY_DATA, "resolved_at": now}
        if key not in open_now and rng.random() < 0.4:
            status = rng.choice([AlertStatus.OPEN] * 6 + [AlertStatus.ACKNOWLEDGED] * 3 + [AlertStatus.SNOOZED])
            fields = {"status": status}
            if status == AlertStatus.SNOOZED:
                fields |= {"snoozed_until": today + timedelta(days=7), "snooze_reason": f"{TAG} waiting"}
            open_now.add(key)
        episode[key] = episode.get(key, 0) + 1
        batch.append(
            Alert(
                patient_id=patient_id,
                rule_id=rule_id,
                episode=episode[key],
                severity=rng.choice([1, 1, 2, 2, 2, 3, 3, 4]),
                message=f"{TAG} synthetic {rule_id} alert",
                evidence={"note": {"test": "synthetic", "value": 1, "unit": "", "date": today.isoformat()}},
                suggested_action="None: benchmark data.",
                source=TAG,
                **fields,
            )
        )
        added += 1
        if len(batch) == 5000:
            Alert.objects.bulk_create(batch)
            batch = []
    Alert.objects.bulk_create(batch)
    return added


def first_page_baseline(clinic_id: int) -> int:
    """The plain read: the 20 rows of the queue's first page, in queue order, with their patient."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, a.rule_id, a.severity, a.status, a.message, a.evidence, a.opened_at, a.version, "
            "p.id, p.mrn, p.family_name, p.given_name FROM monitoring_alert a "
            "JOIN patients_patient p ON p.id = a.patient_id "
            "WHERE p.clinic_id = %s AND a.status IN ('open', 'acknowledged') "
            "ORDER BY a.severity DESC, a.opened_at, a.id LIMIT 20",
            [clinic_id],
        )
        return len(cursor.fetchall())


def measure(client, url: str, samples: int) -> tuple[list[float], list[float], int]:
    """(wall times, this process's CPU times, SQL queries per request). On a shared machine the CPU
    time shows what the Python side costs without waiting for a core; the wall time is the budget's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: template compilation, rule discovery, connection
    times, cpu, queries = [], [], 0
    for _ in range(samples):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return times, cpu, queries


def cohort_snapshot_cached() -> bool:
    from django.core.cache import cache
    from django.utils import timezone

    from monitoring.alerts.dashboard import _key

    return cache.get(_key("all", timezone.localdate())) is not None


def users():
    from aih_tracker.models import Clinic, User
    from aih_tracker.roles import Role

    nurse, _ = User.objects.get_or_create(
        username="bench-nurse", defaults={"role": Role.NURSE, "clinic": Clinic.default()}
    )
    boss, _ = User.objects.get_or_create(
        username="bench-superuser", defaults={"role": Role.ADMIN, "is_superuser": True, "is_staff": True}
    )
    return nurse, boss


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.smoke:
        args.patients, args.alerts, args.samples = 30, 400, 3
    else:
        ensure_database(args.database_url)
        os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from monitoring.alerts.dashboard import refresh_cohort_snapshots
    from monitoring.evaluation import sweep
    from monitoring.models import Alert
    from patients.demo_cohort import seed_demo_cohort
    from patients.models import Patient

    if "testserver" not in settings.ALLOWED_HOSTS:
        setup_test_environment(debug=False)
    if not args.smoke:
        call_command("migrate", verbosity=0)
    seed_s, summary = timed(lambda: seed_demo_cohort(patients=args.patients, seed=args.seed))
    if not Alert.objects.exists():
        sweep()
    engine_alerts = Alert.objects.exclude(source=TAG).count()
    added = top_up_alerts(args.alerts, args.seed)
    patients = Patient.objects.active().count()
    alerts = Alert.objects.count()
    nurse, boss = users()
    clinic_id = nurse.clinic_id
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}; {patients:,} active patients "
        f"(seeded {summary.created:,} in {seed_s:.0f} s); {alerts:,} alerts ({engine_alerts:,} from the engine, "
        f"{added:,} synthetic added now); to work: {Alert.objects.to_work().count():,}"
    )
    if args.snapshot or not cohort_snapshot_cached():
        snapshot_s, _ = timed(refresh_cohort_snapshots)
        print(f"cohort snapshot for every patient (the nightly job): {snapshot_s:.1f} s")
    else:
        snapshot_s = None
        print("cohort snapshot: today's is in the cache already (--snapshot recomputes and times it)")

    times = []
    for _ in range(args.samples):
        started = time.perf_counter()
        first_page_baseline(clinic_id)
        times.append(time.perf_counter() - started)
    baseline_ms = statistics.median(times) * 1000
    print(f"{'baseline: plain SELECT of the first page':<44} median {baseline_ms:7.2f} ms")

    as_nurse, as_boss = Client(), Client()
    as_nurse.force_login(nurse)
    as_boss.force_login(boss)
    figures: dict = {
        "patients": patients,
        "alerts": alerts,
        "snapshot_s": round(snapshot_s, 1) if snapshot_s is not None else None,
        "baseline_ms": round(baseline_ms, 2),
    }
    pages = [
        ("queue, first page (nurse)", as_nurse, "/alerts/"),
        ("queue, first page (superuser, all clinics)", as_boss, "/alerts/"),
        ("queue, first page (superuser, one clinic)", as_boss, f"/alerts/?clinic={clinic_id}"),
        ("dashboard (nurse)", as_nurse, "/dashboard/"),
        ("dashboard (superuser, all clinics)", as_boss, "/dashboard/"),
    ]
    for label, client, url in pages:
        times, cpu, queries = measure(client, url, args.samples)
        median_ms = statistics.median(times) * 1000
        cpu_ms = statistics.median(cpu) * 1000
        p90_ms = sorted(times)[max(0, int(len(times) * 0.9) - 1)] * 1000
        ok = median_ms <= BUDGET_MS and queries <= BUDGET_QUERIES
        figures[label] = {
            "median_ms": round(median_ms, 1),
            "p90_ms": round(p90_ms, 1),
            "python_cpu_ms": round(cpu_ms, 1),
            "queries": queries,
            "ratio_to_baseline": round(median_ms / baseline_ms, 1) if baseline_ms else None,
            "within_budget": ok,
        }
        print(
            f"{label:<44} median {median_ms:7.1f} ms  p90 {p90_ms:7.1f} ms  python CPU {cpu_ms:5.1f} ms  "
            f"{queries:2d} queries  "
            f"{median_ms / baseline_ms:6.1f}x the baseline  {'within budget' if ok else 'OVER BUDGET'}"
        )
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min) on {os.cpu_count()} cores")
    return figures


if __name__ == "__main__":
    main()
