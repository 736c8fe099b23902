"""Server-Timing: off by default; on, a For You page says how long Django took and each of its phases."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from reelm.core import timing
from tests.feed.conftest import account
from tests.recommend.conftest import embedded, taste_along
from tests.social.conftest import client_for

TIMED = ["reelm.core.timing.ServerTimingMiddleware", *settings.MIDDLEWARE]


def test_phases_add_up_by_name_and_parse_back() -> None:
    value = timing.header([("score", 0.002), ("rows", 0.0015), ("score", 0.001)], 0.01)
    assert value == "score;dur=3.00, rows;dur=1.50, app;dur=10.00"
    assert timing.parse(value) == {"score": 3.0, "rows": 1.5, "app": 10.0}
    # Other servers' metrics (a description, no duration, a bad number) are skipped, not fatal.
    assert timing.parse('cdn;desc="edge", db;dur=2.5, x;dur=fast, ;dur=1') == {"db": 2.5}


def test_only_phases_inside_a_timed_request_are_reported() -> None:
    with timing.phase("before"):  # no request is being timed: nowhere to record it, and no error
        time.sleep(0.001)

    def view(request: Any) -> HttpResponse:
        with timing.phase("score"):
            time.sleep(0.001)
        return HttpResponse()

    response = timing.ServerTimingMiddleware(view)(RequestFactory().get("/"))
    spans = timing.parse(response["Server-Timing"])
    assert set(spans) == {"score", "app"} and 1.0 <= spans["score"] <= spans["app"]
    with timing.phase("after"):
        pass
    assert timing._spans.get() is None  # the request's spans are gone with it


@pytest.mark.django_db
def test_off_by_default() -> None:
    assert "reelm.core.timing.ServerTimingMiddleware" not in settings.MIDDLEWARE
    viewer = account("viewer")
    response = client_for(viewer).get("/api/feed/for-you")
    assert response.status_code == 200
    assert "Server-Timing" not in response.headers


@pytest.mark.django_db
@override_settings(MIDDLEWARE=TIMED)
def test_a_for_you_page_reports_django_time_and_its_phases() -> None:
    viewer, creator = account("viewer"), account("creator")
    taste_along(viewer, 1)
    for n in range(5):
        embedded(creator, 1, seed=n)
    response = client_for(viewer).get("/api/feed/for-you")
    assert response.status_code == 200 and response.json()["items"]
    spans = timing.parse(response.headers["Server-Timing"])
    assert {"auth", "taste", "pool", "enqueue", "score", "rows", "explain", "remember", "items", "json"} < spans.keys()
    assert all(ms >= 0 for ms in spans.values())
    assert sum(ms for name, ms in spans.items() if name != "app") <= spans["app"]
    # Any response gets at least Django's own time.
    missing = client_for(viewer).get("/api/nope")
    assert missing.status_code == 404
    assert set(timing.parse(missing.headers["Server-Timing"])) == {"app"}


@pytest.mark.django_db
@override_settings(MIDDLEWARE=TIMED)
def test_a_batch_of_watch_events_reports_storing_and_learning() -> None:
    viewer, creator = account("viewer"), account("creator")
    watched = embedded(creator, 1)
    events = [{"video_id": str(watched.id), "kind": "impression", "duration_ms": 15_000}]
    response = client_for(viewer).post("/api/events", {"events": events}, content_type="application/json")
    assert response.status_code == 202
    spans = timing.parse(response.headers["Server-Timing"])
    assert {"auth", "store", "learn", "app"} <= spans.keys()
    assert spans["store"] + spans["learn"] <= spans["app"]
