"""Settings read from the environment, with safe embedded defaults.

Every knob an operator may turn is a ``REELM_*`` variable; nothing else in the code reads the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent


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
