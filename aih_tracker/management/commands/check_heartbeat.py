from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from aih_tracker.models import Heartbeat


class Command(BaseCommand):
    help = (
        "Exit non-zero when a heartbeat is missing or older than --max-age seconds. "
        "The 'celery' heartbeat is scheduled by beat and written by a worker, so a fresh one "
        "proves beat, broker, worker and database all work (the beat container's healthcheck)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age",
            type=int,
            default=300,
            help="Seconds after which the heartbeat counts as stale (default 300; beat sends one a minute).",
        )
        parser.add_argument("--name", default="celery", help="Which heartbeat to check (default: celery).")

    def handle(self, *args, max_age: int, name: str, **options):
        if max_age <= 0:
            raise CommandError("--max-age must be a positive number of seconds.")
        beat = Heartbeat.objects.filter(name=name).first()
        if beat is None:
            raise CommandError(f"No {name!r} heartbeat recorded yet.")
        age = (timezone.now() - beat.beat_at).total_seconds()
        if age > max_age:
            raise CommandError(f"The {name!r} heartbeat is {age:.0f} s old (limit {max_age} s).")
        self.stdout.write(f"{name} heartbeat OK: {age:.0f} s old.")
