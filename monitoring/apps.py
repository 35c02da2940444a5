from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_analytes(sender, **kwargs) -> None:
    from monitoring.catalogue import sync_analyte_catalogue
    from monitoring.models import Analyte

    sync_analyte_catalogue(Analyte)


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        # The catalogue is code; keep the table in step with it after every migrate.
        post_migrate.connect(_sync_analytes, sender=self)
        # Any change to a patient's timeline makes their evaluation due (the incremental sweep).
        from monitoring import signals, tasks  # noqa: F401 - tasks: registered in every process (below)
        from monitoring.rules import load_rules

        signals.connect()
        # The rules register themselves in the engine's registry when imported (engine/evaluate.py).
        load_rules()
        # The lower layers queue tasks by name (monitoring/changes.py): a web process that never imported
        # monitoring.tasks must find them in Celery's registry all the same.
