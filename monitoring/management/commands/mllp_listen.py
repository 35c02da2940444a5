import asyncio

from django.core.management.base import BaseCommand

from monitoring.interop.mllp import Listener
from monitoring.interop.quarantine import process_pending
from monitoring.management.clinic import clinic_from_slug
from monitoring.models import InboundKind


class Command(BaseCommand):
    help = (
        "Listen for HL7 v2 ORU^R01 over MLLP and acknowledge each message once it is stored "
        "(AA imported, AE quarantined, AR not stored). SIGTERM / SIGINT stop it gracefully."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (0.0.0.0 in a container).")
        parser.add_argument("--port", type=int, default=2575, help="TCP port (2575 is HL7's registered port).")
        parser.add_argument("--clinic", help="Clinic slug the messages belong to (default: the default clinic).")

    def handle(self, *args, **options):
        clinic = clinic_from_slug(options["clinic"])
        # Messages stored by a listener that died before processing them are finished first.
        finished = process_pending(clinic=clinic, kind=InboundKind.HL7)
        if finished:
            self.stdout.write(f"Processed {finished} message(s) left unprocessed by a previous run.")
        listener = Listener(clinic=clinic, host=options["host"], port=options["port"])

        def ready(address):
            self.stdout.write(f"MLLP listener for {clinic} on {address[0]}:{address[1]}")
            self.stdout.flush()

        asyncio.run(listener.serve(on_ready=ready))
        self.stdout.write(f"Stopped after {listener.handled} message(s).")
