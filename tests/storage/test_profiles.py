"""Per-store credentials: ``?profile=NAME`` reads a store's secrets from ``REELM_PROFILE_<NAME>_*``, so two stores of
different accounts work side by side, down to a migration from one S3 account to another.

Two real SeaweedFS servers, each with keys of its own: the default ``AWS_*`` variables hold server A's, profile
``b`` holds server B's.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import obstore
import pytest
from obstore.store import S3Store

from reelm.storage import migration, registry
from reelm.storage.base import ObjectStore, StorageError
from reelm.storage.models import StorePhase
from reelm.storage.registry import AZURITE_KEY, media_store, store_from_url
from reelm.storage.routing import current_route
from tests.storage.servers import BUCKET, Server, fetch, store_url

Servers = Callable[[str], Server]


def _s3_url(server: Server, prefix: str, profile: str | None = None) -> str:
    url = f"s3://{BUCKET}/{prefix}?endpoint={server.endpoint}&region=us-east-1"
    return url + (f"&profile={profile}" if profile else "")


def _prefix() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


def _raw_s3(server: Server) -> S3Store:
    """Server's bucket with its own keys, bypassing Reelm: where did the bytes land?"""
    return S3Store(
        BUCKET,
        endpoint=server.endpoint,
        region="us-east-1",
        access_key_id=server.env["AWS_ACCESS_KEY_ID"],
        secret_access_key=server.env["AWS_SECRET_ACCESS_KEY"],
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )


@pytest.fixture
def accounts(storage_servers: Servers, other_s3: Server, monkeypatch: pytest.MonkeyPatch) -> tuple[Server, Server]:
    """(A, B): A's keys in the default variables, B's in profile ``b``."""
    a = storage_servers("s3")
    assert a.env["AWS_ACCESS_KEY_ID"] != other_s3.env["AWS_ACCESS_KEY_ID"]
    for name, value in a.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("REELM_PROFILE_B_AWS_ACCESS_KEY_ID", other_s3.env["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("REELM_PROFILE_B_AWS_SECRET_ACCESS_KEY", other_s3.env["AWS_SECRET_ACCESS_KEY"])
    return a, other_s3


def test_a_profile_reaches_the_server_its_keys_belong_to(accounts: tuple[Server, Server]) -> None:
    a, b = accounts
    prefix = _prefix()
    store = store_from_url(_s3_url(b, prefix, profile="b"))
    store.put("videos/k.bin", b"for account b")
    assert store.read_bytes("videos/k.bin") == b"for account b"
    assert bytes(obstore.get(_raw_s3(b), f"{prefix}/videos/k.bin").bytes()) == b"for account b"
    signed = store.signed_url("videos/k.bin", 60)  # direct playback signs with the profile's keys too
    assert signed is not None and fetch(signed) == (200, b"for account b")

    # The same store without the profile signs with A's keys, which B does not know.
    url = _s3_url(b, prefix)
    with pytest.raises(StorageError) as raised:
        store_from_url(url).read_bytes("videos/k.bin")
    assert (raised.value.status, raised.value.code) == (403, "InvalidAccessKeyId")
    message = str(raised.value)
    assert message.startswith(f"could not read 'videos/k.bin': {url} answered 403 InvalidAccessKeyId (")
    assert message.endswith("; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY")
    assert a.env["AWS_SECRET_ACCESS_KEY"] not in message and b.env["AWS_SECRET_ACCESS_KEY"] not in message


def test_a_profile_with_a_wrong_secret_names_its_own_variables(
    accounts: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, b = accounts
    wrong = "wrong-" + secrets.token_hex(16)
    monkeypatch.setenv("REELM_PROFILE_B_AWS_SECRET_ACCESS_KEY", wrong)
    with pytest.raises(StorageError) as raised:
        store_from_url(_s3_url(b, _prefix(), profile="b")).put("k", b"x")
    assert raised.value.code == "SignatureDoesNotMatch"
    assert str(raised.value).endswith(
        "; check REELM_PROFILE_B_AWS_ACCESS_KEY_ID, REELM_PROFILE_B_AWS_SECRET_ACCESS_KEY"
    )
    assert wrong not in str(raised.value)


def test_a_profile_ignores_the_default_session_token(
    accounts: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The S3 client reads AWS_SESSION_TOKEN on its own; sent along with the profile's keys, B would refuse them."""
    _, b = accounts
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-of-account-a-" + secrets.token_hex(8))
    store = store_from_url(_s3_url(b, _prefix(), profile="b"))
    store.put("k", b"signed with b's keys only")
    assert store.read_bytes("k") == b"signed with b's keys only"


def test_missing_profile_variables_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.setenv(name, "default-" + name.lower())  # the defaults never stand in for a profile's
    monkeypatch.setenv("REELM_PROFILE_ARCHIVE_AWS_ACCESS_KEY_ID", "only-half-of-a-key-pair")
    with pytest.raises(ValueError) as raised:
        store_from_url("s3://media/p?region=eu-west-1&profile=archive")
    assert str(raised.value) == (
        "s3:// storage with ?profile=archive needs REELM_PROFILE_ARCHIVE_AWS_ACCESS_KEY_ID and"
        " REELM_PROFILE_ARCHIVE_AWS_SECRET_ACCESS_KEY set (and REELM_PROFILE_ARCHIVE_AWS_SESSION_TOKEN for"
        " temporary credentials)"
    )
    with pytest.raises(
        ValueError, match=r"^gs:// storage needs REELM_PROFILE_ARCHIVE_GOOGLE_APPLICATION_CREDENTIALS set"
    ):
        store_from_url("gs://media/p?profile=archive")
    with pytest.raises(ValueError, match=r"^az:// storage needs REELM_PROFILE_ARCHIVE_AZURE_STORAGE_ACCOUNT_KEY set$"):
        store_from_url("az://media/p?account=reelm&profile=archive")


@pytest.mark.parametrize("name", ["a-b", "a.b", "ü", "a%20b"])
def test_a_profile_name_is_letters_digits_and_underscores(name: str) -> None:
    with pytest.raises(ValueError, match="profile takes letters, digits and underscores only"):
        store_from_url(f"s3://media/p?profile={name}")


def test_local_disk_takes_no_profile(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="malformed storage URL"):
        store_from_url(f"{tmp_path.as_uri()}?profile=b")


def test_azure_profile_key_wins_over_the_default_one(
    storage_servers: Servers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = storage_servers("azure")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", base64.b64encode(secrets.token_bytes(64)).decode())
    monkeypatch.setenv("REELM_PROFILE_DEV_AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY)
    url = store_url("azure", server, _prefix(), tmp_path)
    store = store_from_url(f"{url}&profile=dev")
    store.put("k", b"with the profile's key")
    assert store.read_bytes("k") == b"with the profile's key"
    with pytest.raises(StorageError) as raised:
        store_from_url(url).read_bytes("k")
    assert raised.value.status == 403


def test_gcs_profile_names_the_key_file(
    storage_servers: Servers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = storage_servers("gcs")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("REELM_PROFILE_G_GOOGLE_APPLICATION_CREDENTIALS", server.env["GOOGLE_APPLICATION_CREDENTIALS"])
    url = store_url("gcs", server, _prefix(), tmp_path)
    store = store_from_url(f"{url}&profile=g")
    store.put("k", b"with the profile's key file")
    assert store.read_bytes("k") == b"with the profile's key file"
    with pytest.raises(ValueError, match="needs GOOGLE_APPLICATION_CREDENTIALS set"):
        store_from_url(url)


# --- a migration between two accounts ----------------------------------------------------------------------------


def _checksums(store: ObjectStore) -> dict[str, str]:
    return {info.key: store.checksum(info.key) for info in store.list("")}


@pytest.mark.django_db
def test_migration_from_one_s3_account_to_another(accounts: tuple[Server, Server], settings: Any) -> None:
    a, b = accounts
    source_url, target_url = _s3_url(a, _prefix()), _s3_url(b, _prefix(), profile="b")
    settings.REELM_STORAGE_URL = source_url
    registry._cached.cache_clear()
    source = registry._cached(source_url)
    written = {}
    for index, size in enumerate([0, 1, 700, 64 * 1024, 6 * 1024 * 1024]):  # the last one goes up in parts
        data = secrets.token_bytes(size)
        key = f"videos/v{index}/object.bin"
        source.put(key, data)
        written[key] = hashlib.sha256(data).hexdigest()

    run = migration.migration_begin(target_url=target_url)
    report = migration.migration_copy(run)
    assert report.failed == 0
    migration.migration_switch(run)
    assert current_route("default").phase == StorePhase.SWITCHED
    assert media_store().url == target_url
    target = registry._cached(target_url)
    assert _checksums(target) == written
    # The copies are in B's bucket (read with B's own keys, not through Reelm), under the target's prefix.
    raw = _raw_s3(b)
    prefix = target_url.split("?")[0].removeprefix(f"s3://{BUCKET}/")
    for key, digest in written.items():
        assert hashlib.sha256(bytes(obstore.get(raw, f"{prefix}/{key}").bytes())).hexdigest() == digest

    migration.migration_purge(run)
    assert list(source.list("")) == []
    assert media_store().read_bytes("videos/v2/object.bin") == target.read_bytes("videos/v2/object.bin")
