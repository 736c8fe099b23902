"""Fixtures for the social tests: a third account and video rows without media."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import token_create, user_create
from reelm.core.ids import uuid7
from reelm.videos.models import Video
from tests.conftest import PASSWORD


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


def client_for(account: User) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_create(user=account, name='t').secret}"})


@pytest.fixture
def carol(db: None) -> User:
    return user_create(username="carol", password=PASSWORD)


@pytest.fixture
def carol_api(carol: User) -> Client:
    return client_for(carol)


@pytest.fixture
def video_of() -> Callable[..., Video]:
    return make_video


def fresh(account: User) -> User:
    return User.objects.get(id=account.id)


def counts(account: User) -> tuple[int, int]:
    """(followers, following) as stored."""
    stored = fresh(account)
    return stored.follower_count, stored.following_count


def json_of(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()
