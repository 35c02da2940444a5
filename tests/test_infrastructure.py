"""The suite runs on the engines it claims to: PostgreSQL and Redis in CI, SQLite and the
filesystem broker on a laptop, and a real Celery worker gets tasks through the broker."""

import os
import subprocess
import sys
import time

import dj_database_url
import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django.urls import reverse

from aih_tracker.celery import app as celery_app
from aih_tracker.models import Heartbeat
from aih_tracker.services import record_heartbeat
from aih_tracker.tasks import heartbeat

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.mark.django_db
def test_the_database_is_the_one_database_url_names_and_postgresql_in_ci():
    url = os.environ.get("DATABASE_URL")
    expected_engine = dj_database_url.parse(url)["ENGINE"] if url else "django.db.backends.sqlite3"

    assert settings.DATABASES["default"]["ENGINE"] == expected_engine
    if IN_CI:
        assert connection.vendor == "postgresql", (
            "CI must run the suite on PostgreSQL: .ci/run exports DATABASE_URL from scripts/services"
        )
        # Ask the server itself, so a misconfigured URL cannot pass for PostgreSQL.
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            assert cursor.fetchone()[0].startswith("PostgreSQL")


def test_the_broker_is_the_configured_one_and_redis_in_ci():
    expected = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "filesystem://"

    assert expected == settings.CELERY_BROKER_URL
    assert celery_app.conf.broker_url == expected
    if IN_CI:
        with celery_app.connection_for_write() as conn:
            assert conn.transport.driver_type == "redis", (
                "CI must run the suite with a Redis broker: .ci/run exports REDIS_URL from scripts/services"
            )
            conn.ensure_connection(max_retries=3)  # a Redis that answers, not just a URL


def test_redis_url_becomes_the_celery_broker(tmp_path):
    # Settings are read once per process, so load them fresh with a known environment.
    env = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    env.update(REDIS_URL="redis://redis.example:6380/3", AIH_VAR_DIR=str(tmp_path))
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "from aih_tracker.celery import app; print(settings.CELERY_BROKER_URL); print(app.conf.broker_url)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.split() == ["redis://redis.example:6380/3"] * 2


TEST_QUEUE = "aih-test-heartbeat"  # no dots: the filesystem transport splits file names on them


@pytest.fixture
def private_queue(monkeypatch):
    """Route the heartbeat task to a queue of the tests' own, so that a developer's running
    worker can't take the message, and empty it first, so that a message left over from an
    earlier run can't stand in for the one this test sends."""
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(TEST_QUEUE)
    monkeypatch.setattr(heartbeat, "queue", TEST_QUEUE, raising=False)
    return TEST_QUEUE


# transaction=True: the worker runs in another thread with its own connection and sees
# only committed rows.
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_heartbeat_task_sent_through_the_broker(private_queue):
    assert not Heartbeat.objects.exists()

    # No result backend is configured (results are ignored), so the built-in ping check is off;
    # the row the task writes is the proof instead.
    with start_worker(celery_app, pool="solo", queues=[private_queue], perform_ping_check=False):
        heartbeat.delay()
        deadline = time.monotonic() + 20
        while not Heartbeat.objects.filter(name="celery").exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    assert Heartbeat.objects.filter(name="celery").exists(), "the worker did not run the heartbeat task"


@pytest.mark.django_db
def test_health_reports_the_database_and_the_heartbeat_age(client):
    response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response.json() == {"database": True, "celery_heartbeat_age_seconds": None}

    record_heartbeat("celery")
    age = client.get(reverse("health")).json()["celery_heartbeat_age_seconds"]
    assert 0 <= age < 60
