"""Realms at run time: which realm the code is working for, and the database router that sends each model's rows
to the right database. A request works for the realm of its session or token (anonymous ones for the default
realm); a task for the realm whose queue it came from. No call site picks a database by hand."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from reelm.config import RealmConfig, RealmsConfig
from reelm.core.scopes import Scope, scope_of, scope_of_label

#: The database alias of the directory (and of everything when no realms are configured).
DIRECTORY_ALIAS = "default"

_current: ContextVar[str | None] = ContextVar("reelm_realm", default=None)


class RealmError(RuntimeError):
    """Code crossed a realm's boundary: a write to another realm's database, or an unknown realm."""


def config() -> RealmsConfig:
    found: RealmsConfig = settings.REELM_REALMS
    return found


def configured() -> bool:
    """Whether the operator configured realms (otherwise there is one, on the one database)."""
    return config().configured


def realm_names() -> list[str]:
    return list(config().realms)


def realm(name: str) -> RealmConfig:
    try:
        return config().realms[name]
    except KeyError:
        raise RealmError(f"no realm named {name!r}; the realms are {', '.join(realm_names())}") from None


def default_realm() -> str:
    return config().default


def current_realm() -> str:
    """The realm this code works for: the one bound by :func:`working_for`, else the default realm."""
    return _current.get() or config().default


def current_alias() -> str:
    return realm(current_realm()).alias


def realm_of_alias(alias: str) -> str | None:
    for found in config().realms.values():
        if found.alias == alias:
            return found.name
    return None


def realm_for_country(country: str | None) -> str:
    """The home realm of a new account that declared ``country`` (two letters): the operator's table, else the
    default realm."""
    table = config().countries
    return table.get((country or "").strip().upper(), config().default)


@contextlib.contextmanager
def working_for(name: str) -> Iterator[str]:
    """Work for realm ``name`` inside the block: every realm row read or written goes to its database."""
    realm(name)  # an unknown name fails here, not at the first query
    token = _current.set(name)
    try:
        yield name
    finally:
        _current.reset(token)


def bind(name: str | None) -> Any:
    """Bind ``name`` for the rest of this context (a request); returns the token :func:`unbind` takes."""
    if name is not None:
        realm(name)
    return _current.set(name)


def unbind(token: Any) -> None:
    _current.reset(token)


class RealmRouter:
    """Installed only when realms are configured (one database needs no router). Directory rows go to the directory's database; realm rows to the database of the realm being worked for.
    A row read from one realm's database is never written to another's."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str:
        if scope_of(model) is Scope.DIRECTORY:
            return DIRECTORY_ALIAS
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return str(instance._state.db)
        return current_alias()

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str:
        if scope_of(model) is Scope.DIRECTORY:
            return DIRECTORY_ALIAS
        alias = current_alias()
        instance = hints.get("instance")
        loaded_from = instance._state.db if instance is not None else None
        if loaded_from and loaded_from != alias and loaded_from != DIRECTORY_ALIAS:
            raise RealmError(
                f"a {model._meta.label} row of realm {realm_of_alias(loaded_from)!r} cannot be written while working "
                f"for realm {current_realm()!r}"
            )
        return alias

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        return obj1._state.db == obj2._state.db if obj1._state.db and obj2._state.db else None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        directory = db == DIRECTORY_ALIAS
        if app_label == "directory":
            return directory
        scope = scope_of_label(app_label, model_name) if model_name is not None else None
        if scope is Scope.EVERY:
            return True
        if scope is Scope.DIRECTORY:
            return directory
        # A realm model, one this code no longer has, or an operation without a model (SQL, Python): realms only.
        return not directory


def connection() -> BaseDatabaseWrapper:
    """The database connection of the realm being worked for."""
    return connections[current_alias()]


def atomic(*, savepoint: bool = True, durable: bool = False) -> transaction.Atomic:
    """A transaction on the database of the realm being worked for (``django.db.transaction.atomic`` would open
    one on the directory's)."""
    return transaction.atomic(using=current_alias(), savepoint=savepoint, durable=durable)


def on_commit(fn: Callable[[], Any], *, robust: bool = False) -> None:
    """Run ``fn`` once the realm's current transaction commits (at once outside one)."""
    transaction.on_commit(fn, using=current_alias(), robust=robust)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _one_database_per_transaction(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Refuse a write to one database while this thread has a transaction open on another: a transaction never
    spans two realms (nor a realm and the directory), since no commit could cover both."""
    if sql.lstrip()[:7].upper().startswith(_WRITES):
        alias = context["connection"].alias
        for other in settings.DATABASES:
            if other != alias and connections[other].in_atomic_block:
                names = [realm_of_alias(a) or "the directory" for a in (other, alias)]
                raise RealmError(
                    f"a write to {names[1]} inside a transaction on {names[0]}: one transaction, one realm"
                )
    return execute(sql, params, many, context)


def guard_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Installed on every new connection where realms are configured (``connection_created``)."""
    if _one_database_per_transaction not in connection.execute_wrappers:
        connection.execute_wrappers.append(_one_database_per_transaction)
