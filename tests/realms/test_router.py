"""The database router, the one-realm-per-transaction guard and the per-realm queues, in a real process of a
deployment with three realms (each on its own SQLite file)."""

from __future__ import annotations

import json
import subprocess

from tests.e2e.live import reelm_bin
from tests.realms.deployment import Deployment

SCRIPT = r"""
import json, uuid
from reelm.core import realms
from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.core.queues import TRANSCODE
from reelm.directory.models import Entry
from reelm.videos.tasks import transcode_enqueue

out = {}
anna = user_create(username="anna", password="a long test passphrase 42", country="DE")
out["created_in"] = anna._state.db
out["works_for_by_default"] = realms.current_realm()
out["default_sees_anna"] = User.objects.filter(username="anna").exists()
with realms.working_for("eu"):
    loaded = User.objects.get(username="anna")
out["loaded_from"] = loaded._state.db

with realms.working_for("us"):
    out["us_sees_anna"] = User.objects.filter(username="anna").exists()
    try:
        loaded.bio = "written from us"
        loaded.save()
        out["cross_write"] = "allowed"
    except realms.RealmError as exc:
        out["cross_write"] = str(exc)

try:
    with realms.working_for("eu"), realms.atomic():
        User.objects.filter(username="anna").update(bio="half")
        with realms.working_for("us"):
            User.objects.filter(username="nobody").update(bio="other half")
    out["span"] = "allowed"
except realms.RealmError as exc:
    out["span"] = str(exc)
try:
    with realms.working_for("eu"), realms.atomic():
        User.objects.filter(username="anna").update(bio="half")
        Entry.objects.filter(handle="anna").update(realm="us")
    out["span_directory"] = "allowed"
except realms.RealmError as exc:
    out["span_directory"] = str(exc)
with realms.working_for("eu"):
    out["bio_after"] = User.objects.get(username="anna").bio
out["entry_realm_after"] = Entry.objects.get(handle="anna").realm

with realms.working_for("eu"):
    transcode_enqueue(uuid.uuid4())
out["waiting"] = {name: huey.pending_count() for name, huey in TRANSCODE.hueys.items()}
print("RESULT " + json.dumps(out))
"""


def test_rows_stay_in_their_realm_and_no_transaction_spans_two(realms: Deployment) -> None:
    subprocess.run([reelm_bin(), "migrate"], env=realms.env, check=True, capture_output=True, timeout=300)
    ran = subprocess.run(
        [reelm_bin(), "manage", "shell", "-c", SCRIPT], env=realms.env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = json.loads(ran.stdout.split("RESULT ", 1)[1])
    assert out["created_in"] == "realm_eu" and out["loaded_from"] == "realm_eu"
    # Without a request or a task, code works for the default realm, which does not hold anna.
    assert out["works_for_by_default"] == "global" and out["default_sees_anna"] is False
    assert out["us_sees_anna"] is False
    assert "row of realm 'eu' cannot be written while working for realm 'us'" in out["cross_write"]
    assert "a write to us inside a transaction on eu" in out["span"]
    assert "a write to the directory inside a transaction on eu" in out["span_directory"]
    # Both refused transactions rolled back whole.
    assert out["bio_after"] == "" and out["entry_realm_after"] == "eu"
    assert out["waiting"] == {"us": 0, "eu": 1, "global": 0}
