from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REELM = str(Path(sys.executable).with_name("reelm"))


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REELM, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_help_explains_every_command() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in ("run", "serve", "worker", "migrate", "createadmin", "check", "manage"):
        assert f"    {command}" in result.stdout, command
    serve = _run("serve", "--help")
    assert "--bind" in serve.stdout and "--workers" in serve.stdout


def test_check_passes_on_the_embedded_default(tmp_path: Path) -> None:
    result = _run("check", env={"REELM_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    for part in ("database", "object storage", "ffmpeg"):
        assert part in result.stdout


def test_check_names_what_is_wrong(tmp_path: Path) -> None:
    result = _run("check", env={"REELM_DATA_DIR": str(tmp_path), "REELM_STORAGE_URL": "ftp://nowhere/bucket"})
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "unsupported storage URL scheme" in result.stdout


def test_createadmin_from_stdin_then_migrate(tmp_path: Path) -> None:
    env = {"REELM_DATA_DIR": str(tmp_path)}
    assert _run("migrate", env=env).returncode == 0
    result = subprocess.run(
        [REELM, "createadmin", "--username", "ops", "--email", "ops@example.org", "--password-stdin"],
        input="a sturdy operator passphrase\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    assert "Created operator account 'ops'" in result.stdout
    assert (tmp_path / "reelm.sqlite3").exists() and (tmp_path / "secret_key").exists()
