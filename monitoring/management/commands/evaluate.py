import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from monitoring.evaluation import active_patient_chunks, due_patient_chunks, evaluate_patients
from patients.models import Patient


class Command(BaseCommand):
    help = (
        "Evaluate patients now with the same code the Celery tasks run, and reconcile their alerts. "
        "Without --mrn: every active patient; with --due, only those the nightly sweep would evaluate "
        "(data changed, a date-driven finding may change, parameters or rules changed, a snooze ended)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, help="Evaluate as of this date (YYYY-MM-DD).")
        parser.add_argument("--mrn", nargs="+", default=[], help="Only these patients (MRN).")
        parser.add_argument("--clinic", help="Clinic slug for --mrn (default: any clinic).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object per finding.")
        parser.add_argument(
            "--due", action="store_true", help="Only the patients whose last evaluation may no longer hold."
        )

    def handle(self, *args, **options):
        if options["mrn"]:
            patients = Patient.objects.filter(mrn__in=options["mrn"])
            if options["clinic"]:
                patients = patients.filter(clinic__slug=options["clinic"])
            ids = list(patients.values_list("pk", flat=True))
            missing = set(options["mrn"]) - set(patients.values_list("mrn", flat=True))
            if missing:
                raise CommandError(f"No patient with MRN {', '.join(sorted(missing))}.")
            chunks = [ids]
        elif options["due"]:
            chunks = due_patient_chunks(options["as_of"])
        else:
            chunks = active_patient_chunks()
        mrn_of = {}
        counts = {"patients": 0, "findings": 0, "opened": 0, "resolved": 0}
        for chunk in chunks:
            evaluations, result = evaluate_patients(chunk, options["as_of"])
            mrn_of.update(Patient.objects.filter(pk__in=chunk).values_list("pk", "mrn"))
            counts["patients"] += len(evaluations)
            counts["opened"] += result.opened
            counts["resolved"] += result.resolved
            for evaluation in evaluations:
                counts["findings"] += len(evaluation.findings)
                if options["json"]:
                    for finding in evaluation.findings:
                        self.stdout.write(
                            json.dumps(
                                {
                                    "mrn": mrn_of[evaluation.patient_id],
                                    "rule": finding.rule_id,
                                    "severity": finding.severity.label,
                                    "message": finding.message,
                                    "evidence": finding.evidence,
                                    "source": finding.source,
                                },
                                default=str,
                            )
                        )
        if not options["json"]:
            self.stdout.write(
                f"Evaluated {counts['patients']} patients: {counts['findings']} findings, "
                f"{counts['opened']} alerts opened, {counts['resolved']} resolved by data."
            )
