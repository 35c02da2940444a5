"""Time the demo-cohort generator at a given size (outside CI).

    AIH_VAR_DIR=/tmp/benchdb .venv/bin/python bench/seed_demo.py --patients 10000
    DATABASE_URL=postgres://aih:aih@127.0.0.1:5433/aih .venv/bin/python bench/seed_demo.py --patients 10000

Migrates the configured database (SQLite under AIH_VAR_DIR, or DATABASE_URL), optionally removes
the clinic's demo patients first (--fresh), seeds, and prints the time taken and the rows written.
`--plan-only` times generation without the database; `--no-copy` uses bulk_create on PostgreSQL too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aih_tracker.settings")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", default="1")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="Delete the clinic's demo patients first.")
    parser.add_argument("--no-copy", action="store_true", help="bulk_create lab results even on PostgreSQL.")
    parser.add_argument("--plan-only", action="store_true", help="Generate without writing (CPU cost only).")
    return parser.parse_args()


def plan_only(args: argparse.Namespace) -> None:
    from django.utils import timezone

    from patients.demo_cohort import lab_rows, plan_patient

    as_of = args.as_of or timezone.localdate()
    started, labs = time.perf_counter(), 0
    for index in range(1, args.patients + 1):
        labs += len(lab_rows(plan_patient(args.seed, index, as_of), args.seed))
    seconds = time.perf_counter() - started
    print(f"planned {args.patients} patients, {labs:,} lab results in {seconds:.1f} s (no database)")


def seed(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    from patients.demo_cohort import delete_demo_patients, seed_demo_cohort

    call_command("migrate", verbosity=0)
    if args.fresh:
        started = time.perf_counter()
        deleted = delete_demo_patients()
        print(f"deleted {deleted} demo patients in {time.perf_counter() - started:.1f} s")

    def progress(done: int, total: int) -> None:
        print(f"  {done:>6}/{total} patients  {time.perf_counter() - started:7.1f} s", flush=True)

    started = time.perf_counter()
    summary = seed_demo_cohort(
        patients=args.patients,
        seed=args.seed,
        as_of=args.as_of,
        batch_size=args.batch_size,
        use_copy=False if args.no_copy else None,
        progress=progress,
    )
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(summary.line())
    if summary.seconds:
        print(f"{summary.rows / summary.seconds:,.0f} rows/s, {summary.created / summary.seconds:,.1f} patients/s")


def main() -> None:
    args = parse_args()
    import django

    django.setup()
    if args.plan_only:
        plan_only(args)
    else:
        seed(args)


if __name__ == "__main__":
    main()
