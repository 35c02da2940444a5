"""What the layering relies on at run time (the import contracts themselves: `lint-imports`, make lint)."""

import os
import subprocess
import sys

from monitoring import changes, tasks
from monitoring.engine.context import REGISTRY


def test_the_tasks_the_lower_layers_queue_by_name_are_the_ones_monitoring_tasks_defines():
    queued_by_name = {
        changes.EVALUATE_PATIENT: tasks.evaluate_patient,
        changes.EVALUATE_CHUNK: tasks.evaluate_chunk,
        changes.IMPORT_BATCH: tasks.import_batch,
        changes.REFRESH_COHORT_SNAPSHOTS: tasks.refresh_cohort_snapshots,
    }
    for name, task in queued_by_name.items():
        assert changes.task_by_name(name) is task._get_current_object()


def test_every_rule_module_is_registered_when_django_starts():
    # Nothing here imported a rule module: the monitoring app loaded them all when Django started.
    assert {"RESP-01", "MON-01", "AZA-01", "STER-04", "ASA-02", "LT-05", "WD-01"} <= set(REGISTRY)


def test_a_process_that_never_imported_the_tasks_can_queue_them_by_name():
    """The web process imports no task module itself; the monitoring app registers them at start-up."""
    script = (
        "import django, sys; django.setup(); "
        "from monitoring import changes; "
        "names = [changes.EVALUATE_PATIENT, changes.EVALUATE_CHUNK, changes.IMPORT_BATCH, "
        "changes.REFRESH_COHORT_SNAPSHOTS]; "
        "print(all(changes.task_by_name(name).name == name for name in names))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "aih_tracker.settings"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "True", done.stderr
