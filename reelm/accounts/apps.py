from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

from reelm.core import bus


class AccountsConfig(AppConfig):
    name = "reelm.accounts"
    label = "accounts"

    def ready(self) -> None:
        from reelm.accounts.models import User

        post_save.connect(_account_changed, sender=User, dispatch_uid="accounts-changed-save")
        post_delete.connect(_account_changed, sender=User, dispatch_uid="accounts-changed-delete")


def _account_changed(instance: Any, **_: Any) -> None:
    bus.emit(bus.AccountChanged(account_id=instance.id))
