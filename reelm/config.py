"""Settings read from the environment, with safe embedded defaults.

Every knob an operator may turn is a ``REELM_*`` variable; nothing else in the code reads the environment.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

REPO_DIR = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting the operator must fix; the message names it, says what is wrong and what is expected."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_map(name: str) -> dict[str, str]:
    """``"a=x,b=y"`` as ``{"a": "x", "b": "y"}`` (values may contain ``=``; an entry without one is an error)."""
    result = {}
    for item in env_list(name, ""):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise RuntimeError(f"{name} must look like 'name=value,name=value', got {item!r}")
        result[key.strip()] = value.strip()
    return result


def data_dir() -> Path:
    path = Path(env_str("REELM_DATA_DIR", str(REPO_DIR / "var"))).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(directory: Path) -> str:
    """The configured secret, or one generated once and kept in the data directory."""
    configured = os.environ.get("REELM_SECRET_KEY")
    if configured:
        return configured
    key_file = directory / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


def redacted(url: str) -> str:
    """``url`` with any password replaced by ``***``, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{netloc[2]}").geturl()


def _sqlite_file(name: str, url: str, directory: Path) -> Path:
    """``sqlite:///file`` names a file in the data directory, ``sqlite:////abs/path`` an absolute one."""
    if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
        raise ConfigError(
            f"{name} must name a file, as sqlite:///reelm.sqlite3 (in the data directory) or "
            f"sqlite:////absolute/path.sqlite3; got {url!r}"
        )
    return directory / url.removeprefix("sqlite:///")


def _port(name: str, parts: Any, url: str) -> int | None:
    try:
        return int(parts.port) if parts.port is not None else None
    except ValueError:
        raise ConfigError(f"{name} has a port that is not a number from 0 to 65535: {redacted(url)!r}") from None


def database_settings(url: str, *, directory: Path, name: str = "REELM_DATABASE_URL") -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for ``sqlite:///…`` or ``postgresql://user:password@host:port/database``."""
    scheme = url.partition("://")[0].lower()
    if scheme == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_sqlite_file(name, url, directory)),
            "OPTIONS": {
                # The web server and the worker write concurrently: WAL plus IMMEDIATE transactions avoid
                # "database is locked" on lock upgrades.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
            # Kept open between requests: opening the file and running the PRAGMAs above on every request costs
            # more than a whole cached page.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
        }
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(url)
        port = _port(name, parts, url)
        # Any query parameter is a libpq one (sslmode=require, host=/run/postgresql for a socket, ...).
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        host = parts.hostname or options.pop("host", "")
        database = unquote(parts.path.removeprefix("/"))
        if not host:
            raise ConfigError(f"{name} names no server: expected postgresql://user:password@host:5432/database")
        if not database or "/" in database:
            raise ConfigError(f"{name} must end with /<database name>, as postgresql://user@host:5432/reelm")
        # An unreachable server is reported within seconds rather than after the operating system's minutes.
        options.setdefault("connect_timeout", "10")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": host,
            "PORT": str(port or ""),
            "OPTIONS": options,
            # Each web and worker thread keeps its connection for a minute instead of reconnecting per request.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ConfigError(
        f"{name} must start with sqlite:/// (the embedded default) or postgresql://; got {redacted(url)!r}"
    )


def queue_settings(url: str, *, directory: Path, name: str = "REELM_QUEUE_URL") -> dict[str, Any]:
    """huey's storage for ``sqlite:///…`` (a file) or ``redis://host:port/db``: the huey class and its arguments."""
    scheme = url.partition("://")[0].lower()
    if scheme == "sqlite":
        return {"huey_class": "huey.SqliteHuey", "filename": str(_sqlite_file(name, url, directory))}
    if scheme in ("redis", "rediss"):
        parts = urlsplit(url)
        _port(name, parts, url)
        db = parts.path.removeprefix("/")
        if not parts.hostname:
            raise ConfigError(f"{name} names no server: expected redis://host:6379/0")
        if db and not db.isdigit():
            raise ConfigError(f"{name} must end with a database number, as redis://host:6379/0; got {redacted(url)!r}")
        return {"huey_class": "huey.RedisHuey", "url": url}
    raise ConfigError(f"{name} must start with sqlite:/// (the embedded default) or redis://; got {redacted(url)!r}")


def worker_threads(queue: str) -> int:
    """Tasks of ``queue`` a worker runs at once: REELM_WORKER_THREADS_<QUEUE>, else REELM_WORKER_THREADS, else 2."""
    name = f"REELM_WORKER_THREADS_{queue.upper()}"
    threads = env_int(name, env_int("REELM_WORKER_THREADS", 2))
    if threads < 1:
        raise ConfigError(f"{name} (or REELM_WORKER_THREADS) must be 1 or more, got {threads}")
    return threads


def _redis_database(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    return (parts.hostname or "", parts.port or 6379, parts.path.removeprefix("/") or "0")


def cache_settings(url: str, *, directory: Path, queue_url: str = "", name: str = "REELM_CACHE_URL") -> dict[str, Any]:
    """Django's ``CACHES["default"]``: a file cache in the data directory when ``url`` is empty (processes on one
    machine share it), or Redis for ``redis://host:port/db`` (processes on any machine share it)."""
    if not url:
        return {"BACKEND": "reelm.core.cache.FileCache", "LOCATION": directory / "cache"}
    scheme = url.partition("://")[0].lower()
    if scheme not in ("redis", "rediss"):
        raise ConfigError(
            f"{name} must start with redis:// (or be unset for a file cache in the data directory); "
            f"got {redacted(url)!r}"
        )
    parts = urlsplit(url)
    _port(name, parts, url)
    db = parts.path.removeprefix("/")
    if not parts.hostname:
        raise ConfigError(f"{name} names no server: expected redis://host:6379/1")
    if db and not db.isdigit():
        raise ConfigError(f"{name} must end with a database number, as redis://host:6379/1; got {redacted(url)!r}")
    if queue_url.partition("://")[0].lower() in ("redis", "rediss") and _redis_database(url) == _redis_database(
        queue_url
    ):
        # Redis evicts cache keys under memory pressure (and a cache clear empties the database): queued tasks
        # kept beside them would go too.
        raise ConfigError(
            f"{name} and REELM_QUEUE_URL name the same Redis database; give the cache its own, as "
            "redis://host:6379/1 beside redis://host:6379/0 for the queue"
        )
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


#: Short: a session key and a token carry their realm's name.
REALM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,11}$")
#: The one realm of a deployment that configures none.
SINGLE_REALM = "default"


@dataclass(frozen=True)
class RealmConfig:
    """One realm (a cell): its database, object store, queue, and the countries whose sign-ups it takes."""

    name: str
    database_url: str
    storage_url: str
    queue_url: str
    countries: tuple[str, ...] = ()

    @property
    def alias(self) -> str:
        """Its name among Django's databases."""
        return "default" if self.name == SINGLE_REALM else f"realm_{self.name}"


@dataclass(frozen=True)
class RealmsConfig:
    realms: dict[str, RealmConfig]
    default: str
    #: False when the operator configured no realms: one realm on the one database, as before realms existed.
    configured: bool = False
    countries: dict[str, str] = field(default_factory=dict)


def _realms_source(raw: str, name: str) -> tuple[dict[str, Any], str]:
    """The realm table from ``raw``: inline JSON, or the path of a JSON or TOML file."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            return json.loads(text), f"{name} (JSON)"
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"{name} must be inline JSON or the path of a .toml or .json file; {str(path)!r} is no file")
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(path.read_text()), str(path)
        return json.loads(path.read_text()), str(path)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read: {exc}") from None


def realms_settings(
    raw: str, *, directory: Path, database_url: str, storage_url: str, queue_url: str, name: str = "REELM_REALMS"
) -> RealmsConfig:
    """The realms ``raw`` (``REELM_REALMS``) names, checked. Unset: the one realm ``default`` on ``database_url``,
    ``storage_url`` and ``queue_url``; set, those three settings keep the directory and the deployment's own tables.

    ``{"default": "global", "realms": {"eu": {"database": "sqlite:///eu.sqlite3", "storage": "file:///srv/eu",
    "queue": "sqlite:///eu-queue.sqlite3", "countries": ["DE", "FR"]}, ...}}``
    """
    if not raw.strip():
        only = RealmConfig(SINGLE_REALM, database_url, storage_url, queue_url)
        return RealmsConfig({SINGLE_REALM: only}, SINGLE_REALM)
    table, where = _realms_source(raw, name)
    if not isinstance(table, dict) or not isinstance(table.get("realms"), dict) or not table["realms"]:
        raise ConfigError(f"{where} must have a 'realms' table naming at least one realm")
    unknown = set(table) - {"default", "realms"}
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)}; expected 'default' and 'realms'")
    realms: dict[str, RealmConfig] = {}
    countries: dict[str, str] = {}
    seen: dict[str, dict[str, str]] = {"database": {}, "storage": {}, "queue": {}}
    for realm, entry in table["realms"].items():
        if not REALM_NAME.match(str(realm)) or realm == SINGLE_REALM:
            raise ConfigError(
                f"realm name {realm!r} in {where} must be 1–12 lower-case letters, digits or underscores, starting "
                f"with a letter, and not {SINGLE_REALM!r}"
            )
        if not isinstance(entry, dict):
            raise ConfigError(f"realm {realm!r} in {where} must be a table with database, storage and queue")
        extra = set(entry) - {"database", "storage", "queue", "countries"}
        if extra:
            raise ConfigError(f"realm {realm!r} in {where} has unknown keys {sorted(extra)}")
        for key in ("database", "storage", "queue"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"realm {realm!r} in {where} needs a {key} URL")
            if value in seen[key]:
                raise ConfigError(
                    f"realms {seen[key][value]!r} and {realm!r} in {where} share the {key} {redacted(value)!r}; "
                    "each realm needs its own"
                )
            seen[key][value] = realm
        label = f"realm {realm!r} in {where}"
        database_settings(entry["database"], directory=directory, name=f"the database of {label}")
        queue_settings(entry["queue"], directory=directory, name=f"the queue of {label}")
        for other, label_other in ((database_url, "REELM_DATABASE_URL"), (queue_url, "REELM_QUEUE_URL")):
            if entry["database"] == other or entry["queue"] == other:
                raise ConfigError(f"{label} uses {label_other}, which keeps the directory; give the realm its own")
        codes = entry.get("countries", [])
        if not isinstance(codes, list) or not all(
            isinstance(c, str) and re.fullmatch(r"[A-Za-z]{2}", c) for c in codes
        ):
            raise ConfigError(f'{label}: countries must be a list of two-letter codes, as ["DE", "FR"]')
        for code in codes:
            code = code.upper()
            if code in countries:
                raise ConfigError(f"country {code} is given to both realm {countries[code]!r} and realm {realm!r}")
            countries[code] = realm
        realms[realm] = RealmConfig(
            realm, entry["database"], entry["storage"], entry["queue"], tuple(c.upper() for c in codes)
        )
    default = table.get("default", next(iter(realms)))
    if default not in realms:
        raise ConfigError(f"the default realm {default!r} in {where} is not one of {sorted(realms)}")
    return RealmsConfig(realms, default, configured=True, countries=countries)
