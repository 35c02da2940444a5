"""`manage.py cohort_snapshot [--as-of YYYY-MM-DD]`: recompute the dashboard's cohort snapshot now."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandParser

from monitoring.alerts.dashboard import refresh_cohort_snapshots


class Command(BaseCommand):
    help = "Recompute the clinic dashboard's cohort tiles and quality measures (what the nightly job does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=date.fromisoformat, help="Date to compute for (default: today).")

    def handle(self, *args, **options) -> None:
        snapshots = refresh_cohort_snapshots(options["as_of"])
        for scope, snapshot in snapshots.items():
            figures = ", ".join(
                f"{m.key} {m.value if m.value is None else round(m.value, 3)} ({m.numerator}/{m.denominator})"
                for m in snapshot.measures
            )
            self.stdout.write(f"clinic {scope}: {snapshot.patients} patients; {figures}")
