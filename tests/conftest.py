import pytest

from aih_tracker.roles import Role
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 is deliberately slow; tests hash a password per user they create.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    # The dashboard keeps a cohort snapshot per clinic and day in the cache; a test database reuses
    # clinic ids, so each test gets an empty in-memory cache of its own (never the var/ or Redis one).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fresh_loinc_map(monkeypatch):
    # The HL7 importer keeps the analytes by LOINC for a minute per process; a test that flushes the
    # database re-creates them with new ids, so each test starts with the map unread.
    monkeypatch.setattr("monitoring.interop.hl7._loinc_cache", (0.0, {}))


@pytest.fixture(autouse=True)
def fresh_evaluation_basis(monkeypatch):
    # Evaluations reuse the basis (parameters, digests) for a minute per process; tests reuse clinic ids with
    # other parameters, so each test starts with none remembered.
    monkeypatch.setattr("monitoring.engine.cache._recent", None)


@pytest.fixture
def make_user(db):
    """A user of the given role in the default clinic."""

    def make(role: Role = Role.STAFF, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def physician(make_user):
    return make_user(Role.PHYSICIAN)


@pytest.fixture
def nurse(make_user):
    return make_user(Role.NURSE)


@pytest.fixture(scope="session", autouse=True)
def no_leftover_database_sessions(django_db_setup, django_db_blocker):
    """On PostgreSQL the test database can be dropped only once nobody is connected to it. A thread that
    used the database during a test (a live server's, a Celery test worker's, the MLLP listener's executor)
    may leave its connection open, and the drop then fails the last test of the run. At the end of the
    session those leftover sessions are ended; the suite's own connection is closed by the teardown."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
