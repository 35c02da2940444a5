import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from aih_tracker.roles import Action, Role, actions_for

DEFAULT_CLINIC_SLUG = "default"


def time_zone_names() -> list[str]:
    """IANA time zone names this machine knows (zoneinfo), sorted: the clinic's choice list."""
    return sorted(zoneinfo.available_timezones())


def default_time_zone() -> str:
    return settings.TIME_ZONE


def validate_time_zone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValidationError(f"{name!r} is not a time zone name (e.g. Europe/Paris, America/New_York, UTC).")


class Clinic(models.Model):
    """A hepatology clinic. Patients, staff and lab reference intervals belong to one."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="Where the clinic is: a result's date is its collection time in this zone (e.g. Europe/Paris).",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> "Clinic":
        """The clinic created by the first migration; commands without --clinic use it."""
        return cls.objects.get(slug=DEFAULT_CLINIC_SLUG)


class User(AbstractUser):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="staff")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | models.Q(clinic__isnull=False),
                name="user_clinic_required_unless_superuser",
            ),
        ]

    def can(self, action: Action) -> bool:
        if not self.is_active:
            return False
        return self.is_superuser or action in actions_for(self.role)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Heartbeat(models.Model):
    """Last time a periodic process proved it was alive (Celery beat + worker)."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
