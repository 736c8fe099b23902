"""Every model says where its rows live, foreign keys never point where a row could dangle, and docs/realms.md
shows the declarations as they are."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

from reelm.core.scopes import FOREIGN_KEYS_ALLOWED, Scope, classification_markdown, declaration, scope_of, scoped

DOC = Path(__file__).resolve().parents[2] / "docs" / "realms.md"


def _models() -> list[type[models.Model]]:
    return list(apps.get_models(include_auto_created=True))


def test_every_model_declares_where_its_rows_live() -> None:
    missing = [model._meta.label for model in _models() if declaration(model) is None]
    assert not missing, f"models without a scope (decorate them with reelm.core.scopes.scoped): {missing}"


def test_no_foreign_key_points_where_its_row_could_dangle() -> None:
    wrong = []
    for model in _models():
        scope = scope_of(model)
        for field in model._meta.get_fields(include_hidden=True):
            if not field.is_relation or (not field.concrete and not field.many_to_many):
                continue
            if field.auto_created and not field.concrete:
                continue  # the reverse side of a key another model holds: checked from there
            target = field.related_model
            if target is None:
                continue  # a generic relation
            if scope_of(target) not in FOREIGN_KEYS_ALLOWED[scope]:
                wrong.append(f"{model._meta.label}.{field.name} ({scope}) -> {target._meta.label} ({scope_of(target)})")
    assert not wrong, "foreign keys across scopes:\n" + "\n".join(wrong)


def test_the_rule_refuses_what_it_should() -> None:
    """The table the test above reads: a replicated public row may not point at a protected one, and nothing
    points across the directory's database."""
    assert Scope.PROTECTED not in FOREIGN_KEYS_ALLOWED[Scope.PUBLIC]
    assert Scope.DIRECTORY not in FOREIGN_KEYS_ALLOWED[Scope.PROTECTED]
    assert Scope.DIRECTORY not in FOREIGN_KEYS_ALLOWED[Scope.PUBLIC]
    assert Scope.PUBLIC not in FOREIGN_KEYS_ALLOWED[Scope.DIRECTORY]
    assert Scope.PUBLIC in FOREIGN_KEYS_ALLOWED[Scope.PROTECTED]


def test_protected_fields_name_real_fields() -> None:
    for model in apps.get_models():
        found = declaration(model)
        assert found is not None
        names = {field.name for field in model._meta.get_fields()}
        unknown = set(found.protected_fields) - names
        assert not unknown, f"{model._meta.label} declares protected fields it does not have: {unknown}"


def test_what_must_never_leave_its_realm_is_declared_so() -> None:
    """The issue's list of protected data, pinned: a change of scope must be a deliberate edit here too."""
    protected = {
        "sessions.Session",
        "accounts.AccessToken",
        "events.WatchEvent",
        "notifications.Notification",
        "recommend.Taste",
        "social.Like",
        "social.Bookmark",
        "relations.Block",
        "relations.Mute",
        "admin.LogEntry",
    }
    for label in protected:
        assert scope_of(apps.get_model(label)) is Scope.PROTECTED, label
    user = declaration(apps.get_model("accounts.User"))
    assert user is not None and {"email", "password", "last_login"} <= set(user.protected_fields)
    video = declaration(apps.get_model("videos.Video"))
    assert video is not None and video.replicated_when == "public and ready, by a public account"
    assert scope_of(apps.get_model("directory.Entry")) is Scope.DIRECTORY


def test_a_protected_field_needs_a_public_model() -> None:
    with pytest.raises(TypeError, match="only a realm-public model"):
        scoped(Scope.PROTECTED, "x", protected_fields=["email"])(type("Stray", (), {}))  # type: ignore[arg-type]


def test_docs_show_the_declarations_as_they_are() -> None:
    text = DOC.read_text()
    found = re.search(r"<!-- classification:start.*?-->\n(.*?)<!-- classification:end -->", text, re.S)
    assert found, "docs/realms.md lost its classification markers"
    assert found.group(1) == classification_markdown(), (
        "docs/realms.md's classification is out of date: put the output of `reelm realm classify --markdown` "
        "between its markers"
    )


def test_realm_classify_prints_every_model_as_json(tmp_path: Path) -> None:
    import json
    import os

    env = {**os.environ, "REELM_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "reelm.cli", "realm", "classify", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    rows = json.loads(out.stdout)
    by_model = {row["model"]: row for row in rows}
    assert len(by_model) == len([m for m in apps.get_models() if declaration(m)])
    assert by_model["events.WatchEvent"]["scope"] == "realm-protected"
    assert "email" in by_model["accounts.User"]["protected_fields"]
