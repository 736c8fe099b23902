"""The kinds of message that may cross between realms, each with the fields it carries and why. A field names the
model field it carries (``accounts.User.username``) or a plain type; a field of a protected model, or a protected
field of a public one, is refused when the kind is declared, so no code path can send it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from reelm.core.scopes import Scope, declaration

#: Plain types a field may carry, and the JSON values each accepts.
PLAIN: dict[str, Callable[[Any], bool]] = {
    "uuid": lambda v: isinstance(v, str) and _is_uuid(v),
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "datetime": lambda v: isinstance(v, str) and _is_datetime(v),
    "json": lambda v: isinstance(v, (list, dict)),
}
#: A message is small: ids and the few public values a replica needs.
MAX_BYTES = 64 * 1024


class GatewayRefused(ValueError):
    """A kind or a message would carry what may not leave its realm, or is not what its kind declares."""


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Delivery:
    """Where and when a message being applied came from."""

    message_id: uuid.UUID
    source: str
    sent_at: datetime


Handler = Callable[[Delivery, dict[str, Any]], None]


@dataclass(frozen=True)
class Kind:
    name: str
    why: str
    #: field name -> what it carries: "app.Model.field" or a plain type.
    fields: dict[str, str]
    #: Applies a message in the receiving realm, working for it, in the transaction that records its receipt.
    handler: Handler

    def check(self, payload: dict[str, Any]) -> None:
        """Refuse a payload that is not exactly this kind's fields, each of its type."""
        extra = set(payload) - set(self.fields)
        if extra:
            raise GatewayRefused(f"a {self.name} message may not carry {sorted(extra)}: its kind does not declare them")
        missing = set(self.fields) - set(payload)
        if missing:
            raise GatewayRefused(f"a {self.name} message lacks {sorted(missing)}")
        for name, carries in self.fields.items():
            value = payload[name]
            if value is None and _nullable(carries):
                continue
            if not PLAIN[_plain(carries)](value):
                raise GatewayRefused(f"{self.name}.{name} must be {_plain(carries)}, not {type(value).__name__}")


_kinds: dict[str, Kind] = {}


def _model_field(carries: str) -> models.Field[Any, Any]:
    app_label, model_name, field_name = carries.split(".")
    return apps.get_model(app_label, model_name)._meta.get_field(field_name)


def _plain(carries: str) -> str:
    if "." not in carries:
        return carries
    field = _model_field(carries)
    if field.is_relation:
        return "uuid"
    internal = field.get_internal_type()
    if internal == "UUIDField":
        return "uuid"
    if internal in ("CharField", "TextField", "SlugField", "EmailField"):
        return "str"
    if internal == "BooleanField":
        return "bool"
    if internal == "DateTimeField":
        return "datetime"
    if internal == "JSONField":
        return "json"
    if internal == "FloatField":
        return "float"
    if "IntegerField" in internal:
        return "int"
    raise GatewayRefused(f"{carries}: a {internal} cannot be carried")


def _nullable(carries: str) -> bool:
    return "." in carries and bool(_model_field(carries).null)


def _refuse_protected(kind: str, name: str, carries: str) -> None:
    if "." not in carries:
        if carries not in PLAIN:
            raise GatewayRefused(f"{kind}.{name}: {carries!r} is neither a model field nor one of {sorted(PLAIN)}")
        return
    try:
        field = _model_field(carries)
    except (LookupError, ValueError, FieldDoesNotExist) as exc:
        raise GatewayRefused(f"{kind}.{name}: no such model field {carries!r}") from exc
    found = declaration(field.model)
    if found is None or found.scope is not Scope.PUBLIC:
        scope = found.scope.value if found else "no declared scope"
        raise GatewayRefused(f"{kind}.{name} carries {carries}, which is {scope}: it never leaves its realm")
    if field.name in found.protected_fields:
        raise GatewayRefused(f"{kind}.{name} carries {carries}, a protected field: it never leaves its realm")


def kind(name: str, *, why: str, fields: dict[str, str]) -> Callable[[Handler], Handler]:
    """Declare a kind of message and the function that applies it in the receiving realm."""

    def declare(handler: Handler) -> Handler:
        for field_name, carries in fields.items():
            _refuse_protected(name, field_name, carries)
            _plain(carries)
        if name in _kinds and _kinds[name].handler is not handler:
            raise GatewayRefused(f"the kind {name!r} is declared twice")
        _kinds[name] = Kind(name, why, dict(fields), handler)
        return handler

    return declare


def kind_get(name: str) -> Kind:
    try:
        return _kinds[name]
    except KeyError:
        raise GatewayRefused(f"no kind of message is called {name!r}") from None


def kinds() -> list[Kind]:
    return sorted(_kinds.values(), key=lambda k: k.name)
