"""``reelm realm list`` and ``reelm realm classify``: tables for a terminal, JSON for a monitor."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from reelm.config import redacted
from reelm.core import realms
from reelm.core.scopes import classification
from reelm.directory.models import Entry


def realm_rows() -> list[dict[str, Any]]:
    """Each realm: where its rows, media and tasks are, the countries it takes, and how many accounts live there."""
    config = realms.config()
    homes = dict(_accounts_per_realm())
    return [
        {
            "realm": realm.name,
            "default": realm.name == config.default,
            "countries": list(realm.countries),
            "database": redacted(realm.database_url),
            "storage": redacted(realm.storage_url),
            "queue": redacted(realm.queue_url),
            "accounts": homes.get(realm.name, 0),
        }
        for realm in config.realms.values()
    ]


def _accounts_per_realm() -> list[tuple[str, int]]:
    from django.db.models import Count

    return [(row["realm"], row["n"]) for row in Entry.objects.values("realm").annotate(n=Count("account_id"))]


def realm_list(console: Console, *, as_json: bool) -> None:
    rows = realm_rows()
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="Realms" if realms.configured() else "One realm (REELM_REALMS is not set)")
    for column in ("realm", "countries", "accounts", "database", "storage", "queue"):
        table.add_column(column, overflow="fold")
    for row in rows:
        name = row["realm"] + (" (default)" if row["default"] else "")
        countries = ", ".join(row["countries"]) or "—"
        table.add_row(name, countries, str(row["accounts"]), row["database"], row["storage"], row["queue"])
    console.print(table)


def classification_rows() -> list[dict[str, Any]]:
    return [
        {
            "model": label,
            "table": model._meta.db_table,
            "scope": found.scope.value,
            "why": found.why,
            "protected_fields": list(found.protected_fields),
            "replicated_when": found.replicated_when,
        }
        for label, found, model in classification()
    ]


def realm_classify(console: Console, *, as_json: bool) -> None:
    rows = classification_rows()
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="Where each model's rows live")
    for column in ("model", "scope", "why", "protected fields", "replicated when"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["model"],
            row["scope"],
            row["why"],
            ", ".join(row["protected_fields"]) or "—",
            row["replicated_when"] or "—",
        )
    console.print(table)
