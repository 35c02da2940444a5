import asyncio

from django.core.management.base import BaseCommand, CommandError

from monitoring.interop.mllp import IDLE_TIMEOUT_SECONDS, MAX_CONNECTIONS, Listener
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
        parser.add_argument(
            "--idle-timeout",
            type=float,
            default=IDLE_TIMEOUT_SECONDS,
            help=f"Seconds a connection may send no message before it is closed (default {IDLE_TIMEOUT_SECONDS:g}).",
        )
        parser.add_argument(
            "--max-connections",
            type=int,
            default=MAX_CONNECTIONS,
            help=f"Connections open at once; one more is closed at once (default {MAX_CONNECTIONS}).",
        )

    def handle(self, *args, **options):
        if options["idle_timeout"] <= 0 or options["max_connections"] <= 0:
            raise CommandError("--idle-timeout and --max-connections must be more than 0.")
        clinic = clinic_from_slug(options["clinic"])
        # Messages stored by a listener that died before processing them are finished first.
        finished = process_pending(clinic=clinic, kind=InboundKind.HL7)
        if finished:
            self.stdout.write(f"Processed {finished} message(s) left unprocessed by a previous run.")
        listener = Listener(
            clinic=clinic,
            host=options["host"],
            port=options["port"],
            idle_timeout=options["idle_timeout"],
            max_connections=options["max_connections"],
        )

        def ready(address):
            self.stdout.write(f"MLLP listener for {clinic} on {address[0]}:{address[1]}")
            self.stdout.flush()

        asyncio.run(listener.serve(on_ready=ready))
        self.stdout.write(f"Stopped after {listener.handled} message(s).")
