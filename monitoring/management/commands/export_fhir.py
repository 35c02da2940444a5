from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from monitoring.interop.fhir_export import export_patient_json
from monitoring.management.clinic import clinic_from_slug
from patients.models import Patient


class Command(BaseCommand):
    help = "Write one patient's record as a FHIR R4 collection Bundle (validated by parsing it back)."

    def add_arguments(self, parser):
        parser.add_argument("--mrn", required=True)
        parser.add_argument("--clinic", help="Clinic slug (default: the default clinic).")
        parser.add_argument("-o", "--output", type=Path, help="File to write (default: standard output).")

    def handle(self, *args, **options):
        clinic = clinic_from_slug(options["clinic"])
        patient = Patient.objects.filter(clinic=clinic, mrn=options["mrn"]).first()
        if patient is None:
            raise CommandError(f"No patient with MRN {options['mrn']} in {clinic}.")
        text = export_patient_json(patient)
        if options["output"]:
            options["output"].write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']}")
        else:
            self.stdout.write(text)
