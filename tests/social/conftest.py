"""Fixtures for the social tests: a third account and video rows without media."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.core.ids import uuid7
from reelm.videos.models import Video
from tests.conftest import PASSWORD
from tests.relations.conftest import client_for


def make_video(owner: User, *, visibility: str = "public", state: str = "ready", caption: str = "") -> Video:
    video_id = uuid7()
    return Video.objects.create(
        id=video_id,
        owner=owner,
        caption=caption,
        visibility=visibility,
        state=state,
        source_key=f"originals/{video_id}/source.mp4",
        duration=2.0,
        width=320,
        height=568,
    )


@pytest.fixture
def carol(db: None) -> User:
    return user_create(username="carol", password=PASSWORD)


@pytest.fixture
def carol_api(carol: User) -> Client:
    return client_for(carol)


@pytest.fixture
def video_of() -> Callable[..., Video]:
    return make_video


def json_of(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()
