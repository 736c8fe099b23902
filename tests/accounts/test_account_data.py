"""Download my data, and delete my account: every row and media object goes, others' counters stay right."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from reelm.accounts.models import AccessToken, User
from reelm.relations import services as relations
from reelm.relations.models import Follow
from reelm.social import services as social
from reelm.social.models import Bookmark, Comment, Like
from reelm.storage.base import ObjectStore
from reelm.videos import services as videos
from reelm.videos.models import Video
from tests.conftest import PASSWORD
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(
    user: User, other_user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> dict[str, Any]:
    """Alice and Bob, each with a video, who like, bookmark, comment on and follow each other."""
    with django_capture_on_commit_callbacks(execute=True):
        alice_video = videos.video_create(
            owner=user, upload_path=clips["portrait"], caption="alice #mine", language="fr"
        )
        bob_video = videos.video_create(owner=other_user, upload_path=clips["landscape"], caption="bob's")
    avatar = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(avatar, "PNG")
    avatar.seek(0)
    from reelm.accounts.services import avatar_set

    with django_capture_on_commit_callbacks(execute=True):
        avatar_set(user=user, upload=avatar)
    for liker, video in ((user, bob_video), (other_user, alice_video)):
        social.like_create(user=liker, video=video)
        social.bookmark_create(user=liker, video=video)
    social.comment_create(author=user, video=bob_video, body="nice one")
    bob_comment = social.comment_create(author=other_user, video=bob_video, body="thanks for watching")
    social.comment_create(author=user, video=bob_video, body="a reply", parent=bob_comment)
    social.comment_create(author=other_user, video=alice_video, body="hello alice")
    relations.follow_create(follower=user, followee=other_user)
    relations.follow_create(follower=other_user, followee=user)
    user.refresh_from_db()
    return {"alice_video": alice_video, "bob_video": bob_video}


def test_export_holds_every_kind_of_data_and_the_originals(
    api: Client, user: User, world: dict[str, Any], media_store: ObjectStore
) -> None:
    response = api.get("/api/me/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert 'filename="reelm-alice.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    expected = {"profile.json", "videos.json", "comments.json", "likes.json", "bookmarks.json", "following.json"}
    assert expected | {"followers.json", "avatar.jpg"} <= names
    profile = json.loads(archive.read("profile.json"))
    assert profile["username"] == "alice" and profile["format"] == 1
    [video] = json.loads(archive.read("videos.json"))
    assert video["id"] == str(world["alice_video"].id) and video["hashtags"] == ["mine"]
    assert video["language"] == "fr"
    original = media_store.read_bytes(world["alice_video"].source_key)
    assert archive.read(video["original"]) == original
    assert {c["body"] for c in json.loads(archive.read("comments.json"))} == {"nice one", "a reply"}
    assert [like["video"] for like in json.loads(archive.read("likes.json"))] == [str(world["bob_video"].id)]
    assert [f["username"] for f in json.loads(archive.read("following.json"))] == ["bob"]
    assert [f["username"] for f in json.loads(archive.read("followers.json"))] == ["bob"]
    # Nothing of Bob's own is in Alice's export.
    assert not any(str(world["bob_video"].id) in name for name in names)


def test_export_needs_authentication(client: Client) -> None:
    assert_error(client.get("/api/me/export"), 401, "unauthenticated")


def test_delete_needs_the_password(api: Client, user: User, world: dict[str, Any]) -> None:
    response = api.delete("/api/me", {"password": "wrong"}, content_type="application/json")
    assert_error(response, 403, "wrong_password")
    assert User.objects.filter(id=user.id).exists() and Video.objects.filter(owner=user).exists()


def test_delete_removes_every_row_and_object_and_keeps_counters_right(
    api: Client,
    user: User,
    other_user: User,
    world: dict[str, Any],
    media_store: ObjectStore,
    django_capture_on_commit_callbacks: Any,
) -> None:
    alice_id, alice_video = user.id, world["alice_video"]
    bob_objects = {info.key for info in media_store.list() if str(world["bob_video"].id) in info.key}
    assert any(str(alice_video.id) in info.key for info in media_store.list())
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete("/api/me", {"password": PASSWORD}, content_type="application/json")
    assert response.status_code == 204
    assert not User.objects.filter(id=alice_id).exists()
    for model in (Video, Like, Bookmark, Comment, Follow, AccessToken):
        assert not model.objects.filter(owner_id=alice_id).exists(), model.__name__
    remaining = {info.key for info in media_store.list()}
    assert not any(str(alice_video.id) in key or str(alice_id) in key for key in remaining), remaining
    assert remaining == bob_objects, "Bob's media is untouched"
    bob_video = Video.objects.get(id=world["bob_video"].id)
    assert (bob_video.like_count, bob_video.bookmark_count, bob_video.comment_count) == (0, 0, 1)
    assert Comment.objects.filter(video=bob_video).count() == 1  # Bob's own comment stays
    other_user.refresh_from_db()
    assert (other_user.follower_count, other_user.following_count) == (0, 0)
    # The token died with the account.
    assert_error(api.get("/api/me"), 401, "unauthenticated")


def test_settings_page_offers_download_and_deletion(
    user: User, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    browser = Client()
    browser.force_login(user)
    page = browser.get("/settings").content.decode()
    assert 'href="/settings/export"' in page and 'action="/settings/delete"' in page
    download = browser.get("/settings/export")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    refused = browser.post("/settings/delete", {"password": "nope"}, follow=True)
    assert b"The password is not right." in refused.content
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post("/settings/delete", {"password": PASSWORD})
    assert done.status_code == 302
    assert not User.objects.filter(username="alice").exists()
    assert browser.get("/settings").status_code == 302  # logged out
