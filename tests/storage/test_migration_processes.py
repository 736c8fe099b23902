"""Before a realm moves, every running process must be able to use the new store.

Real processes only: ``reelm run`` (two gunicorn web processes and a huey worker) started without the new store's
credentials, and ``reelm storage migrate`` in another process with them.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.live import child_env, dump_logs_on_failure, reelm_bin, start_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def reelm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([reelm_bin(), *args], env=env, capture_output=True, text=True, timeout=180)


def live_processes(env: dict[str, str]) -> list[str]:
    script = (
        "from datetime import timedelta; from django.utils import timezone; "
        "from reelm.storage.models import StoreProcess; "
        "print('roles:', *StoreProcess.objects.filter(seen_at__gte=timezone.now() - timedelta(seconds=45))"
        ".values_list('role', flat=True))"
    )
    out = reelm(env, "manage", "shell", "-c", script).stdout
    return next(line.split()[1:] for line in out.splitlines() if line.startswith("roles:"))


def test_a_site_without_the_new_stores_credentials_keeps_its_store(
    tmp_path: Path, fresh_store_url: Callable[[str], str]
) -> None:
    target = fresh_store_url("azure")  # puts the Azurite key in this process's environment
    data = tmp_path / "data"
    env = child_env(data)
    site_env = {name: value for name, value in env.items() if name != "AZURE_STORAGE_ACCOUNT_KEY"}
    assert reelm(env, "migrate").returncode == 0
    site = start_server("site", "run", site_env, tmp_path, "--web-workers", "2")
    with dump_logs_on_failure(site):
        try:
            deadline = time.monotonic() + 60
            while sorted(live_processes(env)) != ["web", "web", "worker"] and time.monotonic() < deadline:
                time.sleep(0.5)
            assert sorted(live_processes(env)) == ["web", "web", "worker"]

            refused = reelm(env, "storage", "migrate", "--to", target)
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert refused.stderr.count("AZURE_STORAGE_ACCOUNT_KEY") == 3, refused.stderr  # each process says why
            assert "web process" in refused.stderr and "worker process" in refused.stderr
            assert "Traceback" not in refused.stderr
            dry = reelm(env, "storage", "migrate", "--to", target, "--dry-run")
            assert dry.returncode == 1 and "AZURE_STORAGE_ACCOUNT_KEY" in dry.stderr
            status = reelm(env, "storage", "status")
            assert "realm 'default': steady" in status.stdout, status.stdout + status.stderr
            reporting = next(line for line in status.stdout.splitlines() if "running processes report in" in line)
            assert reporting.startswith("3 running") and reporting.count("web ") == 2, reporting

            # A store every process can use is taken, and the processes say so.
            local = (tmp_path / "elsewhere").as_uri()
            plan = reelm(env, "storage", "migrate", "--to", local, "--dry-run")
            assert plan.returncode == 0 and "passed every check from here and 3 running processes" in plan.stdout
            moved = reelm(env, "storage", "migrate", "--to", local)
            assert moved.returncode == 0, moved.stdout + moved.stderr
        finally:
            site.stop()
    # A process that stops cleanly takes its report with it, so no migration waits for it.
    assert live_processes(env) == []
