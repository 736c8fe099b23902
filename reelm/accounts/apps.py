from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

from reelm.core import bus


class AccountsConfig(AppConfig):
    name = "reelm.accounts"
    label = "accounts"

    def ready(self) -> None:
        from reelm.accounts import replication  # noqa: F401  (declares its gateway kinds)
        from reelm.accounts.models import User

        post_save.connect(_account_changed, sender=User, dispatch_uid="accounts-changed-save")
        post_delete.connect(_account_changed, sender=User, dispatch_uid="accounts-changed-delete")


def _account_changed(instance: Any, signal: Any, **_: Any) -> None:
    from reelm.accounts.replication import account_forget, account_replicate

    # The replica goes out in the transaction that changed the account (an event would wait for its commit).
    if signal is post_delete:
        account_forget(instance.id, instance.home_realm)
    else:
        account_replicate([instance.id])
    bus.emit(bus.AccountChanged(account_id=instance.id))
