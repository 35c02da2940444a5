import os
import stat
from pathlib import Path

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


def _private_sqlite_files(sender, connection, **kwargs) -> None:
    """An SQLite database file and its -wal / -shm / -journal are owner-only (0600): they hold patient data.
    SQLite creates them as 0644 (less the umask), and gives a new -wal or -shm the database file's mode, so
    tightening the database when it is opened covers the files it makes later. Files of another user are
    left alone."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return
    database = Path(connection.settings_dict["NAME"])
    for path in (database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != 0o600:
            path.chmod(0o600)


class AihTrackerConfig(AppConfig):
    name = "aih_tracker"
    verbose_name = "Clinic and users"

    def ready(self) -> None:
        # A default clinic exists right after `migrate` (and after a test flush), so commands
        # that take --clinic can default to it.
        post_migrate.connect(_ensure_default_clinic, sender=self)
        connection_created.connect(_use_generic_plans, dispatch_uid="aih-generic-plans")
        connection_created.connect(_private_sqlite_files, dispatch_uid="aih-private-sqlite-files")
