from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.apps import apps
from django.db import models

from reelm.core.ids import uuid7, uuid7_time_ms

# Rows that belong to nobody: shared vocabularies.
# Rows that belong to no account: shared vocabulary, and the operator's storage configuration and migration records.
UNOWNED = {
    "videos.Hashtag",
    "storage.StoreConfig",
    "storage.MigrationRun",
    "storage.MigrationObject",
    "storage.StoreCheck",
    "storage.StoreProcess",
}
REELM_APPS = {
    "accounts",
    "relations",
    "videos",
    "social",
    "storage",
    "transcode",
    "core",
    "notifications",
    "events",
    "feed",
    "search",
}


def test_uuid7_layout_and_time() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= uuid7_time_ms(value) <= after + 1


def test_uuid7_is_monotonic_and_unique_across_threads() -> None:
    produced: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def work(bucket: list[uuid.UUID]) -> None:
        bucket.extend(uuid7() for _ in range(5000))

    threads = [threading.Thread(target=work, args=(bucket,)) for bucket in produced]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for bucket in produced:
        assert bucket == sorted(bucket), "ids from one thread must be increasing"
    everything = [value for bucket in produced for value in bucket]
    assert len(set(everything)) == len(everything)


def _reelm_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.app_label in REELM_APPS]


def test_every_primary_key_is_a_uuid() -> None:
    found = _reelm_models()
    assert found, "no Reelm models found"
    for model in found:
        pk = model._meta.pk
        assert isinstance(pk, models.UUIDField), f"{model.__name__} has a {type(pk).__name__} primary key"
        assert pk.default is uuid7, f"{model.__name__}'s ids are not UUIDv7"


def test_every_user_owned_row_names_its_owner() -> None:
    for model in _reelm_models():
        label = f"{model._meta.app_label}.{model.__name__}"
        if label in UNOWNED:
            continue
        assert hasattr(model, "owner_ref"), f"{label} cannot name its owner"
        if model._meta.label != "accounts.User":
            field = model._meta.get_field("owner")
            assert field.related_model._meta.label == "accounts.User", label


@pytest.mark.django_db
def test_owner_ref_points_at_the_account(user) -> None:  # type: ignore[no-untyped-def]
    from reelm.accounts.services import token_create

    token = token_create(user=user, name="x").token
    assert token.owner_ref == user.id
    assert user.owner_ref == user.id


def test_uuid7_bounds_bracket_the_ids_of_a_millisecond() -> None:
    from reelm.core.ids import uuid7_ceiling, uuid7_floor

    value = uuid7()
    ms = uuid7_time_ms(value)
    assert uuid7_floor(ms) <= value <= uuid7_ceiling(ms)
    assert uuid7_ceiling(ms - 1) < value < uuid7_floor(ms + 1)
    assert str(uuid7_floor(ms)).replace("-", "") < str(value).replace("-", "")  # SQLite compares the hex text
