"""Each notification kind comes from the real API action that causes it, and goes when that action is undone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.test import Client

from reelm.accounts.models import User
from reelm.notifications.models import Notification
from tests.notifications.conftest import inbox, kinds, unread
from tests.social.conftest import make_video


def test_follow_notifies_and_unfollow_takes_it_back(api: Client, other_api: Client, user: User) -> None:
    assert other_api.post("/api/users/alice/follow").status_code == 201
    assert kinds(api) == [("follow", "bob")]
    item = inbox(api)["items"][0]
    assert item["actor"]["profile_url"] == "/@bob"
    assert item["video_id"] is None and item["comment_id"] is None and item["read"] is False
    assert "started following you" in item["text"]
    # Following again changes nothing.
    assert other_api.post("/api/users/alice/follow").status_code == 200
    assert unread(api) == 1
    assert other_api.delete("/api/users/alice/follow").status_code == 204
    assert kinds(api) == []
    assert unread(api) == 0


def test_follow_request_is_withdrawn_answered_or_becomes_a_follow(
    api: Client, other_api: Client, carol_api: Client, user: User
) -> None:
    assert api.patch("/api/me", {"is_private": True}, content_type="application/json").status_code == 200
    assert other_api.post("/api/users/alice/follow").json()["status"] == "pending"
    assert kinds(api) == [("follow_request", "bob")]
    # Withdrawn by the requester.
    other_api.delete("/api/users/alice/follow")
    assert kinds(api) == []
    # Declined by the account: the request needs no reminder.
    other_api.post("/api/users/alice/follow")
    request_id = api.get("/api/me/follow-requests").json()[0]["id"]
    assert api.post(f"/api/me/follow-requests/{request_id}/decline").status_code == 204
    assert kinds(api) == []
    # Approved by the account: likewise.
    other_api.post("/api/users/alice/follow")
    request_id = api.get("/api/me/follow-requests").json()[0]["id"]
    assert api.post(f"/api/me/follow-requests/{request_id}/approve").status_code == 200
    assert kinds(api) == []
    # Going public turns unanswered requests into follows.
    carol_api.post("/api/users/alice/follow")
    assert kinds(api) == [("follow_request", "carol")]
    assert api.patch("/api/me", {"is_private": False}, content_type="application/json").status_code == 200
    assert kinds(api) == [("follow", "carol")]


def test_like_notifies_once_however_often_it_is_repeated(api: Client, other_api: Client, user: User) -> None:
    video = make_video(user)
    for _ in range(3):
        assert other_api.put(f"/api/videos/{video.id}/like").status_code == 200
    assert kinds(api) == [("like", "bob")]
    assert inbox(api)["items"][0]["video_id"] == str(video.id)
    for _ in range(3):
        other_api.delete(f"/api/videos/{video.id}/like")
        assert kinds(api) == []
        other_api.put(f"/api/videos/{video.id}/like")
        assert kinds(api) == [("like", "bob")]
    assert Notification.objects.filter(owner=user, kind="like").count() == 1


def test_a_read_like_stays_and_a_new_like_is_one_more(api: Client, other_api: Client, user: User) -> None:
    video = make_video(user)
    other_api.put(f"/api/videos/{video.id}/like")
    api.post("/api/notifications/read", {}, content_type="application/json")
    other_api.delete(f"/api/videos/{video.id}/like")
    assert [i["read"] for i in inbox(api)["items"]] == [True]  # already seen: history stays
    other_api.put(f"/api/videos/{video.id}/like")
    other_api.put(f"/api/videos/{video.id}/like")
    assert [i["read"] for i in inbox(api)["items"]] == [False, True]
    assert unread(api) == 1


def test_comment_and_reply_notify_the_right_people(
    api: Client, other_api: Client, carol_api: Client, user: User, other_user: User
) -> None:
    video = make_video(user)
    made = other_api.post(
        f"/api/videos/{video.id}/comments", {"body": "nice one"}, content_type="application/json"
    ).json()
    assert kinds(api) == [("comment", "bob")]
    item = inbox(api)["items"][0]
    assert item["comment_id"] == made["id"] and item["video_id"] == str(video.id)
    assert "nice one" in item["text"]
    # Carol replies to Bob's comment: Bob hears of the reply, Alice of a new comment on her video.
    reply = carol_api.post(
        f"/api/videos/{video.id}/comments",
        {"body": "agreed", "parent_id": made["id"]},
        content_type="application/json",
    ).json()
    assert kinds(other_api) == [("reply", "carol")]
    assert inbox(other_api)["items"][0]["comment_id"] == reply["id"]
    assert kinds(api) == [("comment", "carol"), ("comment", "bob")]
    # Bob replies to Alice's own comment: Alice gets one reply notification, not a reply and a comment.
    mine = api.post(f"/api/videos/{video.id}/comments", {"body": "thanks"}, content_type="application/json").json()
    other_api.post(
        f"/api/videos/{video.id}/comments", {"body": "sure", "parent_id": mine["id"]}, content_type="application/json"
    )
    assert kinds(api)[0] == ("reply", "bob")
    assert len(kinds(api)) == 3
    # Deleting Bob's first comment deletes its thread and every notification about it.
    assert other_api.delete(f"/api/comments/{made['id']}").status_code == 204
    assert kinds(api) == [("reply", "bob")]
    assert kinds(other_api) == []


def test_nobody_is_notified_of_their_own_actions(api: Client, user: User) -> None:
    video = make_video(user)
    api.put(f"/api/videos/{video.id}/like")
    top = api.post(f"/api/videos/{video.id}/comments", {"body": "me"}, content_type="application/json").json()
    api.post(
        f"/api/videos/{video.id}/comments",
        {"body": "me again", "parent_id": top["id"]},
        content_type="application/json",
    )
    api.patch(f"/api/videos/{video.id}", {"caption": "talking to @alice"}, content_type="application/json")
    assert video.mentions.filter(mentioned=user).exists()  # the mention itself is linked
    assert kinds(api) == []
    assert unread(api) == 0
    assert Notification.objects.count() == 0


def test_mention_on_upload_and_only_new_mentions_on_edit(
    api: Client,
    other_api: Client,
    carol_api: Client,
    other_user: User,
    carol: User,
    clips: dict[str, Path],
    upload: Callable[..., Any],
) -> None:
    response = upload(api, clips["portrait"], caption="hi @bob")
    assert response.status_code == 201, response.content[:500]
    video_id = response.json()["id"]
    assert kinds(other_api) == [("mention", "alice")]
    item = inbox(other_api)["items"][0]
    assert item["video_id"] == video_id
    assert "hi @bob" in item["text"]

    def edit(caption: str) -> None:
        r = api.patch(f"/api/videos/{video_id}", {"caption": caption}, content_type="application/json")
        assert r.status_code == 200, r.content[:500]

    edit("hi @bob and @carol")
    assert kinds(other_api) == [("mention", "alice")]  # Bob was already mentioned: no second one
    assert kinds(carol_api) == [("mention", "alice")]
    edit("just @bob now")
    assert kinds(carol_api) == []  # taken out before she read it
    assert unread(other_api) == 1


def test_no_mention_notification_for_a_video_the_account_may_not_see(
    api: Client, other_api: Client, other_user: User, clips: dict[str, Path], upload: Callable[..., Any]
) -> None:
    response = upload(api, clips["portrait"], caption="secret for @bob", visibility="private")
    assert response.status_code == 201, response.content[:500]
    assert kinds(other_api) == []
    assert Notification.objects.count() == 0
