"""Who sees what: followers-only videos and private accounts (TikTok's rules), everywhere videos are shown."""

from __future__ import annotations

from django.test import Client

from reelm.accounts.models import User
from reelm.relations import services
from reelm.social.models import Like
from reelm.videos.models import Video
from reelm.videos.selectors import can_view
from tests.helpers import assert_error
from tests.social.conftest import make_video


def listed_ids(client: Client, path: str) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200, response.content
    data = response.json()
    items = data["items"] if isinstance(data, dict) else data
    return {v["id"] for v in items}


def test_followers_only_videos_are_for_accepted_followers(
    api: Client, client: Client, carol_api: Client, user: User, other_user: User, carol: User
) -> None:
    video = make_video(other_user, visibility="followers")
    assert not can_view(video, user) and not can_view(video, None)
    assert_error(api.get(f"/api/videos/{video.id}"), 404, "not_found")
    assert_error(api.put(f"/api/videos/{video.id}/like"), 404, "not_found")
    services.follow_create(follower=user, followee=other_user)
    assert can_view(video, user)
    assert api.get(f"/api/videos/{video.id}").status_code == 200
    assert str(video.id) in listed_ids(api, "/api/videos/by/bob")
    assert api.put(f"/api/videos/{video.id}/like").status_code == 200
    # Not for others, and never in the public feed.
    assert_error(client.get(f"/api/videos/{video.id}"), 404, "not_found")
    assert_error(carol_api.get(f"/api/videos/{video.id}"), 404, "not_found")
    assert str(video.id) not in listed_ids(carol_api, "/api/videos/by/bob")
    assert str(video.id) not in listed_ids(api, "/api/videos")
    # Unfollowing takes it away again.
    services.follow_delete(follower=user, followee=other_user)
    assert_error(api.get(f"/api/videos/{video.id}"), 404, "not_found")
    assert_error(api.delete(f"/api/videos/{video.id}/like"), 404, "not_found")
    assert Like.objects.count() == 1  # the like stays, but cannot be seen or changed by a non-follower


def test_a_pending_request_does_not_open_followers_only_videos(api: Client, user: User, other_user: User) -> None:
    services.account_privacy_set(user=other_user, is_private=True)
    video = make_video(other_user, visibility="followers")
    follow, _ = services.follow_create(follower=user, followee=other_user)
    assert_error(api.get(f"/api/videos/{video.id}"), 404, "not_found")
    services.follow_request_approve(account=other_user, request_id=follow.id)
    assert api.get(f"/api/videos/{video.id}").status_code == 200


def test_private_accounts_public_videos_are_for_approved_followers_only(
    api: Client, client: Client, other_api: Client, user: User, other_user: User
) -> None:
    video = make_video(other_user)
    assert str(video.id) in listed_ids(client, "/api/videos")
    other_api.patch("/api/me", {"is_private": True}, content_type="application/json")
    for who in (client, api):
        assert_error(who.get(f"/api/videos/{video.id}"), 404, "not_found")
        assert str(video.id) not in listed_ids(who, "/api/videos")
        assert str(video.id) not in listed_ids(who, "/api/videos/by/bob")
        assert who.get(f"/v/{video.id}").status_code == 404
    assert_error(
        api.post(f"/api/videos/{video.id}/comments", {"body": "hi"}, content_type="application/json"), 404, "not_found"
    )
    assert_error(api.put(f"/api/videos/{video.id}/bookmark"), 404, "not_found")
    # The owner still sees everything of their own.
    assert other_api.get(f"/api/videos/{video.id}").status_code == 200
    assert str(video.id) in listed_ids(other_api, "/api/videos/by/bob")
    follow, _ = services.follow_create(follower=user, followee=other_user)
    assert_error(api.get(f"/api/videos/{video.id}"), 404, "not_found")  # still pending
    services.follow_request_approve(account=other_user, request_id=follow.id)
    assert api.get(f"/api/videos/{video.id}").status_code == 200
    assert str(video.id) in listed_ids(api, "/api/videos/by/bob")
    assert str(video.id) not in listed_ids(api, "/api/videos")  # the public feed stays public-accounts-only
    assert_error(client.get(f"/api/videos/{video.id}"), 404, "not_found")


def test_private_videos_stay_private_even_for_followers(api: Client, user: User, other_user: User) -> None:
    video = make_video(other_user, visibility="private")
    services.follow_create(follower=user, followee=other_user)
    assert not can_view(video, user)
    assert_error(api.get(f"/api/videos/{video.id}"), 404, "not_found")


def test_unfinished_followers_only_videos_stay_hidden_from_followers(user: User, other_user: User) -> None:
    services.follow_create(follower=user, followee=other_user)
    video = make_video(other_user, visibility="followers", state="processing")
    assert not can_view(video, user)
    assert can_view(video, other_user)


def test_private_accounts_media_is_not_publicly_cached(
    api: Client, other_api: Client, user: User, other_user: User
) -> None:
    from reelm.videos.selectors import is_publicly_visible

    video = make_video(other_user)
    assert is_publicly_visible(Video.objects.select_related("owner").get(id=video.id))
    services.account_privacy_set(user=other_user, is_private=True)
    assert not is_publicly_visible(Video.objects.select_related("owner").get(id=video.id))
