"""`manage.py seed_demo --patients N --seed S [--as-of YYYY-MM-DD] [--clinic SLUG]`: the demo cohort."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from aih_tracker.models import Clinic
from monitoring.changes import SWEEP_CHUNK_SIZE
from monitoring.evaluation import evaluate_patients
from patients.demo_cohort import MRN_PREFIX, seed_demo_cohort
from patients.models import Patient


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of wants a date as YYYY-MM-DD, not '{text}'.") from None


class Command(BaseCommand):
    help = (
        "Generate reproducible demo patients DEMO-00001..N with multi-year AIH histories. "
        "Idempotent: patients already present are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, required=True, help="How many demo patients (indexes 1..N).")
        parser.add_argument("--seed", default="1", help="Random seed; the same seed gives the same patients.")
        parser.add_argument("--as-of", type=iso_date, help="Anchor date of the histories (default: today).")
        parser.add_argument("--clinic", help="Clinic slug (default: the default clinic).")
        parser.add_argument("--batch-size", type=int, default=200, help="Patients written per transaction.")
        parser.add_argument(
            "--no-evaluate",
            dest="evaluate",
            action="store_false",
            help="Do not run the monitoring engine on the demo patients afterwards (the nightly sweep will).",
        )

    def handle(self, *args, **options) -> None:
        if options["patients"] < 0:
            raise CommandError("--patients cannot be negative.")
        as_of = options["as_of"] or timezone.localdate()
        if as_of > timezone.localdate():
            raise CommandError("--as-of cannot be in the future: results would be dated after today.")
        clinic = self.clinic(options["clinic"])
        summary = seed_demo_cohort(
            patients=options["patients"],
            seed=options["seed"],
            as_of=as_of,
            clinic=clinic,
            batch_size=options["batch_size"],
        )
        self.stdout.write(summary.line())
        if options["evaluate"]:
            self.evaluate(clinic)

    def evaluate(self, clinic: Clinic) -> None:
        """Open the demo patients' alerts now, so the queue is populated before the first nightly sweep."""
        ids = list(
            Patient.objects.active()
            .filter(clinic=clinic, mrn__startswith=MRN_PREFIX)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        opened = 0
        for start in range(0, len(ids), SWEEP_CHUNK_SIZE):
            _, result = evaluate_patients(ids[start : start + SWEEP_CHUNK_SIZE])
            opened += result.opened
        self.stdout.write(f"Evaluated {len(ids)} demo patients: {opened} new alerts.")

    def clinic(self, slug: str | None) -> Clinic:
        if slug is None:
            return Clinic.default()
        try:
            return Clinic.objects.get(slug=slug)
        except Clinic.DoesNotExist:
            raise CommandError(f"No clinic with slug '{slug}'.") from None
