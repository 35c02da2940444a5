from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aih_tracker.demo_users import DEMO_PASSWORD, create_demo_users


class Command(BaseCommand):
    help = "Create one demo login per role in the default clinic (local use only). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off (never on a clinic server).")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to create demo logins with DEBUG off; pass --force if you really mean it.")
        users = create_demo_users()
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for user in users:
            self.stdout.write(f"  {user.username:<10} {user.get_role_display()}")
