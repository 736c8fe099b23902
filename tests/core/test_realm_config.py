"""``REELM_REALMS``: what a realm table becomes, and the plain words an operator gets for a wrong one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reelm.config import ConfigError, realms_settings

DATA = Path("/srv/reelm")
BASE = {"database_url": "sqlite:///reelm.sqlite3", "storage_url": "file:///srv/media", "queue_url": "sqlite:///q.db"}


def _realm(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "database": f"sqlite:///{name}.sqlite3",
        "storage": f"file:///srv/{name}",
        "queue": f"sqlite:///{name}-queue.sqlite3",
        **extra,
    }


def _parse(table: Any) -> Any:
    return realms_settings(json.dumps(table), directory=DATA, **BASE)


def test_unset_is_one_realm_on_the_deployment_settings() -> None:
    config = realms_settings("", directory=DATA, **BASE)
    assert not config.configured and config.default == "default"
    only = config.realms["default"]
    assert (only.database_url, only.storage_url, only.queue_url, only.alias) == (
        "sqlite:///reelm.sqlite3", "file:///srv/media", "sqlite:///q.db", "default",
    )  # fmt: skip


def test_a_toml_file_names_realms_their_countries_and_the_default(tmp_path: Path) -> None:
    path = tmp_path / "realms.toml"
    path.write_text(
        'default = "global"\n'
        '[realms.eu]\ndatabase = "sqlite:///eu.sqlite3"\nstorage = "file:///srv/eu"\nqueue = "sqlite:///euq.db"\n'
        'countries = ["de", "FR"]\n'
        '[realms.global]\ndatabase = "postgresql://reelm@db/global"\nstorage = "s3://b/global"\n'
        'queue = "redis://q:6379/2"\n'
    )
    config = realms_settings(str(path), directory=DATA, **BASE)
    assert config.configured and config.default == "global"
    assert list(config.realms) == ["eu", "global"]
    assert config.realms["eu"].countries == ("DE", "FR") and config.realms["eu"].alias == "realm_eu"
    assert config.countries == {"DE": "eu", "FR": "eu"}


def test_the_first_realm_is_the_default_when_none_is_named() -> None:
    assert _parse({"realms": {"us": _realm("us"), "eu": _realm("eu")}}).default == "us"


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({}, "must have a 'realms' table naming at least one realm"),
        ({"realms": {}}, "must have a 'realms' table"),
        ({"realms": {"eu": _realm("eu")}, "defualt": "eu"}, "unknown keys ['defualt']"),
        ({"realms": {"EU": _realm("eu")}}, "must be 1–12 lower-case letters"),
        ({"realms": {"default": _realm("d")}}, "and not 'default'"),
        ({"realms": {"a_very_long_name": _realm("x")}}, "must be 1–12"),
        ({"realms": {"eu": "sqlite:///eu"}}, "must be a table with database, storage and queue"),
        ({"realms": {"eu": {**_realm("eu"), "bucket": "x"}}}, "unknown keys ['bucket']"),
        ({"realms": {"eu": {"database": "sqlite:///eu.db", "queue": "sqlite:///q.db"}}}, "needs a storage URL"),
        ({"realms": {"eu": _realm("eu"), "us": {**_realm("us"), "storage": "file:///srv/eu"}}}, "share the storage"),
        ({"realms": {"eu": {**_realm("eu"), "database": "sqlite:///reelm.sqlite3"}}}, "uses REELM_DATABASE_URL"),
        ({"realms": {"eu": {**_realm("eu"), "database": "mysql://x/y"}}}, "the database of realm 'eu'"),
        ({"realms": {"eu": {**_realm("eu"), "queue": "amqp://x"}}}, "the queue of realm 'eu'"),
        ({"realms": {"eu": _realm("eu", countries="DE")}}, "countries must be a list of two-letter codes"),
        ({"realms": {"eu": _realm("eu", countries=["DEU"])}}, "two-letter codes"),
        (
            {"realms": {"eu": _realm("eu", countries=["DE"]), "de": _realm("de", countries=["de"])}},
            "country DE is given to both realm 'eu' and realm 'de'",
        ),
        ({"realms": {"eu": _realm("eu")}, "default": "us"}, "the default realm 'us'"),
    ],
)
def test_a_wrong_realm_table_is_refused_in_plain_words(table: Any, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(table)
    assert words in str(caught.value)


def test_unreadable_sources_are_refused_in_plain_words(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not valid JSON"):
        realms_settings('{"realms": ', directory=DATA, **BASE)
    with pytest.raises(ConfigError, match="is no file"):
        realms_settings(str(tmp_path / "missing.toml"), directory=DATA, **BASE)
    broken = tmp_path / "broken.toml"
    broken.write_text("[realms.eu\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        realms_settings(str(broken), directory=DATA, **BASE)


def test_reelm_check_reports_a_wrong_realm_table_and_fails(tmp_path: Path) -> None:
    env = {**os.environ, "REELM_DATA_DIR": str(tmp_path), "REELM_REALMS": '{"realms": {"Eu": {}}}'}
    out = subprocess.run([sys.executable, "-m", "reelm.cli", "check"], capture_output=True, text=True, env=env)
    assert out.returncode == 1
    assert "FAIL" in out.stdout and "configuration" in out.stdout and "realm name 'Eu'" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
