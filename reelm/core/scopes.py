"""Where each model's rows live, declared on the model: the directory, a realm (protected or public), or every
database (Django's own bookkeeping). The database router, the gateway and the residency audit read these
declarations; ``tests/core/test_scopes.py`` fails on a model without one and on a foreign key that could point
outside the database its row lives in."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.apps import apps
from django.db import models


class Scope(enum.StrEnum):
    #: The one global database: handle uniqueness, keyed e-mail hashes, account id → home realm.
    DIRECTORY = "directory"
    #: Never leaves its home realm (credentials, sessions, behaviour, private content, notifications, audit).
    PROTECTED = "realm-protected"
    #: Authored in its home realm; may be replicated read-only into other realms (public profiles, videos, comments).
    PUBLIC = "realm-public"
    #: Schema bookkeeping every database has (content types, permissions, groups): no user data.
    EVERY = "every-database"


@dataclass(frozen=True)
class Declaration:
    scope: Scope
    why: str
    #: Fields of a realm-public model that are protected all the same: never replicated, never in a message.
    protected_fields: tuple[str, ...] = ()
    #: For a realm-public model: which rows may be replicated (the others stay home like protected rows).
    replicated_when: str = ""
    #: Learnt from the realm's own data about any account's rows (its ``owner`` says whose row it describes, not
    #: whose data it is): kept in the realm, about replicas too.
    derived: bool = False


_declared: dict[str, Declaration] = {}
M = TypeVar("M", bound=type[models.Model])

# Django's own models, declared here because their classes are not ours to decorate.
_declared.update(
    {
        "contenttypes.ContentType": Declaration(Scope.EVERY, "schema bookkeeping"),
        "auth.Permission": Declaration(Scope.EVERY, "schema bookkeeping"),
        "auth.Group": Declaration(Scope.EVERY, "staff roles, the same in every realm"),
        "sessions.Session": Declaration(Scope.PROTECTED, "signed-in sessions stay in the account's home realm"),
        "admin.LogEntry": Declaration(Scope.PROTECTED, "what staff changed, kept where the data they touched lives"),
    }
)


def _label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def scoped(
    scope: Scope, why: str, *, protected_fields: Iterable[str] = (), replicated_when: str = "", derived: bool = False
) -> Callable[[M], M]:
    """Declare where a model's rows live; ``why`` is the reason, shown in ``docs/realms.md``."""

    def declare(model: M) -> M:
        if protected_fields and scope is not Scope.PUBLIC:
            raise TypeError(f"{model.__name__}: only a realm-public model has protected fields of its own")
        _declared[_label(model)] = Declaration(scope, why, tuple(protected_fields), replicated_when, derived)
        return model

    return declare


def declaration(model: type[models.Model] | Any) -> Declaration | None:
    """The declaration of ``model`` (or of the model a historical migration model stands for), if any. A
    many-to-many table Django makes lives with the model that declares the field."""
    meta = model._meta
    if meta.auto_created and meta.auto_created is not True:
        meta = meta.auto_created._meta
    return _declared.get(f"{meta.app_label}.{meta.object_name}")


def scope_of(model: type[models.Model] | Any) -> Scope:
    found = declaration(model)
    if found is None:
        raise LookupError(f"{model._meta.label} declares no scope; decorate it with reelm.core.scopes.scoped")
    return found.scope


def scope_of_label(app_label: str, model_name: str) -> Scope | None:
    """The scope of ``app_label.model_name`` (any case), or None for a model this code no longer has."""
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return None
    found = declaration(model)
    return found.scope if found else None


#: For a foreign key from a row of one scope (key) to a row of another: allowed targets. A realm's database holds
#: its own rows and the replicas of other realms' public rows, so a realm row may point at any realm-public row;
#: a public row, replicated elsewhere, may not point at a protected one (the replica would dangle there); nothing
#: points across the directory's database.
FOREIGN_KEYS_ALLOWED: dict[Scope, frozenset[Scope]] = {
    Scope.DIRECTORY: frozenset({Scope.DIRECTORY, Scope.EVERY}),
    Scope.PROTECTED: frozenset({Scope.PROTECTED, Scope.PUBLIC, Scope.EVERY}),
    Scope.PUBLIC: frozenset({Scope.PUBLIC, Scope.EVERY}),
    Scope.EVERY: frozenset({Scope.EVERY}),
}


def classification() -> list[tuple[str, Declaration, type[models.Model]]]:
    """Every installed model with its declaration, sorted by scope then label (a model without one is left out)."""
    order = list(Scope)
    rows = []
    for model in apps.get_models(include_auto_created=False):
        found = declaration(model)
        if found is not None:
            rows.append((_label(model), found, model))
    return sorted(rows, key=lambda row: (order.index(row[1].scope), row[0]))


def classification_markdown() -> str:
    """The table of ``docs/realms.md`` between its markers: every model, its scope and why."""
    lines = ["| model | table | scope | why | protected fields | replicated when |", "|---|---|---|---|---|---|"]
    for label, found, model in classification():
        fields = ", ".join(f"`{name}`" for name in found.protected_fields) or "—"
        when = found.replicated_when or ("always" if found.scope is Scope.PUBLIC else "—")
        lines.append(
            f"| `{label}` | `{model._meta.db_table}` | {found.scope.value} | {found.why} | {fields} | {when} |"
        )
    return "\n".join(lines) + "\n"
