"""The web process's start-up heap is frozen out of the garbage collector's scans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reelm.core.heap import WEB_THRESHOLDS

DEFAULT_THRESHOLDS = (700, 10, 10)

PROBE = """
import gc, json, sys, time
import reelm.wsgi
frozen = gc.get_freeze_count()
loaded = "reelm.urls" in sys.modules and "reelm.api" in sys.modules
started = time.perf_counter()
gc.collect()
print(json.dumps({"frozen": frozen, "loaded": loaded, "tracked": len(gc.get_objects()), "thresholds": gc.get_threshold(),
                  "collect_ms": (time.perf_counter() - started) * 1000}))
"""


def test_the_wsgi_application_freezes_its_start_up_heap_with_the_urlconf_loaded(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REELM_", "DJANGO_"))}
    env |= {"REELM_DATA_DIR": str(tmp_path), "REELM_INDEX_WARM": "0"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["loaded"], "the URLconf (and the API built by it) is loaded before the heap is frozen"
    # Django, Ninja's schemas, numpy and the apps: tens of thousands of objects the collector no longer scans,
    # far more than are left for it.
    assert found["frozen"] > 30_000
    assert found["tracked"] < found["frozen"] / 4
    assert found["thresholds"] == list(WEB_THRESHOLDS) != list(DEFAULT_THRESHOLDS)
