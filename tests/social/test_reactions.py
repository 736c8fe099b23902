"""Likes and bookmarks: idempotent, counted once, refused on videos the actor cannot see, shown on videos."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.social import services
from reelm.social.models import Bookmark, Like
from reelm.videos.models import Video
from tests.helpers import assert_error
from tests.social.conftest import make_video

KINDS = [("like", "like_count", Like), ("bookmark", "bookmark_count", Bookmark)]


@pytest.mark.parametrize(("kind", "counter", "model"), KINDS)
def test_react_twice_counts_once_and_undo_twice_is_fine(
    api: Client, user: User, other_user: User, kind: str, counter: str, model: type[Like]
) -> None:
    video = make_video(other_user)
    for _ in range(2):
        response = api.put(f"/api/videos/{video.id}/{kind}")
        assert response.status_code == 200
        assert response.json() == {"active": True, "count": 1}
    assert model.objects.filter(owner=user, video=video).count() == 1
    assert getattr(Video.objects.get(id=video.id), counter) == 1
    for _ in range(2):
        response = api.delete(f"/api/videos/{video.id}/{kind}")
        assert response.status_code == 200
        assert response.json() == {"active": False, "count": 0}
    assert not model.objects.exists()
    assert getattr(Video.objects.get(id=video.id), counter) == 0


def test_services_report_whether_anything_changed(user: User, other_user: User) -> None:
    video = make_video(other_user)
    assert services.like_create(user=user, video=video) is True
    assert services.like_create(user=user, video=video) is False
    assert services.like_create(user=other_user, video=video) is True
    assert Video.objects.get(id=video.id).like_count == 2
    assert services.like_delete(user=user, video=video) is True
    assert services.like_delete(user=user, video=video) is False
    assert Video.objects.get(id=video.id).like_count == 1
    assert services.bookmark_create(user=user, video=video) is True
    assert services.bookmark_create(user=user, video=video) is False
    assert Video.objects.get(id=video.id).bookmark_count == 1
    assert services.bookmark_delete(user=user, video=video) is True
    assert Video.objects.get(id=video.id).bookmark_count == 0


@pytest.mark.parametrize("kind", ["like", "bookmark"])
@pytest.mark.parametrize("method", ["put", "delete"])
def test_unknown_or_hidden_videos_are_404(api: Client, other_user: User, kind: str, method: str) -> None:
    hidden = [
        make_video(other_user, visibility="private"),
        make_video(other_user, visibility="followers"),
        make_video(other_user, state="processing"),
    ]
    for path in ["0190a3c4-0000-7000-8000-000000000000", "nope", *[str(v.id) for v in hidden]]:
        assert_error(getattr(api, method)(f"/api/videos/{path}/{kind}"), 404, "not_found")
    assert not Like.objects.exists() and not Bookmark.objects.exists()
    assert all(Video.objects.get(id=v.id).like_count == 0 for v in hidden)


def test_reactions_need_authentication(client: Client, other_user: User) -> None:
    video = make_video(other_user)
    assert_error(client.put(f"/api/videos/{video.id}/like"), 401, "unauthenticated")
    assert_error(client.put(f"/api/videos/{video.id}/bookmark"), 401, "unauthenticated")


def test_video_responses_carry_counts_and_the_viewers_reactions(
    client: Client, api: Client, other_api: Client, user: User, other_user: User
) -> None:
    video = make_video(other_user)
    api.put(f"/api/videos/{video.id}/like")
    api.put(f"/api/videos/{video.id}/bookmark")
    mine = api.get(f"/api/videos/{video.id}").json()
    assert (mine["like_count"], mine["bookmark_count"], mine["comment_count"]) == (1, 1, 0)
    assert mine["liked"] is True and mine["bookmarked"] is True
    theirs = other_api.get(f"/api/videos/{video.id}").json()
    assert theirs["liked"] is False and theirs["bookmarked"] is False and theirs["like_count"] == 1
    anonymous = client.get(f"/api/videos/{video.id}").json()
    assert anonymous["liked"] is None and anonymous["bookmarked"] is None
    listed = {v["id"]: v for v in api.get("/api/videos").json()["items"]}
    assert listed[str(video.id)]["liked"] is True
    by_author = api.get("/api/videos/by/bob").json()
    assert by_author[0]["bookmarked"] is True


def test_my_bookmarks_lists_videos_i_can_still_see(api: Client, user: User, other_user: User) -> None:
    first, second = make_video(other_user), make_video(other_user)
    services.bookmark_create(user=user, video=first)
    services.bookmark_create(user=user, video=second)
    assert [v["id"] for v in api.get("/api/me/bookmarks").json()] == [str(second.id), str(first.id)]
    Video.objects.filter(id=first.id).update(visibility="private")
    listed = api.get("/api/me/bookmarks").json()
    assert [v["id"] for v in listed] == [str(second.id)]
    assert listed[0]["bookmarked"] is True


def test_video_list_costs_a_fixed_number_of_queries(
    client: Client,
    api: Client,
    user: User,
    other_user: User,
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    from reelm.videos.models import Hashtag, Mention, VideoHashtag

    tag = Hashtag.objects.create(name="cats")
    for i in range(15):
        video = make_video(other_user if i % 2 else user, caption=f"#cats @alice {i}")
        VideoHashtag.objects.create(owner=video.owner, video=video, hashtag=tag)
        Mention.objects.create(owner=video.owner, video=video, mentioned=user)
        services.like_create(user=user, video=video)
    # token lookup (+ its last-used update), videos with authors, hashtag links, hashtags, mentions, mentioned
    # accounts, the viewer's likes and bookmarks: the same nine for any page size (an N+1 would add 15).
    with django_assert_max_num_queries(9):  # type: ignore[operator]
        items = api.get("/api/videos").json()["items"]
    assert len(items) == 15
    assert all(v["liked"] is True and v["hashtags"] == ["cats"] and v["mentions"] == ["alice"] for v in items)
    with django_assert_max_num_queries(5):  # type: ignore[operator]
        anonymous = client.get("/api/videos").json()["items"]
    assert all(v["liked"] is None and v["like_count"] == 1 for v in anonymous)
    with django_assert_max_num_queries(11):  # type: ignore[operator]
        by_author = api.get("/api/videos/by/bob").json()
    assert len(by_author) == 7 and all(v["liked"] for v in by_author)
