"""`manage.py check_heartbeat`: the beat container's healthcheck (docker-compose.yml)."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from aih_tracker.models import Heartbeat
from aih_tracker.services import record_heartbeat

pytestmark = pytest.mark.django_db


def test_a_fresh_heartbeat_passes(capsys):
    record_heartbeat("celery")

    call_command("check_heartbeat", "--max-age", "300")

    assert "celery heartbeat OK" in capsys.readouterr().out


def test_no_heartbeat_yet_fails():
    with pytest.raises(CommandError, match="No 'celery' heartbeat") as excinfo:
        call_command("check_heartbeat")

    # manage.py turns a CommandError into this exit status, which Docker reads as unhealthy.
    assert excinfo.value.returncode == 1


def test_a_heartbeat_older_than_max_age_fails():
    Heartbeat.objects.create(name="celery", beat_at=timezone.now() - timedelta(seconds=301))

    with pytest.raises(CommandError, match=r"is 301 s old \(limit 300 s\)"):
        call_command("check_heartbeat", "--max-age", "300")


def test_max_age_is_configurable():
    Heartbeat.objects.create(name="celery", beat_at=timezone.now() - timedelta(minutes=10))

    call_command("check_heartbeat", "--max-age", "900")
    with pytest.raises(CommandError):
        call_command("check_heartbeat", "--max-age", "60")


def test_only_the_named_heartbeat_counts():
    record_heartbeat("something-else")

    with pytest.raises(CommandError):
        call_command("check_heartbeat")
    call_command("check_heartbeat", "--name", "something-else")
