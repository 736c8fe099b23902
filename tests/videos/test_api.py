"""The JSON API: one error shape for every failure, authentication, ownership, editing, deleting and paging."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.core.ids import uuid7
from reelm.storage.base import ObjectStore
from reelm.videos.api import PAGE_SIZE
from reelm.videos.models import Hashtag, Mention, Video, VideoHashtag
from tests.helpers import assert_error


def make_video(owner: User, *, caption: str = "", visibility: str = "public", state: str = "ready") -> Video:
    """A video row without media: enough for paging, editing and permission checks."""
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


def patch(client: Client, video_id: Any, payload: Any) -> Any:
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.patch(f"/api/videos/{video_id}", body, content_type="application/json")


# --- the error shape everywhere ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api/videos/by", "/api/videos/01890000-0000-7000-8000-000000000000/extra", "/api/"]
)
def test_unknown_api_path_is_a_json_404(client: Client, path: str) -> None:
    assert_error(client.get(path), 404, "not_found")


def test_unknown_api_path_is_a_json_404_for_a_signed_in_client_too(api: Client) -> None:
    assert_error(api.post("/api/nope", {}), 404, "not_found")
    assert_error(api.get("/api/videos/by/alice/more"), 404, "not_found")


def test_wrong_method_is_a_json_405(api: Client) -> None:
    assert_error(api.put("/api/videos", "{}", content_type="application/json"), 405, "method_not_allowed")


def test_pages_outside_the_api_keep_their_html_404(client: Client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("video_id", [str(uuid7()), "not-a-uuid", "123", "' OR 1=1 --", "0" * 36])
def test_unknown_or_malformed_video_id_is_a_json_404(client: Client, api: Client, video_id: str) -> None:
    assert_error(client.get(f"/api/videos/{video_id}"), 404, "not_found")
    assert_error(patch(api, video_id, {"caption": "x"}), 404, "not_found")
    assert_error(api.delete(f"/api/videos/{video_id}"), 404, "not_found")


def test_unknown_video_page_is_404(client: Client, db: None) -> None:
    assert client.get(f"/v/{uuid7()}").status_code == 404
    assert client.get("/v/not-a-uuid").status_code == 404


def test_unknown_author_is_a_json_404(client: Client, db: None) -> None:
    assert_error(client.get("/api/videos/by/nobody"), 404, "not_found")


# --- authentication ----------------------------------------------------------------------------------------


def test_writes_without_authentication_are_json_401(client: Client, user: User) -> None:
    video = make_video(user, caption="before")
    assert_error(patch(client, video.id, {"caption": "after"}), 401, "unauthenticated")
    assert_error(client.delete(f"/api/videos/{video.id}"), 401, "unauthenticated")
    assert_error(client.get("/api/me"), 401, "unauthenticated")
    video.refresh_from_db()
    assert video.caption == "before"


@pytest.mark.parametrize(
    "header", ["Bearer reelm_forged", "Bearer ", "Basic YWxpY2U6c2VjcmV0", "reelm_no_scheme", "Bearer reelm_\x7f"]
)
def test_bad_credentials_are_json_401(user: User, header: str) -> None:
    video = make_video(user, caption="before")
    client = Client(headers={"Authorization": header})
    assert_error(patch(client, video.id, {"caption": "after"}), 401, "unauthenticated")
    assert_error(client.delete(f"/api/videos/{video.id}"), 401, "unauthenticated")
    assert Video.objects.get(id=video.id).caption == "before"


def test_session_write_needs_a_csrf_token(user: User) -> None:
    video = make_video(user, caption="before")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert_error(patch(browser, video.id, {"caption": "after"}), 403, "forbidden")
    assert Video.objects.get(id=video.id).caption == "before"
    browser.get("/")  # the home page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.patch(
        f"/api/videos/{video.id}", json.dumps({"caption": "after"}), "application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200, response.content
    assert Video.objects.get(id=video.id).caption == "after"


# --- malformed and invalid bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ['{"caption": ', "{'caption': 'x'}", "caption=x", "\x00\xff", '{"caption": "x"} trailing', "[1, 2]", "null", '"x"'],
)
def test_malformed_json_is_a_400(api: Client, user: User, body: str) -> None:
    video = make_video(user, caption="before")
    assert_error(patch(api, video.id, body), 400, "malformed_json")
    assert Video.objects.get(id=video.id).caption == "before"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"caption": 5}, "caption"),
        ({"caption": ["a"]}, "caption"),
        ({"visibility": {"x": 1}}, "visibility"),
        ({"caption": None, "visibility": 3}, "visibility"),
    ],
)
def test_invalid_body_is_a_422_validation_error(api: Client, user: User, payload: Any, field: str) -> None:
    video = make_video(user, caption="before")
    response = patch(api, video.id, payload)
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert error["details"] and all(set(detail) == {"field", "message"} for detail in error["details"])
    assert any(field in detail["field"] for detail in error["details"])
    assert Video.objects.get(id=video.id).caption == "before"


@pytest.mark.parametrize("cursor", ["garbage", "1", "01890000-0000-7000-8000-00000000000Z"])
def test_bad_cursor_is_a_422_validation_error(client: Client, cursor: str) -> None:
    response = client.get("/api/videos", {"cursor": cursor})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"


def test_edit_with_invalid_values_is_refused_and_changes_nothing(api: Client, user: User) -> None:
    video = make_video(user, caption="before #old")
    assert_error(patch(api, video.id, {"visibility": "everyone"}), 400, "invalid_visibility")
    assert_error(patch(api, video.id, {"caption": "a" * 2201}), 400, "caption_too_long")
    assert_error(patch(api, video.id, {"caption": "#new", "visibility": "nope"}), 400, "invalid_visibility")
    video.refresh_from_db()
    assert (video.caption, video.visibility) == ("before #old", "public")


# --- other people's videos ---------------------------------------------------------------------------------


def test_someone_elses_private_video_is_hidden_everywhere(
    api: Client, other_api: Client, client: Client, user: User, other_user: User
) -> None:
    video = make_video(user, caption="mine", visibility="private")
    for viewer in (other_api, client):
        assert_error(viewer.get(f"/api/videos/{video.id}"), 404, "not_found")
    assert_error(patch(other_api, video.id, {"caption": "hacked"}), 404, "not_found")
    assert_error(other_api.delete(f"/api/videos/{video.id}"), 404, "not_found")
    assert api.get(f"/api/videos/{video.id}").status_code == 200  # the owner, by token
    # The web page: 404 for a stranger (signed in or not), 200 for the owner's browser session.
    assert client.get(f"/v/{video.id}").status_code == 404
    stranger = Client()
    stranger.force_login(other_user)
    assert stranger.get(f"/v/{video.id}").status_code == 404
    owner = Client()
    owner.force_login(user)
    assert owner.get(f"/v/{video.id}").status_code == 200
    # Lists do not show it to others either.
    assert other_api.get("/api/videos/by/alice").json() == []
    assert client.get("/api/videos").json()["items"] == []
    assert [v["id"] for v in api.get("/api/videos/by/alice").json()] == [str(video.id)]
    video.refresh_from_db()
    assert video.caption == "mine"


@pytest.mark.parametrize("state", ["uploaded", "processing", "failed"])
def test_unfinished_videos_are_hidden_from_others(client: Client, api: Client, user: User, state: str) -> None:
    video = make_video(user, state=state)
    assert_error(client.get(f"/api/videos/{video.id}"), 404, "not_found")
    assert api.get(f"/api/videos/{video.id}").json()["state"] == state


def test_someone_elses_public_video_cannot_be_edited_or_deleted(other_api: Client, user: User) -> None:
    video = make_video(user, caption="mine #tag")
    assert other_api.get(f"/api/videos/{video.id}").status_code == 200
    assert_error(patch(other_api, video.id, {"caption": "hacked", "visibility": "private"}), 403, "forbidden")
    assert_error(other_api.delete(f"/api/videos/{video.id}"), 403, "forbidden")
    video.refresh_from_db()
    assert (video.caption, video.visibility) == ("mine #tag", "public")


# --- editing -----------------------------------------------------------------------------------------------


def test_edit_caption_reparses_hashtags_and_mentions(api: Client, user: User, other_user: User) -> None:
    video = make_video(user)
    response = patch(api, video.id, {"caption": "first #One #two @bob"})
    assert response.status_code == 200, response.content
    assert response.json()["hashtags"] == ["one", "two"] and response.json()["mentions"] == ["bob"]

    response = patch(api, video.id, {"caption": "then #Two #three\x00\x07 @ghost"})
    body = response.json()
    assert body["caption"] == "then #Two #three @ghost"  # control characters are dropped
    assert body["hashtags"] == ["two", "three"]
    assert body["mentions"] == []
    assert sorted(VideoHashtag.objects.filter(video=video).values_list("hashtag__name", flat=True)) == [
        "three",
        "two",
    ]
    assert not Mention.objects.filter(video=video).exists()
    assert Hashtag.objects.filter(name="one").exists()  # shared tags outlive one video's use of them

    # Changing only the visibility leaves the caption and its links alone.
    body = patch(api, video.id, {"visibility": "followers"}).json()
    assert (body["visibility"], body["caption"], body["hashtags"]) == (
        "followers",
        "then #Two #three @ghost",
        ["two", "three"],
    )
    assert patch(api, video.id, {}).json()["caption"] == "then #Two #three @ghost"


def test_edit_visibility_hides_and_shows_a_video(api: Client, client: Client, user: User) -> None:
    video = make_video(user)
    assert client.get(f"/api/videos/{video.id}").status_code == 200
    assert patch(api, video.id, {"visibility": "private"}).json()["visibility"] == "private"
    assert_error(client.get(f"/api/videos/{video.id}"), 404, "not_found")
    assert client.get("/api/videos").json()["items"] == []
    assert patch(api, video.id, {"visibility": "public"}).status_code == 200
    assert client.get(f"/api/videos/{video.id}").status_code == 200


# --- deleting ----------------------------------------------------------------------------------------------


def test_delete_removes_the_row_and_every_object(
    api: Client,
    other_user: User,
    clips: dict[str, Path],
    upload: Any,
    media_store: ObjectStore,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    doomed = upload(api, clips["silent"], caption="bye #gone @bob").json()["id"]
    kept = upload(api, clips["silent"], caption="stay #gone").json()["id"]
    keys = [info.key for info in media_store.list()]
    for video_id in (doomed, kept):
        assert any(key.startswith(f"originals/{video_id}/") for key in keys)
        assert any(key.startswith(f"videos/{video_id}/") and key.endswith("video.mp4") for key in keys)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/videos/{doomed}")
    assert response.status_code == 204
    assert not Video.objects.filter(id=doomed).exists()
    assert not VideoHashtag.objects.filter(video_id=doomed).exists()
    assert not Mention.objects.filter(video_id=doomed).exists()
    remaining = [info.key for info in media_store.list()]
    assert not any(doomed in key for key in remaining), remaining
    # The other video, its objects and the shared hashtag are untouched.
    assert sorted(remaining) == sorted(key for key in keys if doomed not in key)
    assert Hashtag.objects.filter(name="gone").exists()
    assert api.get(f"/api/videos/{kept}").json()["state"] == "ready"
    assert api.get(f"/media/videos/{kept}/video.mp4").status_code == 200
    # Gone means gone: its API, page and media answer 404.
    assert_error(api.get(f"/api/videos/{doomed}"), 404, "not_found")
    assert_error(api.delete(f"/api/videos/{doomed}"), 404, "not_found")
    assert api.get(f"/media/videos/{doomed}/video.mp4").status_code == 404


def test_staff_may_delete_any_video(user: User, other_user: User) -> None:
    video = make_video(other_user)
    user.is_staff = True
    user.save()
    staff = Client()
    staff.force_login(user)
    assert staff.delete(f"/api/videos/{video.id}").status_code == 204
    assert not Video.objects.filter(id=video.id).exists()


# --- listing -----------------------------------------------------------------------------------------------


def test_list_pages_by_cursor(client: Client, user: User, other_user: User) -> None:
    public = []
    for index in range(2 * PAGE_SIZE + 5):
        owner = user if index % 2 else other_user
        public.append(make_video(owner, caption=f"#n{index}"))
        if index % 7 == 0:  # interleave videos the public list must skip
            make_video(owner, visibility="private")
            make_video(owner, visibility="followers")
            make_video(owner, state="processing")
            make_video(owner, state="failed")
    expected = [str(v.id) for v in sorted(public, key=lambda v: v.id, reverse=True)]

    first = client.get("/api/videos").json()
    assert set(first) == {"items", "next_cursor"}
    assert [v["id"] for v in first["items"]] == expected[:PAGE_SIZE]
    assert first["next_cursor"] == expected[PAGE_SIZE - 1]

    # A video published between two page loads does not shift the next page (an offset would).
    newest = make_video(user, caption="late")
    second = client.get("/api/videos", {"cursor": first["next_cursor"]}).json()
    assert [v["id"] for v in second["items"]] == expected[PAGE_SIZE : 2 * PAGE_SIZE]
    third = client.get("/api/videos", {"cursor": second["next_cursor"]}).json()
    assert [v["id"] for v in third["items"]] == expected[2 * PAGE_SIZE :]
    assert third["next_cursor"] is None

    # There is no offset paging: the parameter is ignored.
    again = client.get("/api/videos", {"offset": PAGE_SIZE}).json()
    assert [v["id"] for v in again["items"]] == [str(newest.id), *expected[: PAGE_SIZE - 1]]
    # A cursor past the oldest video is an empty last page.
    last = client.get("/api/videos", {"cursor": expected[-1]}).json()
    assert last == {"items": [], "next_cursor": None}


def test_list_of_exactly_one_page_has_no_next_cursor(client: Client, user: User) -> None:
    for _ in range(PAGE_SIZE):
        make_video(user)
    page = client.get("/api/videos").json()
    assert len(page["items"]) == PAGE_SIZE
    assert page["next_cursor"] is None
