"""The import rules in pyproject.toml ([tool.importlinter]): apps import only the layers below them, no cycles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_apps_import_only_downward_and_nothing_imports_in_a_circle() -> None:
    found = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Contracts: 2 kept, 0 broken." in found.stdout, found.stdout + found.stderr
    assert found.returncode == 0
