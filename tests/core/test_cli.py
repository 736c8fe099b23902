from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REELM = str(Path(sys.executable).with_name("reelm"))
# A port nothing listens on: connections to it are refused at once.
CLOSED = "127.0.0.1:9"


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The embedded default (the caller's REELM_* settings left out) plus ``extra``."""
    return {**{key: value for key, value in os.environ.items() if not key.startswith("REELM_")}, **(extra or {})}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REELM, *args], capture_output=True, text=True, timeout=120, env=_env(env))


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
    for part in ("database", "cache", "object storage", "ffmpeg"):
        assert part in result.stdout


def test_check_names_what_is_wrong(tmp_path: Path) -> None:
    result = _run("check", env={"REELM_DATA_DIR": str(tmp_path), "REELM_STORAGE_URL": "ftp://nowhere/bucket"})
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "unsupported storage URL scheme" in result.stdout


def test_check_passes_on_the_configuration_under_test(tmp_path: Path) -> None:
    """On the embedded default and, when the suite runs on PostgreSQL and Redis, on those servers."""
    configured = {
        key: os.environ[key]
        for key in ("REELM_DATABASE_URL", "REELM_QUEUE_URL", "REELM_CACHE_URL")
        if key in os.environ
    }
    result = _run("check", env={"REELM_DATA_DIR": str(tmp_path), **configured})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout


def test_check_says_which_server_cannot_be_reached(tmp_path: Path) -> None:
    env = {
        "REELM_DATA_DIR": str(tmp_path),
        "REELM_DATABASE_URL": f"postgresql://reelm:hunter2@{CLOSED}/reelm",
        "REELM_QUEUE_URL": f"redis://:hunter2@{CLOSED}/0",
        "REELM_CACHE_URL": f"redis://:hunter2@{CLOSED}/1",
        "COLUMNS": "500",  # one line per check
    }
    result = _run("check", env=env)
    assert result.returncode == 1
    lines = {line.split(":")[0].strip(): line for line in result.stdout.splitlines()}
    assert "FAIL  database" in lines and "FAIL  task queue" in lines, result.stdout
    assert f"cannot use the PostgreSQL database 'reelm' at {CLOSED}" in lines["FAIL  database"]
    assert "is the server running" in lines["FAIL  database"] and "Connection refused" in lines["FAIL  database"]
    assert f"cannot reach the task queue redis://:***@{CLOSED}/0" in lines["FAIL  task queue"]
    assert f"cannot use the Redis cache redis://:***@{CLOSED}/1 (REELM_CACHE_URL)" in lines["FAIL  cache"]
    assert "hunter2" not in result.stdout + result.stderr
    assert "ok  object storage" in result.stdout  # the other checks still run


def test_production_server_refuses_debug_mode(tmp_path: Path) -> None:
    result = _run("serve", "--prod", "--bind", CLOSED, env={"REELM_DATA_DIR": str(tmp_path), "REELM_DEBUG": "1"})
    assert result.returncode == 2
    assert result.stderr.startswith("reelm: REELM_DEBUG is on; unset it for the production server")


def test_malformed_url_is_a_plain_sentence_not_a_traceback(tmp_path: Path) -> None:
    env = {"REELM_DATA_DIR": str(tmp_path), "REELM_DATABASE_URL": "postgresql://db.internal/", "COLUMNS": "500"}
    check = _run("check", env=env)
    assert check.returncode == 1
    assert "FAIL  configuration: REELM_DATABASE_URL must end with /<database name>" in check.stdout
    migrate = _run("migrate", env={"REELM_DATA_DIR": str(tmp_path), "REELM_QUEUE_URL": "redis://cache:x/0"})
    assert migrate.returncode == 2 and "Traceback" not in migrate.stderr
    assert migrate.stderr.startswith("reelm: REELM_QUEUE_URL has a port that is not a number")


def test_createadmin_from_stdin_then_migrate(tmp_path: Path) -> None:
    env = {"REELM_DATA_DIR": str(tmp_path)}
    assert _run("migrate", env=env).returncode == 0
    result = subprocess.run(
        [REELM, "createadmin", "--username", "ops", "--email", "ops@example.org", "--password-stdin"],
        input="a sturdy operator passphrase\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(env),
    )
    assert result.returncode == 0, result.stderr
    assert "Created operator account 'ops'" in result.stdout
    assert (tmp_path / "reelm.sqlite3").exists() and (tmp_path / "secret_key").exists()


def test_createadmin_takes_the_password_from_the_environment_and_refuses_a_taken_name(tmp_path: Path) -> None:
    env = {"REELM_DATA_DIR": str(tmp_path), "REELM_ADMIN_PASSWORD": "a sturdy operator passphrase"}
    assert _run("migrate", env=env).returncode == 0
    made = _run("createadmin", "--username", "ops", env=env)
    assert made.returncode == 0, made.stderr
    again = _run("createadmin", "--username", "ops", env=env)
    assert again.returncode == 2
    assert "Traceback" not in again.stderr and "IntegrityError" not in again.stderr
    assert "That username is taken. Nothing was created." in again.stderr
    weak = _run("createadmin", "--username", "ops2", env={**env, "REELM_ADMIN_PASSWORD": "short"})
    assert weak.returncode == 2 and "too short" in weak.stderr


def test_createadmin_without_a_terminal_or_password_says_what_to_do(tmp_path: Path) -> None:
    env = {"REELM_DATA_DIR": str(tmp_path)}
    assert _run("migrate", env=env).returncode == 0
    nameless = subprocess.run([REELM, "createadmin"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60, env=_env(env))  # fmt: skip
    assert nameless.returncode == 2 and "--username NAME" in nameless.stderr
    passwordless = subprocess.run([REELM, "createadmin", "--username", "ops"], stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=60, env=_env(env))  # fmt: skip
    assert passwordless.returncode == 2
    assert "set REELM_ADMIN_PASSWORD, pass --password-stdin, or run this on a terminal" in passwordless.stderr
    assert "createsuperuser" not in passwordless.stderr + passwordless.stdout


def test_worker_help_lists_the_queues() -> None:
    result = _run("worker", "--help", env={"COLUMNS": "500"})
    assert result.returncode == 0
    assert "--queue NAME[=THREADS]" in result.stdout and "--threads" in result.stdout
    for queue in ("transcode (video transcodes", "recommend (the recommender's", "gateway (messages from this realm"):
        assert queue in result.stdout, result.stdout
    assert "REELM_WORKER_THREADS_<QUEUE>" in result.stdout
    overview = _run("--help", env={"COLUMNS": "500"}).stdout
    assert "run a background worker on the task queues (transcode, recommend, gateway)" in overview
    assert "a worker consuming every queue (transcode, recommend, gateway)" in overview


def test_worker_refuses_a_queue_that_does_not_exist(tmp_path: Path) -> None:
    env = {"REELM_DATA_DIR": str(tmp_path)}
    unknown = _run("worker", "--queue", "transcode", "--queue", "thumbnails", env=env)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "argument --queue: there is no queue 'thumbnails'; the queues are transcode, recommend" in unknown.stderr
    threads = _run("worker", "--queue", "transcode=none", env=env)
    assert threads.returncode == 2
    assert "'transcode=none': the threads after '=' must be a whole number, 1 or more" in threads.stderr
    assert _run("worker", "--queue", "recommend=0", env=env).returncode == 2
