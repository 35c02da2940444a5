from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def _ensure_default_clinic(sender, **kwargs) -> None:
    from aih_tracker.models import DEFAULT_CLINIC_SLUG, Clinic

    Clinic.objects.get_or_create(slug=DEFAULT_CLINIC_SLUG, defaults={"name": "Default clinic"})


def _use_generic_plans(sender, connection, **kwargs) -> None:
    """The loader's prepared statements get one plan for any patients (settings.AIH_PREPARED_STATEMENTS).
    Set per session rather than as a connection option: a pooler refuses unknown startup options, and
    a session setting it does not carry over only costs speed."""
    if connection.vendor == "postgresql" and settings.AIH_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")


class AihTrackerConfig(AppConfig):
    name = "aih_tracker"
    verbose_name = "Clinic and users"

    def ready(self) -> None:
        # A default clinic exists right after `migrate` (and after a test flush), so commands
        # that take --clinic can default to it.
        post_migrate.connect(_ensure_default_clinic, sender=self)
        connection_created.connect(_use_generic_plans, dispatch_uid="aih-generic-plans")
