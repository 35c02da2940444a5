from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from monitoring.interop.fhir import import_fhir_file
from monitoring.management.clinic import clinic_from_slug
from monitoring.models import InboundStatus


class Command(BaseCommand):
    help = (
        "Import FHIR R4 JSON files (Bundles of type collection, transaction or batch, or single resources). "
        "Each file is imported whole or goes to the quarantine with one reason per resource."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, help="FHIR JSON files (.json or .json.gz).")
        parser.add_argument("--clinic", help="Clinic slug (default: the default clinic).")

    def handle(self, *args, **options):
        clinic = clinic_from_slug(options["clinic"])
        failed = 0
        for path in options["files"]:
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            message = import_fhir_file(path, clinic=clinic)
            status = message.status
            if status == InboundStatus.DUPLICATE:
                self.stdout.write(f"{path}: duplicate of inbound message #{message.duplicate_of_id}, nothing new")
                continue
            counts = ", ".join(f"{count} {name}" for name, count in message.counts.items())
            state = message.get_status_display().lower()
            self.stdout.write(f"{path}: {state} (inbound message #{message.pk}) {counts}")
            if status == InboundStatus.QUARANTINED:
                failed += 1
                for item in message.items:
                    self.stdout.write(f"  quarantined  {item.get('where', '')}: {item.get('detail', '')}")
            elif options["verbosity"] > 1:
                for item in message.items:
                    self.stdout.write(f"  {item['result']:<10} {item['where']}: {item['detail']}")
        if failed:
            raise CommandError(f"{failed} file(s) quarantined: review them on the quarantine page.")
