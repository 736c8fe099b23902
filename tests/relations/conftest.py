"""Fixtures for the relations tests: a third account, clients, stored follow counts, and a race of threads."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from django.db import connections
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import token_create, user_create
from tests.conftest import PASSWORD

THREADS = 8
ROUNDS = 12


def client_for(account: User) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_create(user=account, name='t').secret}"})


@pytest.fixture
def carol(db: None) -> User:
    return user_create(username="carol", password=PASSWORD)


@pytest.fixture
def carol_api(carol: User) -> Client:
    return client_for(carol)


def fresh(account: User) -> User:
    return User.objects.get(id=account.id)


def counts(account: User) -> tuple[int, int]:
    """(followers, following) as stored."""
    stored = fresh(account)
    return stored.follower_count, stored.following_count


def race(fans: list[User], add: Callable[[User], object], remove: Callable[[User], object]) -> None:
    """Two threads per account, each adding and removing at random, all released at once, so the same row is
    created and deleted by racing requests."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(fans) * 2)

    def churn(fan: User, seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(ROUNDS):
                (add if rng.random() < 0.6 else remove)(fan)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    work = [threading.Thread(target=churn, args=(fan, seed)) for seed, fan in enumerate(fans + fans)]
    for thread in work:
        thread.start()
    for thread in work:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a worker thread hung"
    assert errors == []
