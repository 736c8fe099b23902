"""Fixtures for the notification tests: a third account, video rows without media and small helpers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from tests.conftest import PASSWORD
from tests.social.conftest import client_for


@pytest.fixture
def carol(db: None) -> User:
    return user_create(username="carol", password=PASSWORD)


@pytest.fixture
def carol_api(carol: User) -> Client:
    return client_for(carol)


def inbox(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/notifications", params)
    assert response.status_code == 200, response.content[:500]
    body: dict[str, Any] = response.json()
    return body


def kinds(client: Client) -> list[tuple[str, str]]:
    """(kind, actor username) of every notification on the first page, newest first."""
    return [(item["kind"], item["actor"]["username"]) for item in inbox(client)["items"]]


def unread(client: Client) -> int:
    response = client.get("/api/notifications/unread-count")
    assert response.status_code == 200, response.content[:500]
    count: int = response.json()["unread"]
    return count
