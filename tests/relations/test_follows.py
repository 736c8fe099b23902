"""The follow graph: public and private accounts, requests, unfollowing, counters and who sees the lists."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from reelm.accounts.models import User
from reelm.core.errors import InvalidInput
from reelm.relations import services
from reelm.relations.models import Follow, FollowStatus
from tests.helpers import assert_error
from tests.relations.conftest import counts, fresh


def make_private(account: User) -> User:
    return services.account_privacy_set(user=account, is_private=True)


def usernames(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [u["username"] for u in response.json()["items"]]


def test_following_a_public_account_is_immediate_and_counted(api: Client, user: User, other_user: User) -> None:
    response = api.post("/api/users/bob/follow")
    assert response.status_code == 201
    assert response.json() == {"username": "bob", "status": "accepted"}
    assert counts(user) == (0, 1)
    assert counts(other_user) == (1, 0)
    # Following again is not an error and counts once.
    again = api.post("/api/users/BOB/follow")
    assert again.status_code == 200
    assert again.json()["status"] == "accepted"
    assert Follow.objects.filter(owner=user, followee=other_user).count() == 1
    assert counts(other_user) == (1, 0)
    me = api.get("/api/me").json()
    assert (me["follower_count"], me["following_count"]) == (0, 1)


def test_unfollow_removes_the_follow_and_is_idempotent(api: Client, user: User, other_user: User) -> None:
    api.post("/api/users/bob/follow")
    assert api.delete("/api/users/bob/follow").status_code == 204
    assert not Follow.objects.filter(owner=user).exists()
    assert counts(user) == (0, 0) and counts(other_user) == (0, 0)
    assert api.delete("/api/users/bob/follow").status_code == 204
    assert counts(user) == (0, 0) and counts(other_user) == (0, 0)


def test_self_follow_is_a_400(api: Client, user: User) -> None:
    assert_error(api.post("/api/users/alice/follow"), 400, "self_follow")
    with pytest.raises(InvalidInput):
        services.follow_create(follower=user, followee=user)
    assert not Follow.objects.exists()
    assert counts(user) == (0, 0)


def test_the_database_refuses_self_follows_and_duplicates(user: User, other_user: User) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(owner=user, followee=user)
    Follow.objects.create(owner=user, followee=other_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(owner=user, followee=other_user)


@pytest.mark.parametrize("method", ["post", "delete"])
def test_unknown_account_is_a_404(api: Client, user: User, method: str) -> None:
    assert_error(getattr(api, method)("/api/users/nobody/follow"), 404, "not_found")


def test_follow_needs_authentication(client: Client, other_user: User) -> None:
    assert_error(client.post("/api/users/bob/follow"), 401, "unauthenticated")


def test_private_account_gets_a_pending_request_it_can_approve(
    api: Client, other_api: Client, user: User, other_user: User
) -> None:
    assert other_api.patch("/api/me", {"is_private": True}, content_type="application/json").json()["is_private"]
    response = api.post("/api/users/bob/follow")
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert counts(other_user) == (0, 0) and counts(user) == (0, 0)  # pending follows are not counted

    requests = other_api.get("/api/me/follow-requests").json()
    assert [r["follower"]["username"] for r in requests] == ["alice"]
    assert api.get("/api/me/follow-requests").json() == []  # alice has no requests of her own

    approved = other_api.post(f"/api/me/follow-requests/{requests[0]['id']}/approve")
    assert approved.status_code == 200
    assert approved.json() == {"username": "alice", "status": "accepted"}
    assert Follow.objects.get(owner=user, followee=other_user).status == FollowStatus.ACCEPTED
    assert counts(other_user) == (1, 0) and counts(user) == (0, 1)
    assert other_api.get("/api/me/follow-requests").json() == []
    # Approving twice: the request is gone.
    assert_error(other_api.post(f"/api/me/follow-requests/{requests[0]['id']}/approve"), 404, "not_found")
    assert counts(other_user) == (1, 0)


def test_declining_a_request_removes_it_without_counting(
    api: Client, other_api: Client, user: User, other_user: User
) -> None:
    make_private(other_user)
    api.post("/api/users/bob/follow")
    request_id = other_api.get("/api/me/follow-requests").json()[0]["id"]
    assert other_api.post(f"/api/me/follow-requests/{request_id}/decline").status_code == 204
    assert not Follow.objects.exists()
    assert counts(other_user) == (0, 0) and counts(user) == (0, 0)


def test_only_the_followee_can_answer_a_request(
    api: Client, carol_api: Client, user: User, other_user: User, carol: User
) -> None:
    make_private(other_user)
    api.post("/api/users/bob/follow")
    request_id = Follow.objects.get().id
    assert_error(carol_api.post(f"/api/me/follow-requests/{request_id}/approve"), 404, "not_found")
    assert_error(api.post(f"/api/me/follow-requests/{request_id}/approve"), 404, "not_found")  # not even the asker
    assert_error(carol_api.post(f"/api/me/follow-requests/{request_id}/decline"), 404, "not_found")
    assert Follow.objects.get().status == FollowStatus.PENDING


@pytest.mark.parametrize("request_id", ["not-a-uuid", "0190a3c4-0000-7000-8000-000000000000"])
def test_unknown_request_is_a_404(other_api: Client, request_id: str) -> None:
    assert_error(other_api.post(f"/api/me/follow-requests/{request_id}/approve"), 404, "not_found")
    assert_error(other_api.post(f"/api/me/follow-requests/{request_id}/decline"), 404, "not_found")


def test_unfollow_cancels_a_pending_request(api: Client, user: User, other_user: User) -> None:
    make_private(other_user)
    api.post("/api/users/bob/follow")
    assert api.delete("/api/users/bob/follow").status_code == 204
    assert not Follow.objects.exists()
    assert counts(other_user) == (0, 0) and counts(user) == (0, 0)


def test_unfollowing_an_accepted_follow_of_a_private_account_uncounts_it(user: User, other_user: User) -> None:
    make_private(other_user)
    follow, created = services.follow_create(follower=user, followee=other_user)
    assert created and follow.status == FollowStatus.PENDING
    services.follow_request_approve(account=other_user, request_id=follow.id)
    assert counts(other_user) == (1, 0)
    assert services.follow_delete(follower=user, followee=other_user)
    assert counts(other_user) == (0, 0) and counts(user) == (0, 0)
    assert not services.follow_delete(follower=user, followee=other_user)


def test_going_public_approves_pending_requests(user: User, other_user: User, carol: User) -> None:
    make_private(other_user)
    services.follow_create(follower=user, followee=other_user)
    services.follow_create(follower=carol, followee=other_user)
    assert counts(other_user) == (0, 0)
    services.account_privacy_set(user=other_user, is_private=False)
    assert set(Follow.objects.values_list("status", flat=True)) == {FollowStatus.ACCEPTED}
    assert counts(other_user) == (2, 0)
    assert counts(user) == (0, 1) and counts(carol) == (0, 1)
    assert not fresh(other_user).is_private


def test_follower_and_following_lists(client: Client, api: Client, user: User, other_user: User, carol: User) -> None:
    services.follow_create(follower=user, followee=other_user)
    services.follow_create(follower=carol, followee=other_user)
    services.follow_create(follower=other_user, followee=carol)
    assert usernames(client.get("/api/users/bob/followers")) == ["carol", "alice"]
    assert usernames(client.get("/api/users/bob/following")) == ["carol"]
    assert usernames(client.get("/api/users/alice/followers")) == []
    assert_error(client.get("/api/users/nobody/followers"), 404, "not_found")
    assert_error(client.get("/api/users/nobody/following"), 404, "not_found")


def test_pending_follows_are_not_listed(client: Client, user: User, other_user: User) -> None:
    services.follow_create(follower=other_user, followee=user)  # accepted: alice is public
    make_private(other_user)
    services.follow_create(follower=user, followee=other_user)  # pending
    assert usernames(client.get("/api/users/alice/followers")) == ["bob"]
    assert usernames(client.get("/api/users/alice/following")) == []


def test_private_account_lists_are_for_approved_followers_and_the_owner(
    client: Client, api: Client, other_api: Client, carol_api: Client, user: User, other_user: User, carol: User
) -> None:
    make_private(other_user)
    follow, _ = services.follow_create(follower=user, followee=other_user)
    services.follow_create(follower=carol, followee=other_user)  # stays pending
    for path in ("/api/users/bob/followers", "/api/users/bob/following"):
        assert_error(client.get(path), 403, "private_account")
        assert_error(carol_api.get(path), 403, "private_account")  # a pending request is not enough
        assert_error(api.get(path), 403, "private_account")
        assert other_api.get(path).status_code == 200
    services.follow_request_approve(account=other_user, request_id=follow.id)
    assert usernames(api.get("/api/users/bob/followers")) == ["alice"]
    assert usernames(other_api.get("/api/users/bob/followers")) == ["alice"]
    assert_error(carol_api.get("/api/users/bob/followers"), 403, "private_account")


def test_follower_list_pages_by_cursor(client: Client, other_user: User) -> None:
    from reelm.relations.api import PAGE_SIZE

    for i in range(PAGE_SIZE + 3):
        follower = User.objects.create(username=f"fan{i:03d}")
        services.follow_create(follower=follower, followee=other_user)
    first = client.get("/api/users/bob/followers").json()
    assert len(first["items"]) == PAGE_SIZE and first["next_cursor"]
    second = client.get(f"/api/users/bob/followers?cursor={first['next_cursor']}").json()
    assert second["next_cursor"] is None
    names = [u["username"] for u in first["items"] + second["items"]]
    assert len(names) == len(set(names)) == PAGE_SIZE + 3
    assert counts(other_user) == (PAGE_SIZE + 3, 0)
