"""What the layering relies on at run time (the import contracts themselves: `lint-imports`, make lint)."""

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
