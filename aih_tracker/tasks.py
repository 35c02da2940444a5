from celery import shared_task

from aih_tracker.services import record_heartbeat


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Scheduled by beat every minute, run by a worker: proves both are alive (see /health/)."""
    record_heartbeat("celery")
