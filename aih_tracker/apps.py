from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_default_clinic(sender, **kwargs) -> None:
    from .models import DEFAULT_CLINIC_SLUG, Clinic

    Clinic.objects.get_or_create(slug=DEFAULT_CLINIC_SLUG, defaults={"name": "Default clinic"})


class AihTrackerConfig(AppConfig):
    name = "aih_tracker"
    verbose_name = "Clinic and users"

    def ready(self) -> None:
        # A default clinic exists right after `migrate` (and after a test flush), so commands
        # that take --clinic can default to it.
        post_migrate.connect(_ensure_default_clinic, sender=self)
