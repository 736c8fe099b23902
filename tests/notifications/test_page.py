"""The notifications page: opening it reads the inbox (the header badge clears at once and stays cleared), and
times are said as people say them."""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from reelm.accounts.models import User
from reelm.notifications.models import Notification
from reelm.notifications.selectors import PAGE_SIZE
from tests.notifications.conftest import unread
from tests.social.conftest import make_video


def badge(html: str) -> str | None:
    found = html.split('class="badge" data-unread="', 1)
    return found[1].split('"', 1)[0] if len(found) > 1 else None


def test_opening_the_page_clears_the_badge_on_that_load_and_after(
    client: Client, api: Client, other_api: Client, user: User
) -> None:
    video = make_video(user)
    other_api.put(f"/api/videos/{video.id}/like")
    other_api.post("/api/users/alice/follow")
    client.force_login(user)
    assert badge(client.get("/").content.decode()) == "2"

    page = client.get("/notifications")
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert badge(html) is None and "Notifications, 0 unread" in html  # this very page's header
    assert (
        html.count('class="notification ') == 2 and len(re.findall(r'class="notification \w+ unread"', html)) == 2
    )  # still marked new, this once
    assert unread(api) == 0
    assert badge(client.get("/").content.decode()) is None
    again = client.get("/notifications").content.decode()
    assert not re.findall(r'class="notification \w+ unread"', again)

    # Something new shows on the badge again until the page is opened.
    other_api.post(f"/api/videos/{video.id}/comments", {"body": "hi"}, content_type="application/json")
    assert badge(client.get("/").content.decode()) == "1"
    client.get("/notifications")
    assert unread(api) == 0


def test_an_older_page_marks_nothing(client: Client, api: Client, other_api: Client, user: User) -> None:
    videos = [make_video(user) for _ in range(PAGE_SIZE + 1)]
    for video in videos:
        other_api.put(f"/api/videos/{video.id}/like")
    client.force_login(user)
    oldest_first = list(Notification.objects.filter(owner=user).order_by("id"))
    client.get(f"/notifications?before={oldest_first[1].id}")
    assert unread(api) == PAGE_SIZE + 1
    client.get("/notifications")
    assert unread(api) == 0


def test_times_say_just_now_then_units(client: Client, other_api: Client, user: User) -> None:
    other_api.post("/api/users/alice/follow")
    client.force_login(user)
    html = client.get("/notifications").content.decode()
    assert ">just now</time>" in html and "0 minutes" not in html
    Notification.objects.filter(owner=user).update(created_at=timezone.now() - timedelta(minutes=1, seconds=5))
    assert ">1 minute ago</time>" in client.get("/notifications").content.decode()
    Notification.objects.filter(owner=user).update(created_at=timezone.now() - timedelta(hours=3))
    assert ">3 hours ago</time>" in client.get("/notifications").content.decode()
