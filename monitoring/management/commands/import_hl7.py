from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from monitoring.interop.hl7 import decode_text, import_text
from monitoring.management.clinic import clinic_from_slug
from monitoring.models import InboundStatus


class Command(BaseCommand):
    help = (
        "Import HL7 v2 ORU^R01 files (one or several messages per file). Each message is imported "
        "whole or goes to the quarantine with its reasons; a message already received changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, help="HL7 v2 files (any line breaks, BOM allowed).")
        parser.add_argument("--clinic", help="Clinic slug (default: the default clinic).")

    def handle(self, *args, **options):
        clinic = clinic_from_slug(options["clinic"])
        quarantined = 0
        for path in options["files"]:
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            messages = import_text(decode_text(path.read_bytes()), clinic=clinic, origin=f"file:{path.name}")
            by_status = {}
            for message in messages:
                by_status[message.status] = by_status.get(message.status, 0) + 1
            summary = ", ".join(f"{count} {InboundStatus(status).label.lower()}" for status, count in by_status.items())
            self.stdout.write(f"{path}: {len(messages)} message(s): {summary or 'none'}")
            for message in messages:
                self.stdout.write(f"  {_line(message)}")
                if message.status == InboundStatus.QUARANTINED:
                    quarantined += 1
                    for item in message.items:
                        self.stdout.write(
                            f"    {item.get('kind', '')}  {item.get('where', '')}: {item.get('detail', '')}"
                        )
        if quarantined:
            raise CommandError(f"{quarantined} message(s) quarantined: review them on the quarantine page.")


def _line(message) -> str:
    name = f"#{message.pk} control id {message.control_id or '(none)'}"
    if message.status == InboundStatus.DUPLICATE:
        return f"{name}: already received as #{message.duplicate_of_id}, nothing new"
    counts = ", ".join(f"{count} {name}" for name, count in message.counts.items())
    patient = f" for MRN {message.patient.mrn}" if message.patient_id else ""
    return f"{name}: {message.get_status_display().lower()}{patient}{': ' + counts if counts else ''}"
