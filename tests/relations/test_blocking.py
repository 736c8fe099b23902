"""Blocking and muting: a blocked pair sees nothing of each other, whoever blocked whom; a mute only quiets feeds
and notifications. Everything goes through the API or the real services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.notifications.models import Notification
from reelm.notifications.services import notification_create
from reelm.relations import services
from reelm.relations.models import Block, Follow, Mute
from reelm.relations.selectors import _relations_of, blocked_between, followed_and_hidden, hidden_author_ids
from reelm.search.selectors import search
from reelm.storage.base import ObjectStore
from reelm.videos.models import Video
from reelm.videos.selectors import can_view, videos_of_owner, videos_public
from reelm.videos.services import video_update
from tests.conftest import PASSWORD
from tests.helpers import assert_error
from tests.relations.conftest import client_for, counts
from tests.social.conftest import make_video

# Which side blocks: the pair must be hidden from each other either way.
DIRECTIONS = pytest.mark.parametrize("alice_blocks", [True, False], ids=["alice-blocks", "bob-blocks"])


def block(user: User, other_user: User, alice_blocks: bool) -> None:
    blocker, blocked = (user, other_user) if alice_blocks else (other_user, user)
    services.block_create(blocker=blocker, blocked=blocked)


def unblock(user: User, other_user: User, alice_blocks: bool) -> None:
    blocker, blocked = (user, other_user) if alice_blocks else (other_user, user)
    assert services.block_delete(blocker=blocker, blocked=blocked)


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


# --- the API: idempotency and bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["block", "mute"])
def test_block_and_mute_endpoints_are_idempotent_and_listed(
    api: Client, user: User, other_user: User, kind: str
) -> None:
    first = api.put(f"/api/users/bob/{kind}")
    assert first.status_code == 201 and first.json()["username"] == "bob"
    again = api.put(f"/api/users/BOB/{kind}")
    assert again.status_code == 200 and again.json()["created_at"] == first.json()["created_at"]
    model = Block if kind == "block" else Mute
    assert model.objects.filter(owner=user).count() == 1
    listed = api.get(f"/api/me/{kind}s").json()
    assert [row["username"] for row in listed] == ["bob"]
    assert api.delete(f"/api/users/bob/{kind}").status_code == 204
    assert api.delete(f"/api/users/bob/{kind}").status_code == 204
    assert api.get(f"/api/me/{kind}s").json() == []
    assert not model.objects.exists()


@pytest.mark.parametrize("kind", ["block", "mute"])
def test_bad_block_and_mute_requests(api: Client, client: Client, user: User, kind: str) -> None:
    assert_error(api.put(f"/api/users/nobody/{kind}"), 404, "not_found")
    assert_error(api.delete(f"/api/users/nobody/{kind}"), 404, "not_found")
    assert_error(api.put(f"/api/users/alice/{kind}"), 400, f"self_{kind}")
    assert client.put(f"/api/users/alice/{kind}").status_code == 401
    assert client.get(f"/api/me/{kind}s").status_code == 401
    assert not Block.objects.exists() and not Mute.objects.exists()


def test_the_database_refuses_self_blocks(db: None) -> None:
    from django.db import IntegrityError, transaction

    someone = user_create(username="solo", password=PASSWORD)
    with pytest.raises(IntegrityError), transaction.atomic():
        Block.objects.create(owner=someone, blocked=someone)
    with pytest.raises(IntegrityError), transaction.atomic():
        Mute.objects.create(owner=someone, muted=someone)


# --- follows -------------------------------------------------------------------------------------------------


@DIRECTIONS
def test_blocking_removes_follows_both_ways_and_prevents_new_ones(
    api: Client, other_api: Client, user: User, other_user: User, alice_blocks: bool
) -> None:
    services.follow_create(follower=user, followee=other_user)
    services.follow_create(follower=other_user, followee=user)
    assert counts(user) == (1, 1) and counts(other_user) == (1, 1)
    assert Notification.objects.filter(owner__in=[user, other_user]).count() == 2

    block(user, other_user, alice_blocks)
    assert not Follow.objects.exists()
    assert counts(user) == (0, 0) and counts(other_user) == (0, 0)
    assert not Notification.objects.exists()
    assert_error(api.post("/api/users/bob/follow"), 403, "blocked")
    assert_error(other_api.post("/api/users/alice/follow"), 403, "blocked")
    assert not Follow.objects.exists()

    unblock(user, other_user, alice_blocks)
    assert not Follow.objects.exists(), "unblocking does not bring the follows back"
    assert counts(user) == (0, 0)
    assert api.post("/api/users/bob/follow").status_code == 201
    assert counts(other_user) == (1, 0)


def test_blocking_withdraws_a_pending_request(user: User, other_user: User) -> None:
    services.account_privacy_set(user=other_user, is_private=True)
    services.follow_create(follower=user, followee=other_user)
    assert Notification.objects.filter(owner=other_user, actor=user).exists()
    services.block_create(blocker=other_user, blocked=user)
    assert not Follow.objects.exists() and not Notification.objects.exists()
    assert counts(other_user) == (0, 0) and counts(user) == (0, 0)


# --- profiles and videos -------------------------------------------------------------------------------------


@DIRECTIONS
def test_a_blocked_pair_cannot_see_each_others_profile_or_videos(
    api: Client,
    other_api: Client,
    carol_api: Client,
    client: Client,
    user: User,
    other_user: User,
    alice_blocks: bool,
) -> None:
    bobs = make_video(other_user)
    alices = make_video(user)
    block(user, other_user, alice_blocks)

    for viewer_api, name, video in ((api, "bob", bobs), (other_api, "alice", alices)):
        assert_error(viewer_api.get(f"/api/users/{name}"), 404, "not_found")
        assert_error(viewer_api.get(f"/api/videos/by/{name}"), 404, "not_found")
        assert_error(viewer_api.get(f"/api/users/{name}/followers"), 404, "not_found")
        assert_error(viewer_api.get(f"/api/videos/{video.id}"), 404, "not_found")
        assert_error(viewer_api.get(f"/api/videos/{video.id}/comments"), 404, "not_found")
        assert str(video.id) not in ids(viewer_api.get("/api/videos").json()["items"])
    # Both still see their own, and everyone else sees both.
    assert api.get(f"/api/videos/{alices.id}").status_code == 200
    assert ids(carol_api.get("/api/videos").json()["items"]) == {str(bobs.id), str(alices.id)}
    assert client.get("/api/users/bob").status_code == 200
    assert [v["id"] for v in carol_api.get("/api/videos/by/alice").json()] == [str(alices.id)]

    unblock(user, other_user, alice_blocks)
    assert api.get("/api/users/bob").json()["username"] == "bob"
    assert [v["id"] for v in api.get("/api/videos/by/bob").json()] == [str(bobs.id)]
    assert other_api.get(f"/api/videos/{alices.id}").status_code == 200
    assert ids(other_api.get("/api/videos").json()["items"]) == {str(bobs.id), str(alices.id)}


@DIRECTIONS
def test_selectors_hide_a_blocked_pair_in_one_place(user: User, other_user: User, alice_blocks: bool) -> None:
    staff = user_create(username="staffer", password=PASSWORD)
    User.objects.filter(id=staff.id).update(is_staff=True)
    staff.refresh_from_db()
    bobs = Video.objects.select_related("owner").get(id=make_video(other_user).id)
    assert can_view(bobs, user)
    block(user, other_user, alice_blocks)
    assert blocked_between(user.id, other_user.id) and blocked_between(other_user.id, user.id)
    assert hidden_author_ids(user) == {other_user.id} and hidden_author_ids(other_user) == {user.id}
    assert not can_view(bobs, user)
    assert can_view(bobs, other_user) and can_view(bobs, staff)
    assert videos_of_owner(owner_id=other_user.id, viewer=user) == []
    assert [v.id for v in videos_of_owner(owner_id=other_user.id, viewer=other_user)] == [bobs.id]
    assert list(videos_public(viewer=user)) == []
    assert [v.id for v in videos_public(viewer=staff)] == [bobs.id]


@DIRECTIONS
def test_a_blocked_pair_gets_no_media(
    client_for_media: Any, media_store: ObjectStore, user: User, other_user: User, alice_blocks: bool
) -> None:
    video = make_video(other_user)
    Video.objects.filter(id=video.id).update(media_prefix=f"videos/{video.id}/a1/")
    media_store.put(f"videos/{video.id}/a1/poster.jpg", b"\xff\xd8jpeg")
    url = f"/media/videos/{video.id}/poster.jpg"
    alice = client_for_media(user)
    assert alice.get(url).status_code == 200
    block(user, other_user, alice_blocks)
    assert alice.get(url).status_code == 404
    assert client_for_media(other_user).get(url).status_code == 200
    unblock(user, other_user, alice_blocks)
    assert alice.get(url).status_code == 200


@pytest.fixture
def client_for_media() -> Any:
    """Media URLs are page URLs: they authenticate with the session, like a browser."""

    def _client(account: User) -> Client:
        browser = Client()
        browser.force_login(account)
        return browser

    return _client


# --- comments, likes, bookmarks ------------------------------------------------------------------------------


@DIRECTIONS
def test_comments_of_a_blocked_pair_are_hidden_from_each_other(
    api: Client,
    other_api: Client,
    carol_api: Client,
    user: User,
    other_user: User,
    carol: User,
    alice_blocks: bool,
) -> None:
    video = make_video(carol)
    alices = api.post(f"/api/videos/{video.id}/comments", {"body": "alice"}, content_type="application/json").json()
    bobs = other_api.post(f"/api/videos/{video.id}/comments", {"body": "bob"}, content_type="application/json").json()
    reply = other_api.post(
        f"/api/videos/{video.id}/comments", {"body": "bob replies", "parent_id": alices["id"]},
        content_type="application/json",
    ).json()  # fmt: skip
    block(user, other_user, alice_blocks)

    def listed(client: Client) -> set[str]:
        return ids(client.get(f"/api/videos/{video.id}/comments").json()["items"])

    assert listed(api) == {alices["id"]}
    assert listed(other_api) == {bobs["id"]}
    assert listed(carol_api) == {alices["id"], bobs["id"]}
    assert ids(api.get(f"/api/comments/{alices['id']}/replies").json()["items"]) == set()
    assert ids(carol_api.get(f"/api/comments/{alices['id']}/replies").json()["items"]) == {reply["id"]}
    # Acting on the other's comment: as if it did not exist.
    assert_error(api.put(f"/api/comments/{bobs['id']}/like"), 404, "not_found")
    assert_error(other_api.put(f"/api/comments/{alices['id']}/like"), 404, "not_found")
    assert_error(other_api.get(f"/api/comments/{alices['id']}/replies"), 404, "not_found")
    assert_error(
        other_api.post(
            f"/api/videos/{video.id}/comments", {"body": "again", "parent_id": alices["id"]},
            content_type="application/json",
        ),
        404, "not_found",
    )  # fmt: skip
    assert carol_api.put(f"/api/comments/{bobs['id']}/like").status_code == 200

    unblock(user, other_user, alice_blocks)
    assert listed(api) == {alices["id"], bobs["id"]}
    assert api.put(f"/api/comments/{bobs['id']}/like").json() == {"active": True, "count": 2}


@DIRECTIONS
def test_likes_bookmarks_and_comments_on_a_blocked_accounts_video_are_not_found(
    api: Client, user: User, other_user: User, alice_blocks: bool
) -> None:
    video = make_video(other_user)
    assert api.put(f"/api/videos/{video.id}/bookmark").status_code == 200
    block(user, other_user, alice_blocks)
    for method, path in (
        (api.put, "like"),
        (api.delete, "like"),
        (api.put, "bookmark"),
        (api.delete, "bookmark"),
    ):
        assert_error(method(f"/api/videos/{video.id}/{path}"), 404, "not_found")
    response = api.post(f"/api/videos/{video.id}/comments", {"body": "hi"}, content_type="application/json")
    assert_error(response, 404, "not_found")
    # The bookmark made before stays, but its video is not listed while the block lasts.
    assert api.get("/api/me/bookmarks").json() == []
    video.refresh_from_db()
    assert (video.like_count, video.comment_count, video.bookmark_count) == (0, 0, 1)
    unblock(user, other_user, alice_blocks)
    assert [v["id"] for v in api.get("/api/me/bookmarks").json()] == [str(video.id)]
    assert api.put(f"/api/videos/{video.id}/like").json() == {"active": True, "count": 1}


# --- feeds ---------------------------------------------------------------------------------------------------


def feed_ids(client: Client, name: str) -> set[str]:
    response = client.get(f"/api/feed/{name}")
    assert response.status_code == 200, response.content[:300]
    return ids(response.json()["items"])


@DIRECTIONS
def test_feeds_leave_out_a_blocked_pair(
    api: Client, other_api: Client, user: User, other_user: User, carol: User, alice_blocks: bool
) -> None:
    bobs, alices, carols = make_video(other_user), make_video(user), make_video(carol)
    services.follow_create(follower=user, followee=other_user)
    services.follow_create(follower=other_user, followee=user)
    # For You never offers the viewer their own videos.
    assert feed_ids(api, "for-you") == {str(bobs.id), str(carols.id)}
    assert feed_ids(other_api, "for-you") == {str(alices.id), str(carols.id)}
    assert feed_ids(api, "following") == {str(bobs.id)}

    block(user, other_user, alice_blocks)
    assert feed_ids(api, "for-you") == {str(carols.id)}
    assert feed_ids(other_api, "for-you") == {str(carols.id)}
    assert feed_ids(api, "following") == set() and feed_ids(other_api, "following") == set()

    unblock(user, other_user, alice_blocks)
    assert feed_ids(api, "for-you") == {str(bobs.id), str(carols.id)}
    assert feed_ids(api, "following") == set(), "the follow the block removed stays removed"


def test_muting_quiets_feeds_but_not_the_profile(
    api: Client, user: User, other_user: User, carol: User, carol_api: Client
) -> None:
    bobs, carols = make_video(other_user), make_video(carol)
    services.follow_create(follower=user, followee=other_user)
    assert api.put("/api/users/bob/mute").status_code == 201
    assert feed_ids(api, "for-you") == {str(carols.id)}
    assert feed_ids(api, "following") == set()
    # Only the muter's feeds change.
    assert feed_ids(carol_api, "for-you") == {str(bobs.id)}
    # The profile, its videos and the follow stay.
    assert api.get("/api/users/bob").status_code == 200
    assert [v["id"] for v in api.get("/api/videos/by/bob").json()] == [str(bobs.id)]
    assert api.get(f"/api/videos/{bobs.id}").status_code == 200
    assert str(bobs.id) in ids(api.get("/api/videos").json()["items"])
    assert Follow.objects.filter(owner=user, followee=other_user).exists()
    assert api.delete("/api/users/bob/mute").status_code == 204
    assert feed_ids(api, "following") == {str(bobs.id)}
    assert feed_ids(api, "for-you") == {str(bobs.id), str(carols.id)}


# --- search --------------------------------------------------------------------------------------------------


@DIRECTIONS
def test_search_leaves_out_a_blocked_pair_but_finds_muted_accounts(
    api: Client, other_api: Client, user: User, other_user: User, carol: User, alice_blocks: bool
) -> None:
    video_update(video=make_video(other_user), editor=other_user, caption="sunset #beach")
    video_update(video=make_video(user), editor=user, caption="sunset #beach too")
    video_update(video=make_video(carol), editor=carol, caption="sunset over the #beach")
    services.mute_create(muter=user, muted=carol)

    def names(client: Client, q: str) -> set[str]:
        return {a["username"] for a in client.get("/api/search", {"q": q, "type": "accounts"}).json()["accounts"]}

    def authors(client: Client) -> set[str]:
        body = client.get("/api/search", {"q": "sunset", "type": "videos"}).json()
        return {v["author"]["username"] for v in body["videos"]}

    assert names(api, "bob") == {"bob"} and authors(api) == {"alice", "bob", "carol"}
    block(user, other_user, alice_blocks)
    assert names(api, "bob") == set() and names(other_api, "alice") == set()
    assert names(api, "carol") == {"carol"}, "a muted account can still be found"
    assert authors(api) == {"alice", "carol"} and authors(other_api) == {"bob", "carol"}
    tag = api.get("/api/search/hashtags/beach/videos").json()["items"]
    assert {v["author"]["username"] for v in tag} == {"alice", "carol"}
    hashtags = api.get("/api/search", {"q": "beach", "type": "hashtags"}).json()["hashtags"]
    assert [(h["name"], h["video_count"]) for h in hashtags] == [("beach", 2)]
    assert [u.username for u in search(query="bob", viewer=user, types=("accounts",)).accounts] == []

    unblock(user, other_user, alice_blocks)
    assert names(api, "bob") == {"bob"} and authors(other_api) == {"alice", "bob", "carol"}


# --- notifications and watch events --------------------------------------------------------------------------


def test_no_notifications_from_a_muted_account(api: Client, user: User, other_user: User, other_api: Client) -> None:
    video = make_video(user)
    api.put("/api/users/bob/mute")
    assert other_api.put(f"/api/videos/{video.id}/like").status_code == 200
    assert other_api.post(f"/api/videos/{video.id}/comments", {"body": "hi"}, content_type="application/json")
    assert other_api.post("/api/users/alice/follow").status_code == 201
    assert not Notification.objects.filter(owner=user).exists()
    assert Follow.objects.filter(owner=other_user, followee=user).exists(), "a mute does not stop the follow"
    # The mute is one-way: alice's actions still reach bob.
    bobs = make_video(other_user)
    assert api.put(f"/api/videos/{bobs.id}/like").status_code == 200
    assert Notification.objects.filter(owner=other_user, actor=user).count() == 1
    api.delete("/api/users/bob/mute")
    other_api.delete(f"/api/videos/{video.id}/like")
    other_api.put(f"/api/videos/{video.id}/like")
    assert Notification.objects.filter(owner=user, actor=other_user, kind="like").count() == 1
    assert api.get("/api/notifications").json()["items"][0]["actor"]["username"] == "bob"


@DIRECTIONS
def test_no_notifications_between_a_blocked_pair(user: User, other_user: User, alice_blocks: bool) -> None:
    assert notification_create(recipient_id=user.id, actor_id=other_user.id, kind="follow") is not None
    block(user, other_user, alice_blocks)
    assert not Notification.objects.exists(), "blocking deletes what the two sent each other"
    assert notification_create(recipient_id=user.id, actor_id=other_user.id, kind="follow") is None
    assert notification_create(recipient_id=other_user.id, actor_id=user.id, kind="follow") is None
    assert not Notification.objects.exists()
    unblock(user, other_user, alice_blocks)
    assert notification_create(recipient_id=user.id, actor_id=other_user.id, kind="follow") is not None


@DIRECTIONS
def test_watch_events_about_a_blocked_accounts_videos_are_dropped(
    api: Client, user: User, other_user: User, carol: User, alice_blocks: bool
) -> None:
    bobs, carols = make_video(other_user), make_video(carol)
    block(user, other_user, alice_blocks)
    events = [{"video_id": str(bobs.id), "kind": "impression"}, {"video_id": str(carols.id), "kind": "watch"}]
    response = api.post("/api/events", {"events": events}, content_type="application/json")
    assert response.status_code == 202
    body = response.json()
    assert body["stored"] == 1
    assert [(d["index"], d["code"]) for d in body["dropped"]] == [(0, "video_not_found")]


# --- query counts --------------------------------------------------------------------------------------------


def _block_many(account: User, start: int, n: int) -> None:
    for i in range(start, start + n):
        other = user_create(username=f"blocked{account.username}{i}", password=PASSWORD)
        make_video(other, caption=f"crowd {i}")
        if i % 2:
            services.block_create(blocker=account, blocked=other)
        else:
            services.block_create(blocker=other, blocked=account)
        services.mute_create(muter=account, muted=other)


@pytest.mark.parametrize(
    ("path", "params", "budget"),
    [
        ("/api/feed/for-you", {}, 24),
        ("/api/feed/following", {}, 8),
        ("/api/search", {"q": "crowd"}, 14),
        ("/api/videos", {}, 9),
    ],
)
def test_listings_cost_the_same_queries_whatever_the_number_of_blocks(
    user: User, carol: User, django_assert_max_num_queries: Any, path: str, params: dict[str, str], budget: int
) -> None:
    for i in range(5):
        video_update(video=make_video(carol), editor=carol, caption=f"crowd visible {i}")
    services.follow_create(follower=user, followee=carol)
    viewer = client_for(user)
    _block_many(user, 0, 2)
    with django_assert_max_num_queries(budget):
        few = viewer.get(path, params).json()
    _block_many(User.objects.get(id=user.id), 2, 30)
    with django_assert_max_num_queries(budget):
        many = viewer.get(path, params).json()
    shown = many["items"] if "items" in many else many["videos"]
    assert shown and {v["author"]["username"] for v in shown} == {"carol"}
    assert (few.get("items") or few["videos"]) == shown


def test_admin_lists_blocks_and_mutes(user: User, other_user: User) -> None:
    admin_user = user_create(username="admin", password=PASSWORD)
    User.objects.filter(id=admin_user.id).update(is_staff=True, is_superuser=True)
    services.block_create(blocker=user, blocked=other_user)
    services.mute_create(muter=other_user, muted=user)
    browser = Client()
    browser.force_login(User.objects.get(id=admin_user.id))
    blocks = browser.get("/admin/relations/block/")
    assert blocks.status_code == 200 and b"alice" in blocks.content and b"bob" in blocks.content
    mutes = browser.get("/admin/relations/mute/")
    assert mutes.status_code == 200 and b"bob" in mutes.content
    assert browser.get("/admin/relations/block/add/").status_code == 403


def test_the_profile_page_is_missing_for_a_blocked_pair(user: User, other_user: User) -> None:
    services.block_create(blocker=user, blocked=other_user)
    for viewer, target in ((user, "bob"), (other_user, "alice")):
        browser = Client()
        browser.force_login(viewer)
        assert browser.get(f"/@{target}").status_code == 404
    assert Client().get("/@alice").status_code == 200


def test_follows_and_hidden_accounts_come_in_one_query(
    user: User, other_user: User, django_assert_num_queries: Any
) -> None:
    followed = user_create(username="followed", password=PASSWORD)
    pending = user_create(username="pending", password=PASSWORD)
    User.objects.filter(id=pending.id).update(is_private=True)
    pending.refresh_from_db()
    blocker = user_create(username="blocker", password=PASSWORD)
    muted = user_create(username="muted", password=PASSWORD)
    services.follow_create(follower=user, followee=followed)
    services.follow_create(follower=user, followee=pending)  # a request, not a follow yet
    services.follow_create(follower=user, followee=muted)
    services.mute_create(muter=user, muted=muted)
    services.block_create(blocker=user, blocked=other_user)
    services.block_create(blocker=blocker, blocked=user)
    services.mute_create(muter=followed, muted=user)  # one-way: hides nothing from user
    with django_assert_num_queries(1):
        follows, hidden = followed_and_hidden(user)
    assert follows == {followed.id, muted.id}
    assert hidden == {other_user.id, blocker.id, muted.id} == hidden_author_ids(user)
    assert followed_and_hidden(other_user) == (set(), {user.id})


# --- the cached relations ------------------------------------------------------------------------------------


def _fresh(viewer: User) -> tuple[set[Any], set[Any]]:
    """What the database says now, bypassing the cache."""
    return _relations_of(viewer, follows=True, muted=True)


def test_relations_are_read_once_then_come_from_the_cache(
    user: User, other_user: User, django_assert_num_queries: Any
) -> None:
    services.follow_create(follower=user, followee=other_user)
    with django_assert_num_queries(1):
        assert followed_and_hidden(user) == ({other_user.id}, set())
    with django_assert_num_queries(0):
        assert followed_and_hidden(user) == ({other_user.id}, set())
        assert hidden_author_ids(user) == set()


def test_every_change_to_follows_blocks_and_mutes_reaches_both_sides_at_once(
    user: User, other_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    carol = user_create(username="carol", password=PASSWORD)
    private = user_create(username="private", password=PASSWORD)
    services.account_privacy_set(user=private, is_private=True)
    people = (user, other_user, carol, private)

    def read_all() -> None:  # cache everybody's relations as they are now
        for person in people:
            followed_and_hidden(person)

    def step(change: Any) -> None:
        read_all()
        with django_capture_on_commit_callbacks(execute=True):
            change()
        for person in people:
            assert followed_and_hidden(person) == _fresh(person), (change, person.username)

    step(lambda: services.follow_create(follower=user, followee=other_user))
    step(lambda: services.follow_create(follower=carol, followee=private))  # a request: nothing changes yet
    request_id = Follow.objects.get(owner=carol, followee=private).id
    step(lambda: services.follow_request_approve(account=private, request_id=request_id))  # an update(), no signal
    step(lambda: services.follow_create(follower=user, followee=private))
    step(lambda: services.account_privacy_set(user=private, is_private=False))  # approves in bulk
    assert user.id in {f.owner_id for f in Follow.objects.filter(followee=private, status="accepted")}
    step(lambda: services.mute_create(muter=user, muted=carol))
    step(lambda: services.block_create(blocker=other_user, blocked=user))  # hidden from the blocked side too
    assert followed_and_hidden(user)[1] == {carol.id, other_user.id}
    step(lambda: services.block_delete(blocker=other_user, blocked=user))
    step(lambda: services.mute_delete(muter=user, muted=carol))
    step(lambda: services.follow_delete(follower=user, followee=private))
    step(lambda: Block.objects.create(owner=carol, blocked=user))  # written elsewhere (the admin, say): a signal
    step(lambda: User.objects.filter(id=carol.id).delete())  # an account deleted: its relations cascade


def test_relations_cached_under_a_lost_generation_are_never_read(user: User, other_user: User) -> None:
    from django.core.cache import cache

    from reelm.relations.selectors import _generation_key

    assert followed_and_hidden(user) == (set(), set())
    # A write no signal saw, then the cache loses the generation (evicted): the stale entry must not come back.
    Follow.objects.create(owner=user, followee=other_user, status="accepted")
    Follow.objects.filter(owner=user).update(status="accepted")  # (the create's signal already moved it on)

    cache.delete(_generation_key(user.id))
    Follow.objects.filter(owner=user).update(status="pending")  # no signal: only a new generation can tell
    assert followed_and_hidden(user) == (set(), set())
