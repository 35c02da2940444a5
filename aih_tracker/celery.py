"""The Celery application. Configuration comes from Django settings (CELERY_*)."""

import gc
import logging
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aih_tracker.settings")

app = Celery("aih_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
logger = logging.getLogger(__name__)


@worker_init.connect
def freeze_startup_objects(**kwargs) -> None:
    """Once the worker has loaded Django and the tasks (before the pool forks), move everything loaded so
    far out of the garbage collector's view: it lives as long as the process. A full collection then
    walks only what tasks create (measured: a 55 ms pause every few dozen evaluations, gone; the pool's
    processes also keep sharing those pages)."""
    gc.collect()
    gc.freeze()
    logger.info("Froze %s objects loaded at start out of the garbage collector's view.", gc.get_freeze_count())
