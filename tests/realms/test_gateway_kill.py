"""The worker killed (SIGKILL) while it drains the outbox, in the one window that matters: a message has taken
effect in its target realm and is not yet marked delivered at home. The next worker delivers everything, and
that message once in effect."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.e2e.live import reelm_bin, start, wait_for
from tests.realms.deployment import REALMS, Deployment

UPDATES = 40
KILL_AT = 25

SCRIPT = f"""
from reelm.accounts.services import profile_update, user_create
from reelm.core import realms

anna = user_create(username="anna", password="a long test passphrase 42", country="DE")
with realms.working_for("eu"):
    for i in range({UPDATES}):
        profile_update(user=anna, bio=f"bio {{i}}")
print("OK")
"""


def _count(realms: Deployment, realm: str, sql: str) -> int:
    return int(realms.rows(realm, sql)[0][0])


def test_a_drain_killed_after_a_message_took_effect_delivers_it_once(realms: Deployment, tmp_path: Path) -> None:
    subprocess.run([reelm_bin(), "migrate"], env=realms.env, check=True, capture_output=True, timeout=300)
    made = subprocess.run(
        [reelm_bin(), "manage", "shell", "-c", SCRIPT], env=realms.env, capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0 and "OK" in made.stdout, made.stderr[-3000:]
    messages = _count(realms, "eu", "SELECT count(*) FROM gateway_outboxmessage")
    assert messages == 2 * (UPDATES + 1)  # the sign-up and each update, to us and to global
    assert _count(realms, "eu", "SELECT count(*) FROM gateway_outboxmessage WHERE delivered_at IS NULL") == messages

    doomed = start(
        "worker-killed",
        ["worker", "--queue", "gateway=1"],
        {**realms.env, "REELM_TEST_GATEWAY_KILL_AT": str(KILL_AT)},
        tmp_path,
    )
    assert doomed.popen.wait(timeout=120) == -signal.SIGKILL, doomed.log_text()
    received = sum(_count(realms, r, "SELECT count(*) FROM gateway_inboxreceipt") for r in ("us", "global"))
    delivered = _count(realms, "eu", "SELECT count(*) FROM gateway_outboxmessage WHERE delivered_at IS NOT NULL")
    # Killed in the window: one message took effect (its receipt is there) but is not marked delivered.
    assert received == delivered + 1 and delivered == KILL_AT - 1, (received, delivered)

    worker = start("worker", ["worker", "--queue", "gateway=1"], realms.env, tmp_path)
    try:
        wait_for(
            lambda: _count(realms, "eu", "SELECT count(*) FROM gateway_outboxmessage WHERE delivered_at IS NULL") == 0,
            timeout=90,
            interval=0.25,
            message="the outbox was not drained after the restart",
        )
    finally:
        worker.stop()
    for target in ("us", "global"):
        assert _count(realms, target, "SELECT count(*) FROM gateway_inboxreceipt") == UPDATES + 1
        bio = realms.rows(target, "SELECT bio FROM accounts_user WHERE username = 'anna'")
        assert bio == [(f"bio {UPDATES - 1}",)], target
    assert worker.log_text().count("(received before)") == 1, worker.log_text()[-3000:]


LIKERS = 30
LIKES_KILL_AT = 12

SETUP = f"""
from django.conf import settings
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
from reelm.accounts.services import user_create
from reelm.core import realms
from reelm.videos.models import Video, Visibility
from reelm.videos.states import VideoState

anna = user_create(username="anna", password="a long test passphrase 42", country="DE")
with realms.working_for("eu"):
    video = Video.objects.create(
        owner=anna, state=VideoState.READY, visibility=Visibility.PUBLIC, source_key="originals/x/source.mp4"
    )
for i in range({LIKERS}):
    user_create(username=f"fan{{i}}", password="a long test passphrase 42", country="US")
print("VIDEO", video.id)
"""

LIKE = f"""
from reelm.accounts.models import User
from reelm.core import realms
from reelm.social.services import like_create
from reelm.videos.models import Video

with realms.working_for("us"):
    video = Video.objects.get()
    for i in range({LIKERS}):
        assert like_create(user=User.objects.get(username=f"fan{{i}}"), video=video)
print("OK")
"""


def _drained(realms: Deployment) -> bool:
    return all(
        _count(realms, r, "SELECT count(*) FROM gateway_outboxmessage WHERE delivered_at IS NULL") == 0 for r in REALMS
    )


def test_likes_from_another_realm_are_counted_once_when_the_drain_is_killed(realms: Deployment, tmp_path: Path) -> None:
    subprocess.run([reelm_bin(), "migrate"], env=realms.env, check=True, capture_output=True, timeout=300)
    made = subprocess.run(
        [reelm_bin(), "manage", "shell", "-c", SETUP], env=realms.env, capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0 and "VIDEO" in made.stdout, made.stderr[-3000:]
    worker = start("worker-setup", ["worker", "--queue", "gateway=1"], realms.env, tmp_path)
    try:
        wait_for(lambda: _drained(realms), timeout=90, interval=0.25, message="the sign-ups were not replicated")
    finally:
        worker.stop()
    liked = subprocess.run(
        [reelm_bin(), "manage", "shell", "-c", LIKE], env=realms.env, capture_output=True, text=True, timeout=300
    )
    assert liked.returncode == 0 and "OK" in liked.stdout, liked.stderr[-3000:]
    waiting = "SELECT count(*) FROM gateway_outboxmessage WHERE kind = 'video.reaction' AND delivered_at IS NULL"
    assert _count(realms, "us", waiting) == LIKERS

    doomed = start(
        "worker-killed",
        ["worker", "--queue", "gateway=1"],
        # us's drain: eu's, sending back the new counts meanwhile, must not be the one that dies.
        {**realms.env, "REELM_TEST_GATEWAY_KILL_AT": str(LIKES_KILL_AT), "REELM_TEST_GATEWAY_KILL_FROM": "us"},
        tmp_path,
    )
    assert doomed.popen.wait(timeout=120) == -signal.SIGKILL, doomed.log_text()
    counted = "SELECT like_count FROM videos_video"
    # Killed with one like counted at home but not marked delivered in us.
    assert _count(realms, "eu", counted) == LIKES_KILL_AT
    assert _count(realms, "us", waiting) == LIKERS - LIKES_KILL_AT + 1

    worker = start("worker", ["worker", "--queue", "gateway=1"], realms.env, tmp_path)
    try:
        wait_for(
            lambda: _drained(realms) and all(_count(realms, r, counted) == LIKERS for r in REALMS),
            timeout=90,
            interval=0.25,
            message=lambda: f"counts: {[_count(realms, r, counted) for r in REALMS]}",
        )
    finally:
        worker.stop()
    # Every like counted once in the video's home realm, and the count sent back to every realm.
    assert _count(realms, "eu", counted) == LIKERS
    assert _count(realms, "eu", "SELECT count(*) FROM gateway_inboxreceipt WHERE kind = 'video.reaction'") == LIKERS
    assert _count(realms, "us", "SELECT count(*) FROM social_like") == LIKERS
    assert _count(realms, "eu", "SELECT count(*) FROM social_like") == 0
