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


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def gateway_rows(*, recent: int = 10_000) -> list[dict[str, Any]]:
    """Every flow through the gateway, per sending realm, receiving realm and kind: messages and bytes sent,
    delivered, waiting and failing, as the receiver counts them too, and the delay from send to delivery (over
    the last ``recent`` delivered messages of the flow)."""
    from django.db.models import Count, Q, Sum

    from reelm.gateway.models import InboxReceipt, OutboxMessage

    received: dict[tuple[str, str, str], int] = {}
    for target in realms.realm_names():
        with realms.working_for(target):
            for row in InboxReceipt.objects.values("source", "kind").annotate(n=Count("message_id")):
                received[(row["source"], target, row["kind"])] = row["n"]
    rows = []
    for source in realms.realm_names():
        with realms.working_for(source):
            flows = OutboxMessage.objects.values("target", "kind").annotate(
                sent=Count("id"),
                bytes=Sum("size"),
                delivered=Count("id", filter=Q(delivered_at__isnull=False)),
                failing=Count("id", filter=Q(delivered_at__isnull=True, attempts__gt=0)),
            )
            for flow in flows.order_by("target", "kind"):
                done = OutboxMessage.objects.filter(target=flow["target"], kind=flow["kind"]).exclude(delivered_at=None)
                lags = [
                    (delivered - created).total_seconds()
                    for created, delivered in done.order_by("-id").values_list("created_at", "delivered_at")[:recent]
                    if delivered is not None
                ]
                p50, p99 = _percentile(lags, 0.5), _percentile(lags, 0.99)
                rows.append(
                    {
                        "from": source,
                        "to": flow["target"],
                        "kind": flow["kind"],
                        "sent": flow["sent"],
                        "bytes": flow["bytes"] or 0,
                        "delivered": flow["delivered"],
                        "waiting": flow["sent"] - flow["delivered"],
                        "failing": flow["failing"],
                        "received": received.get((source, flow["target"], flow["kind"]), 0),
                        "lag_p50_s": round(p50, 3) if p50 is not None else None,
                        "lag_p99_s": round(p99, 3) if p99 is not None else None,
                    }
                )
    return rows


def realm_gateway(console: Console, *, as_json: bool) -> None:
    rows = gateway_rows()
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("Nothing has crossed between realms." if realms.configured() else "One realm: nothing crosses.")
        return
    table = Table(title="What crossed between realms")
    for column in ("from → to", "kind", "sent", "bytes", "delivered", "waiting", "failing", "received", "lag p50/p99"):
        table.add_column(column, overflow="fold")
    for row in rows:
        lag = "—" if row["lag_p50_s"] is None else f"{row['lag_p50_s']} s / {row['lag_p99_s']} s"
        table.add_row(
            f"{row['from']} → {row['to']}",
            row["kind"],
            str(row["sent"]),
            str(row["bytes"]),
            str(row["delivered"]),
            str(row["waiting"]),
            ("[red]" + str(row["failing"]) + "[/red]") if row["failing"] else "0",
            str(row["received"]),
            lag,
        )
    console.print(table)


def realm_audit(console: Console, *, as_json: bool) -> int:
    """Print the audit; 1 if it found anything, else 0."""
    from reelm.residency.audit import audit, findings_json

    if as_json:
        report = findings_json(audit())
        console.print_json(json.dumps(report))
        return 0 if report["clean"] else 1
    with console.status("auditing…") as status:
        scans = audit(lambda text: status.update(f"auditing {text}…"))
    table = Table(title="Residency audit")
    for column in ("realm", "rows read", "objects read", "findings"):
        table.add_column(column, justify="left" if column == "realm" else "right")
    for scan in scans:
        found = len(scan.findings)
        table.add_row(scan.realm, str(scan.rows), str(scan.objects), f"[red]{found}[/red]" if found else "0")
    console.print(table)
    findings = [f for scan in scans for f in scan.findings]
    if not findings:
        console.print(
            "[green]Clean[/green]: every row and object is in its home realm, and nothing protected is elsewhere."
        )
        return 0
    listed = Table(title="Findings")
    for column in ("realm", "kind", "where", "what"):
        listed.add_column(column, overflow="fold")
    for finding in findings:
        listed.add_row(finding.realm, finding.kind, finding.where, finding.detail)
    console.print(listed)
    return 1


def access_rows(*, limit: int = 500) -> list[dict[str, Any]]:
    """Each realm's staff access log, newest first: grants with their reasons, requests made under them, refusals."""
    from reelm.residency.models import StaffAccess

    rows = []
    for realm in realms.realm_names():
        with realms.working_for(realm):
            for entry in StaffAccess.objects.all()[:limit]:
                rows.append(
                    {
                        "realm": realm,
                        "at": entry.created_at.isoformat(),
                        "kind": entry.kind,
                        "staff": entry.staff_username,
                        "staff_realm": entry.staff_realm,
                        "reason": entry.reason,
                        "until": entry.expires_at.isoformat() if entry.expires_at else None,
                        "request": f"{entry.method} {entry.path}".strip(),
                    }
                )
    return sorted(rows, key=lambda row: row["at"], reverse=True)


def realm_access_log(console: Console, *, as_json: bool) -> None:
    rows = access_rows()
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("No staff of another realm has reached, or tried to reach, any realm's data.")
        return
    table = Table(title="Staff access across realms")
    for column in ("realm", "at", "kind", "staff", "reason / request", "until"):
        table.add_column(column, overflow="fold")
    for row in rows:
        what = row["reason"] if row["kind"] != "use" else row["request"]
        table.add_row(
            row["realm"],
            row["at"][:19],
            row["kind"],
            f"@{row['staff']} ({row['staff_realm']})",
            what,
            row["until"] or "—",
        )
    console.print(table)
