"""Comments: length and cleaning, one level of replies, deleting, pinning, comment likes and counters."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from reelm.accounts.models import User
from reelm.social import services
from reelm.social.models import Comment, CommentLike
from reelm.videos.models import Video
from tests.helpers import assert_error
from tests.social.conftest import make_video

UNKNOWN = "0190a3c4-0000-7000-8000-000000000000"


def post_comment(client: Client, video: Video, body: Any, **extra: Any) -> Any:
    return client.post(f"/api/videos/{video.id}/comments", {"body": body, **extra}, content_type="application/json")


def comment_count(video: Video) -> int:
    return Video.objects.get(id=video.id).comment_count


def test_comment_is_created_cleaned_and_counted(api: Client, client: Client, user: User, other_user: User) -> None:
    video = make_video(other_user)
    response = post_comment(api, video, "  nice\x00 clip\u202e\x1b[31m!\nsecond line\t\x07 ")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["body"] == "nice clip[31m!\nsecond line"
    assert body["author"]["username"] == "alice"
    assert body["parent_id"] is None and body["pinned"] is False and body["reply_count"] == 0
    assert Comment.objects.get().body == body["body"]
    assert comment_count(video) == 1
    listed = client.get(f"/api/videos/{video.id}/comments").json()
    assert [c["id"] for c in listed["items"]] == [body["id"]] and listed["next_cursor"] is None
    assert client.get(f"/api/videos/{video.id}").json()["comment_count"] == 1


def test_emoji_with_joiners_survive_cleaning() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert services.clean_comment_body(f"{family} ok") == f"{family} ok"


def test_comment_length_limit(api: Client, other_user: User) -> None:
    video = make_video(other_user)
    assert post_comment(api, video, "x" * 1000).status_code == 201
    assert_error(post_comment(api, video, "x" * 1001), 400, "comment_too_long")
    # Control characters do not count toward the limit: they are removed first.
    assert post_comment(api, video, "x" * 1000 + "\x00" * 20).status_code == 201
    assert comment_count(video) == 2


@pytest.mark.parametrize("body", ["", "   ", "\x00\x01\n"])
def test_empty_comment_is_a_400(api: Client, other_user: User, body: str) -> None:
    video = make_video(other_user)
    assert_error(post_comment(api, video, body), 400, "empty_comment")
    assert comment_count(video) == 0


@pytest.mark.parametrize("payload", [{}, {"body": 5}, {"body": "hi", "parent_id": "nope"}])
def test_malformed_comment_is_a_422(api: Client, other_user: User, payload: Any) -> None:
    video = make_video(other_user)
    response = api.post(f"/api/videos/{video.id}/comments", payload, content_type="application/json")
    assert_error(response, 422, "validation_error")
    assert not Comment.objects.exists()


def test_comment_on_unknown_or_hidden_video_is_404(api: Client, other_user: User) -> None:
    for target in [UNKNOWN, "bad", make_video(other_user, visibility="private").id]:
        response = api.post(f"/api/videos/{target}/comments", {"body": "hi"}, content_type="application/json")
        assert_error(response, 404, "not_found")
    assert not Comment.objects.exists()


def test_comment_needs_authentication(client: Client, other_user: User) -> None:
    assert_error(post_comment(client, make_video(other_user), "hi"), 401, "unauthenticated")


def test_reply_to_a_reply_joins_the_top_level_thread(
    api: Client, other_api: Client, client: Client, other_user: User
) -> None:
    video = make_video(other_user)
    top = post_comment(api, video, "top").json()
    reply = post_comment(other_api, video, "reply", parent_id=top["id"]).json()
    assert reply["parent_id"] == top["id"] and reply["reply_count"] is None
    nested = post_comment(api, video, "reply to reply", parent_id=reply["id"])
    assert nested.status_code == 201
    assert nested.json()["parent_id"] == top["id"]  # attached to the top-level comment, not to the reply
    assert Comment.objects.filter(parent_id=reply["id"]).count() == 0
    listed = client.get(f"/api/videos/{video.id}/comments").json()["items"]
    assert [(c["id"], c["reply_count"]) for c in listed] == [(top["id"], 2)]
    replies = client.get(f"/api/comments/{top['id']}/replies").json()["items"]
    assert [c["body"] for c in replies] == ["reply", "reply to reply"]
    assert comment_count(video) == 3


def test_reply_to_unknown_or_foreign_comment_is_404(api: Client, user: User, other_user: User) -> None:
    video, elsewhere = make_video(other_user), make_video(other_user)
    foreign = services.comment_create(author=user, video=elsewhere, body="there")
    hidden_video = make_video(other_user, visibility="private")
    hidden = services.comment_create(author=other_user, video=hidden_video, body="secret")
    for parent in [UNKNOWN, str(foreign.id), str(hidden.id)]:
        assert_error(post_comment(api, video, "hi", parent_id=parent), 404, "not_found")
    assert comment_count(video) == 0


def test_deleting_a_comment_takes_its_replies_and_uncounts_them(
    api: Client, other_api: Client, user: User, other_user: User
) -> None:
    video = make_video(other_user)
    top = services.comment_create(author=user, video=video, body="top")
    services.comment_create(author=other_user, video=video, body="r1", parent=top)
    services.comment_create(author=other_user, video=video, body="r2", parent=top)
    keep = services.comment_create(author=other_user, video=video, body="keep")
    assert comment_count(video) == 4
    assert api.delete(f"/api/comments/{top.id}").status_code == 204
    assert list(Comment.objects.values_list("id", flat=True)) == [keep.id]
    assert comment_count(video) == 1
    assert_error(api.delete(f"/api/comments/{top.id}"), 404, "not_found")
    assert comment_count(video) == 1


def test_the_videos_author_may_delete_any_comment_on_it_others_may_not(
    api: Client, other_api: Client, carol_api: Client, user: User, other_user: User
) -> None:
    video = make_video(other_user)
    by_alice = services.comment_create(author=user, video=video, body="alice's")
    assert_error(carol_api.delete(f"/api/comments/{by_alice.id}"), 403, "forbidden")
    assert Comment.objects.filter(id=by_alice.id).exists()
    assert other_api.delete(f"/api/comments/{by_alice.id}").status_code == 204
    assert not Comment.objects.exists()
    assert comment_count(video) == 0
    # On someone else's video, alice may not delete bob's comment.
    alices_video = make_video(user)
    by_bob = services.comment_create(author=other_user, video=alices_video, body="bob's")
    other_video = make_video(other_user)
    by_bob_there = services.comment_create(author=other_user, video=other_video, body="bob's")
    assert_error(api.delete(f"/api/comments/{by_bob_there.id}"), 403, "forbidden")
    assert api.delete(f"/api/comments/{by_bob.id}").status_code == 204


def test_pinning_one_comment_unpins_the_previous(
    api: Client, other_api: Client, client: Client, user: User, other_user: User
) -> None:
    video = make_video(other_user)
    first = services.comment_create(author=user, video=video, body="first")
    second = services.comment_create(author=user, video=video, body="second")
    response = other_api.put(f"/api/comments/{first.id}/pin")
    assert response.status_code == 200 and response.json()["pinned"] is True
    listed = client.get(f"/api/videos/{video.id}/comments").json()["items"]
    assert [c["body"] for c in listed] == ["first", "second"]  # pinned first despite being older
    assert other_api.put(f"/api/comments/{second.id}/pin").json()["pinned"] is True
    assert list(Comment.objects.filter(pinned=True).values_list("id", flat=True)) == [second.id]
    assert other_api.delete(f"/api/comments/{second.id}/pin").json()["pinned"] is False
    assert not Comment.objects.filter(pinned=True).exists()


def test_pinning_by_anyone_but_the_videos_author_is_403(
    api: Client, carol_api: Client, user: User, other_user: User
) -> None:
    video = make_video(other_user)
    mine = services.comment_create(author=user, video=video, body="mine")
    assert_error(api.put(f"/api/comments/{mine.id}/pin"), 403, "forbidden")  # even the comment's author
    assert_error(carol_api.put(f"/api/comments/{mine.id}/pin"), 403, "forbidden")
    assert_error(api.delete(f"/api/comments/{mine.id}/pin"), 403, "forbidden")
    assert_error(api.put(f"/api/comments/{UNKNOWN}/pin"), 404, "not_found")
    assert not Comment.objects.filter(pinned=True).exists()


def test_replies_cannot_be_pinned(other_api: Client, user: User, other_user: User) -> None:
    video = make_video(other_user)
    top = services.comment_create(author=user, video=video, body="top")
    reply = services.comment_create(author=user, video=video, body="reply", parent=top)
    assert_error(other_api.put(f"/api/comments/{reply.id}/pin"), 400, "pin_reply")
    assert not Comment.objects.filter(pinned=True).exists()


def test_the_database_allows_one_pinned_comment_per_video(user: User, other_user: User) -> None:
    video = make_video(other_user)
    Comment.objects.create(owner=user, video=video, body="a", pinned=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.create(owner=user, video=video, body="b", pinned=True)


def test_comment_likes_are_idempotent_and_counted(api: Client, other_api: Client, user: User, other_user: User) -> None:
    video = make_video(other_user)
    comment = services.comment_create(author=other_user, video=video, body="like me")
    for _ in range(2):
        assert api.put(f"/api/comments/{comment.id}/like").json() == {"active": True, "count": 1}
    assert other_api.put(f"/api/comments/{comment.id}/like").json() == {"active": True, "count": 2}
    assert CommentLike.objects.count() == 2
    listed = api.get(f"/api/videos/{video.id}/comments").json()["items"]
    assert listed[0]["liked"] is True and listed[0]["like_count"] == 2
    for _ in range(2):
        assert api.delete(f"/api/comments/{comment.id}/like").json() == {"active": False, "count": 1}
    assert api.get(f"/api/videos/{video.id}/comments").json()["items"][0]["liked"] is False
    assert_error(api.put(f"/api/comments/{UNKNOWN}/like"), 404, "not_found")


def test_comments_on_hidden_videos_are_404_everywhere(
    api: Client, client: Client, user: User, other_user: User
) -> None:
    video = make_video(other_user, visibility="followers")
    comment = services.comment_create(author=other_user, video=video, body="followers only")
    for response in [
        api.get(f"/api/videos/{video.id}/comments"),
        client.get(f"/api/videos/{video.id}/comments"),
        api.get(f"/api/comments/{comment.id}/replies"),
        api.put(f"/api/comments/{comment.id}/like"),
        api.delete(f"/api/comments/{comment.id}"),
        api.put(f"/api/comments/{comment.id}/pin"),
    ]:
        assert_error(response, 404, "not_found")
    assert Comment.objects.filter(id=comment.id).exists() and not CommentLike.objects.exists()


def test_comment_list_pages_by_cursor(client: Client, user: User, other_user: User) -> None:
    from reelm.social.api import PAGE_SIZE

    video = make_video(other_user)
    made = [services.comment_create(author=user, video=video, body=f"c{i}") for i in range(PAGE_SIZE + 2)]
    services.comment_pin(actor=other_user, comment=made[0])
    first = client.get(f"/api/videos/{video.id}/comments").json()
    assert first["items"][0]["body"] == "c0" and first["next_cursor"]
    second = client.get(f"/api/videos/{video.id}/comments?cursor={first['next_cursor']}").json()
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == PAGE_SIZE + 2
    assert second["next_cursor"] is None
