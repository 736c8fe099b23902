"""The directory: every account's handle (unique whatever its case), the keyed hash of its e-mail address (unique
too) and its home realm, written with the account and freed with it."""

from __future__ import annotations

import hashlib
import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.models.signals import pre_save
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.core.errors import InvalidInput
from reelm.directory import selectors
from reelm.directory.models import Entry
from reelm.site.account_data import account_delete
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_an_account_gets_its_entry_and_home_realm() -> None:
    user = user_create(username="Alice", password=PASSWORD, email=" Alice@Example.org")
    entry = Entry.objects.get(account_id=user.id)
    assert (entry.handle, entry.realm) == ("alice", "default")
    assert entry.email_hash == selectors.email_hash("alice@example.org")
    assert selectors.home_realm(user.id) == "default"
    assert selectors.entry_for_handle("ALICE") == entry


def test_handles_are_unique_whatever_their_case() -> None:
    user_create(username="alice", password=PASSWORD)
    with pytest.raises(InvalidInput, match="That username is taken"):
        user_create(username="ALICE", password=PASSWORD)
    assert User.objects.count() == 1 and Entry.objects.count() == 1


def test_addresses_are_unique_whatever_their_case() -> None:
    user_create(username="alice", password=PASSWORD, email="a@example.org")
    with pytest.raises(InvalidInput, match="already used by another account"):
        user_create(username="bob", password=PASSWORD, email="A@EXAMPLE.org")
    user_create(username="carol", password=PASSWORD)  # no address: nothing to collide with
    user_create(username="dave", password=PASSWORD)
    assert Entry.objects.filter(email_hash=None).count() == 2


def test_the_signup_page_says_which_is_taken(client: Client) -> None:
    user_create(username="alice", password=PASSWORD, email="a@example.org")
    form = {"username": "Alice", "email": "A@example.org", "password1": PASSWORD, "password2": PASSWORD}
    page = client.post("/signup", form)
    assert page.status_code == 200
    text = page.content.decode()
    assert "That username is taken." in text and "already used by another account" in text
    assert User.objects.count() == 1


def test_the_hash_is_keyed(settings: Any) -> None:
    plain = hashlib.sha256(b"a@example.org").hexdigest()
    first = selectors.email_hash("a@example.org")
    assert first and first != plain
    selectors._email_key.cache_clear()
    settings.REELM_DIRECTORY_KEY = "another key"
    try:
        assert selectors.email_hash("a@example.org") not in (first, plain)
    finally:
        selectors._email_key.cache_clear()
    assert selectors.email_hash("  ") is None


def test_a_failed_account_write_gives_its_handle_back() -> None:
    def fail(**_kwargs: Any) -> None:
        raise RuntimeError("the realm's database went away")

    pre_save.connect(fail, sender=User, dispatch_uid="directory-test")
    try:
        with pytest.raises(RuntimeError):
            user_create(username="ghost", password=PASSWORD, email="g@example.org")
    finally:
        pre_save.disconnect(dispatch_uid="directory-test", sender=User)
    assert not Entry.objects.exists()
    assert user_create(username="ghost", password=PASSWORD, email="g@example.org").username == "ghost"


def test_deleting_an_account_frees_its_handle_and_address(django_capture_on_commit_callbacks: Any) -> None:
    user = user_create(username="alice", password=PASSWORD, email="a@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=user, password=PASSWORD)
    assert not Entry.objects.exists()
    assert user_create(username="ALICE", password=PASSWORD, email="a@example.org").username == "ALICE"


def test_the_admin_keeps_the_directory_in_step(admin_client: Client, django_capture_on_commit_callbacks: Any) -> None:
    user_create(username="taken", password=PASSWORD)
    refused = admin_client.post(
        "/admin/accounts/user/add/",
        {"username": "TAKEN", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"},
    )
    assert refused.status_code == 200 and "That username is taken." in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        added = admin_client.post(
            "/admin/accounts/user/add/",
            {"username": "made_here", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"},
        )
    assert added.status_code == 302, added.content.decode()[:2000]
    made = User.objects.get(username="made_here")
    assert Entry.objects.get(account_id=made.id).handle == "made_here"
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/accounts/user/{User.objects.get(username='taken').id}/delete/", {"post": "yes"})
    assert not Entry.objects.filter(handle="taken").exists()


def test_the_backfill_gives_existing_accounts_entries() -> None:
    """Accounts made before the directory existed: the older of two handles differing in case keeps it."""
    older = User.objects.create(username="Zed", email="z@example.org")
    newer = User.objects.create(username="zed", email="Z@example.org")
    plain = User.objects.create(username="plain")
    migration = importlib.import_module("reelm.accounts.migrations.0003_directory_entries")
    migration.backfill(apps, SimpleNamespace(connection=connection))
    entries = {e.account_id: e for e in Entry.objects.all()}
    assert entries[older.id].handle == "zed" and entries[older.id].email_hash
    assert entries[newer.id].handle is None and entries[newer.id].email_hash is None
    assert entries[plain.id].handle == "plain" and entries[plain.id].realm == "default"
    migration.backfill(apps, SimpleNamespace(connection=connection))
    assert Entry.objects.count() == 3
