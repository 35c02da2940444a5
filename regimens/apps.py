from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_drugs(sender, **kwargs) -> None:
    from regimens.catalogue import sync_drug_catalogue
    from regimens.models import Drug

    sync_drug_catalogue(Drug)


class RegimensConfig(AppConfig):
    name = "regimens"

    def ready(self) -> None:
        # The catalogue is code; keep the table in step with it after every migrate.
        post_migrate.connect(_sync_drugs, sender=self)
