"""Reading notifications: the unread count, marking read, privacy, pagination, the page and the header bell."""

from __future__ import annotations

from typing import Any

from django.test import Client

from reelm.accounts.models import User
from reelm.notifications.selectors import PAGE_SIZE, unread_count
from tests.helpers import assert_error
from tests.notifications.conftest import inbox, unread
from tests.social.conftest import make_video


def _read(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/notifications/read", body, content_type="application/json")
    assert response.status_code == 200, response.content[:500]
    result: dict[str, Any] = response.json()
    return result


def test_unread_count_and_marking_read(api: Client, other_api: Client, user: User) -> None:
    videos = [make_video(user) for _ in range(3)]
    for video in videos:
        other_api.put(f"/api/videos/{video.id}/like")
    assert unread(api) == 3
    newest = inbox(api)["items"][0]["id"]
    assert _read(api, {"ids": [newest]}) == {"marked": 1, "unread": 2}
    assert [i["read"] for i in inbox(api)["items"]] == [True, False, False]
    assert _read(api, {"ids": [newest]}) == {"marked": 0, "unread": 2}  # already read
    assert _read(api, {}) == {"marked": 2, "unread": 0}
    assert all(i["read"] for i in inbox(api)["items"])
    assert unread(api) == 0


def test_others_cannot_read_or_mark_my_notifications(
    api: Client, other_api: Client, client: Client, user: User
) -> None:
    other_api.post("/api/users/alice/follow")
    mine = inbox(api)["items"][0]["id"]
    assert inbox(other_api)["items"] == []
    assert unread(other_api) == 0
    assert _read(other_api, {"ids": [mine]}) == {"marked": 0, "unread": 0}
    assert _read(other_api, {}) == {"marked": 0, "unread": 0}
    assert unread(api) == 1
    assert_error(client.get("/api/notifications"), 401, "unauthenticated")
    assert_error(client.get("/api/notifications/unread-count"), 401, "unauthenticated")
    assert_error(client.post("/api/notifications/read", {}, content_type="application/json"), 401, "unauthenticated")
    assert client.get("/notifications").status_code == 302  # the page sends visitors to log in


def test_mark_read_rejects_bad_ids(api: Client, user: User) -> None:
    response = api.post("/api/notifications/read", {"ids": ["nope"]}, content_type="application/json")
    assert_error(response, 422, "validation_error")


def test_pagination_is_newest_first_by_cursor(api: Client, other_api: Client, user: User) -> None:
    videos = [make_video(user) for _ in range(PAGE_SIZE + 5)]
    for video in videos:
        other_api.put(f"/api/videos/{video.id}/like")
    first = inbox(api)
    assert len(first["items"]) == PAGE_SIZE
    expected = [str(v.id) for v in reversed(videos)]
    assert [i["video_id"] for i in first["items"]] == expected[:PAGE_SIZE]
    assert first["next_cursor"] == first["items"][-1]["id"]
    second = inbox(api, cursor=first["next_cursor"])
    assert [i["video_id"] for i in second["items"]] == expected[PAGE_SIZE:]
    assert second["next_cursor"] is None
    assert_error(api.get("/api/notifications", {"cursor": "x"}), 422, "validation_error")


def test_unread_count_is_one_query(user: User, other_api: Client, django_assert_num_queries: Any) -> None:
    other_api.post("/api/users/alice/follow")
    with django_assert_num_queries(1):
        assert unread_count(user.id) == 1


def test_page_lists_links_and_escapes_text(client: Client, api: Client, other_api: Client, user: User) -> None:
    video = make_video(user)
    other_api.post(
        f"/api/videos/{video.id}/comments",
        {"body": "<script>alert(1)</script> & <b>bold</b>"},
        content_type="application/json",
    )
    other_api.post("/api/users/alice/follow")
    client.force_login(user)
    page = client.get("/notifications")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert f'href="/v/{video.id}"' in html
    assert 'href="/@bob"' in html
    assert html.count('class="notification ') == 2
    assert "unread" in html
    # The page's button marks everything read.
    assert client.post("/notifications/read").status_code == 302
    assert unread(api) == 0
    assert client.get("/notifications/read").status_code == 405


def test_page_paginates(client: Client, other_api: Client, user: User) -> None:
    videos = [make_video(user) for _ in range(PAGE_SIZE + 1)]
    for video in videos:
        other_api.put(f"/api/videos/{video.id}/like")
    client.force_login(user)
    html = client.get("/notifications").content.decode()
    assert html.count('class="notification ') == PAGE_SIZE
    assert f'href="/v/{videos[0].id}"' not in html
    older = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    html = client.get(f"/notifications{older}").content.decode()
    assert html.count('class="notification ') == 1
    assert f'href="/v/{videos[0].id}"' in html


def test_header_bell_shows_the_unread_count(client: Client, api: Client, other_api: Client, user: User) -> None:
    client.force_login(user)
    assert 'data-unread="' not in client.get("/").content.decode()
    assert 'href="/notifications"' in client.get("/").content.decode()
    video = make_video(user)
    other_api.put(f"/api/videos/{video.id}/like")
    other_api.post("/api/users/alice/follow")
    html = client.get("/").content.decode()
    assert 'data-unread="2"' in html
    assert "Notifications, 2 unread" in html
    _read(api, {})
    assert 'data-unread="' not in client.get("/").content.decode()
    # Visitors get no bell.
    client.logout()
    assert 'href="/notifications"' not in client.get("/").content.decode()
