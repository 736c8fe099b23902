"""Every existing account gets its directory entry: its handle, the keyed hash of its e-mail and its home realm.

Usernames and e-mail addresses were unique only as typed until now; where two accounts share one in another case
(or share an address), the older keeps it in the directory and the newer is reported for an operator to resolve."""

from __future__ import annotations

import logging
from typing import Any

from django.db import migrations

log = logging.getLogger(__name__)


def backfill(apps: Any, schema_editor: Any) -> None:
    from reelm.core import realms
    from reelm.directory.selectors import email_hash

    alias = schema_editor.connection.alias
    realm = realms.realm_of_alias(alias) if realms.configured() else realms.default_realm()
    if realm is None:
        return
    User = apps.get_model("accounts", "User")
    Entry = apps.get_model("directory", "Entry")
    entries = Entry.objects.using(realms.DIRECTORY_ALIAS)
    handles = set(entries.exclude(handle=None).values_list("handle", flat=True))
    hashes = set(entries.exclude(email_hash=None).values_list("email_hash", flat=True))
    known = set(entries.values_list("account_id", flat=True))
    made = []
    for account_id, username, email in User.objects.using(alias).order_by("id").values_list("id", "username", "email"):
        if account_id in known:
            continue
        handle = username.lower()
        hashed = email_hash(email)
        if handle in handles:
            log.warning("account %s: handle %r is held by another account in another case", account_id, handle)
            handle = None
        if hashed in hashes:
            log.warning("account %s: its e-mail address is held by another account", account_id)
            hashed = None
        handles.add(handle)
        hashes.add(hashed)
        made.append(Entry(account_id=account_id, handle=handle, email_hash=hashed, realm=realm))
    entries.bulk_create(made, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_user_privacy_and_follow_counts"), ("directory", "0001_initial")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
