"""The gateway's rules: a kind of message may not carry a field of protected scope, and a message must be exactly
what its kind declares. Where realms are not configured nothing is sent at all."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.apps import apps

from reelm.core.scopes import Scope, declaration
from reelm.gateway.kinds import MAX_BYTES, Delivery, GatewayRefused, kind, kind_get, kinds
from reelm.gateway.models import OutboxMessage
from reelm.gateway.services import send


def _ignore(delivery: Delivery, payload: dict[str, Any]) -> None:
    raise AssertionError("never applied here")


@pytest.mark.parametrize(
    ("carries", "words"),
    [
        ("accounts.User.email", "a protected field"),
        ("accounts.User.password", "a protected field"),
        ("videos.Video.source_key", "a protected field"),
        ("events.WatchEvent.watched_ms", "which is realm-protected"),
        ("accounts.AccessToken.token_hash", "which is realm-protected"),
        ("directory.Entry.email_hash", "which is directory"),
        ("sessions.Session.session_data", "which is realm-protected"),
        ("accounts.User.no_such_field", "no such model field"),
        ("secrets", "neither a model field nor one of"),
    ],
)
def test_a_kind_carrying_protected_data_is_refused(carries: str, words: str) -> None:
    with pytest.raises(GatewayRefused, match=words):
        kind(f"test.{uuid.uuid4().hex}", why="an attempt", fields={"id": "uuid", "leak": carries})(_ignore)


def test_no_declared_kind_carries_protected_data() -> None:
    """Read against the scopes, not through the gateway's own check: every model field a kind carries is a public
    field of a realm-public model."""
    declared = kinds()
    assert {"account.profile", "video.public", "comment.public", "follow.state"} <= {k.name for k in declared}
    for found in declared:
        for carries in found.fields.values():
            if "." not in carries:
                continue
            app_label, model_name, field = carries.split(".")
            public = declaration(apps.get_model(app_label, model_name))
            assert public is not None and public.scope is Scope.PUBLIC, (found.name, carries)
            assert field not in public.protected_fields, (found.name, carries)


_ID = str(uuid.uuid4())
_PROFILE = {
    "id": _ID,
    "username": "anna",
    "display_name": "Anna",
    "bio": "",
    "avatar_key": "",
    "is_private": False,
    "is_active": True,
    "follower_count": 0,
    "following_count": 0,
}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"email": "anna@example.org"}, "may not carry ['email']: its kind does not declare them"),
        ({"password": "pbkdf2$..."}, "may not carry ['password']"),
        ({"follower_count": "7"}, "follower_count must be int"),
        ({"id": "not a uuid"}, "id must be uuid"),
        ({"is_private": 1}, "is_private must be bool"),
        ({"bio": "x" * MAX_BYTES}, "over the gateway's"),
    ],
)
def test_a_message_other_than_its_kind_declares_is_refused(change: dict[str, Any], words: str) -> None:
    with pytest.raises(GatewayRefused, match=words.replace("[", r"\[").replace("]", r"\]").replace("$", r"\$")):
        send("account.profile", **{**_PROFILE, **change})


def test_a_message_missing_a_field_or_of_no_kind_is_refused() -> None:
    partial = dict(_PROFILE)
    del partial["username"]
    with pytest.raises(GatewayRefused, match="lacks"):
        send("account.profile", **partial)
    with pytest.raises(GatewayRefused, match="no kind of message"):
        send("account.exported", id=_ID)
    assert kind_get("account.gone").fields == {"id": "accounts.User.id"}


@pytest.mark.django_db
def test_one_realm_sends_nothing() -> None:
    assert send("account.profile", **_PROFILE) == []
    assert not OutboxMessage.objects.exists()
