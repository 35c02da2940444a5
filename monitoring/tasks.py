"""Celery tasks: thin wrappers around monitoring/evaluation.py. They take ids only (no patient data)."""

import logging

from celery import shared_task
from celery.signals import worker_init
from django.db import DatabaseError

from aih_tracker.models import Clinic
from monitoring.alerts.dashboard import refresh_cohort_snapshots as refresh
from monitoring.engine.cache import freeze_loaded_objects
from monitoring.evaluation import active_patient_chunks, due_patient_chunks, evaluate_patients
from monitoring.interop.bulk import run_batch

logger = logging.getLogger(__name__)

RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": 10, "retry_kwargs": {"max_retries": 5}}


@shared_task(acks_late=True, ignore_result=True, **RETRY)
def evaluate_patient(patient_id: int) -> None:
    """Evaluate one patient after new data arrived. Idempotent: running it twice changes nothing."""
    evaluate_patients([patient_id])


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=1500, time_limit=1800, **RETRY)
def evaluate_chunk(patient_ids: list[int]) -> None:
    evaluate_patients(patient_ids)


@shared_task(acks_late=True, ignore_result=True, **RETRY)
def nightly_sweep(full: bool = False) -> int:
    """Fan the sweep out as one task per chunk of patient ids, so every worker can take a share: the
    patients whose evaluation may no longer hold, or (`full`) every active patient."""
    chunks = 0
    for chunk in active_patient_chunks() if full else due_patient_chunks():
        evaluate_chunk.delay(chunk)
        chunks += 1
    return chunks


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=1500, time_limit=1800, **RETRY)
def refresh_cohort_snapshots() -> None:
    """The dashboard's cohort tiles and quality measures for today, every clinic (monitoring/alerts/dashboard.py)."""
    refresh()


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=1500, time_limit=1800, **RETRY)
def import_batch(clinic_id: int, batch_id: str) -> int:
    """Import an uploaded batch of HL7 / FHIR files (monitoring/interop/bulk.py). Idempotent."""
    return run_batch(Clinic.objects.get(pk=clinic_id), batch_id)


@worker_init.connect
def freeze_startup_objects(**kwargs) -> None:
    """Once the worker has loaded Django and the tasks (before the pool forks): see engine/cache.py."""
    frozen = freeze_loaded_objects()
    logger.info("Froze %s objects loaded at start out of the garbage collector's view.", frozen)
