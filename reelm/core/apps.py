from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

from reelm.core import realms


class CoreConfig(AppConfig):
    name = "reelm.core"
    label = "core"

    def ready(self) -> None:
        from reelm.core.sqlite import statistics_refresh_after_migrate

        post_migrate.connect(statistics_refresh_after_migrate, sender=self, dispatch_uid="core-sqlite-statistics")
        if realms.configured():
            connection_created.connect(realms.guard_connection, dispatch_uid="core-one-realm-per-transaction")
