"""The feed API and pages: shapes, authentication, error shape, query bounds."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from ninja.responses import NinjaJSONEncoder

from reelm.accounts.models import User
from reelm.accounts.services import token_create
from reelm.feed.schemas import ForYouItemOut
from reelm.recommend.pool import pool_forget
from reelm.relations import services as relations
from reelm.social import services as social
from reelm.videos.models import Hashtag, Mention, Video, VideoHashtag
from tests.feed.conftest import account, follow, like, video
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_create(user=user, name='t').secret}"})


def tag(item: Video, *names: str) -> None:
    for name in names:
        hashtag, _ = Hashtag.objects.get_or_create(name=name)
        VideoHashtag.objects.create(owner=item.owner, video=item, hashtag=hashtag)


def test_for_you_is_open_to_everyone_and_pages_with_an_opaque_cursor(viewer: User) -> None:
    author = account("maker")
    made = [video(author, caption=f"clip {i} #fun", hours_old=i + 1) for i in range(25)]
    like(made[3], 1)
    body = Client().get("/api/feed/for-you").json()
    assert set(body) == {"items", "next_cursor"}
    assert len(body["items"]) == 20 and isinstance(body["next_cursor"], str)
    item = body["items"][0]
    assert item["author"]["username"] == "maker" and item["liked"] is None and item["bookmarked"] is None
    assert item["urls"]["page"] == f"/v/{item['id']}" and item["state"] == "ready"
    rest = Client().get("/api/feed/for-you", {"cursor": body["next_cursor"]}).json()
    # The end of the ranking is not the end of For You (it starts over): the cursor goes on.
    assert isinstance(rest["next_cursor"], str) and len(rest["items"]) == 5
    assert {i["id"] for i in body["items"] + rest["items"]} == {str(v.id) for v in made}
    # Signed in, the viewer's own reactions come along.
    mine = client_for(viewer)
    social.like_create(user=viewer, video=made[0])
    first = mine.get("/api/feed/for-you").json()
    second = mine.get("/api/feed/for-you", {"cursor": first["next_cursor"]}).json()
    items = {i["id"]: i for i in first["items"] + second["items"]}
    assert items[str(made[0].id)]["liked"] is True and items[str(made[1].id)]["liked"] is False
    assert len(items) == 25 and isinstance(second["next_cursor"], str)
    assert not any(i["seen_before"] for i in first["items"] + second["items"])
    # Everything seen: For You goes on with what was seen, marked so.
    third = mine.get("/api/feed/for-you", {"cursor": second["next_cursor"]}).json()
    assert third["items"] and all(i["seen_before"] is True for i in third["items"])


def test_following_needs_a_signed_in_viewer(viewer: User) -> None:
    assert_error(Client().get("/api/feed/following"), 401, "unauthenticated")
    author = account(private=True)
    follow(viewer, author)
    shown = video(author, visibility="followers")
    body = client_for(viewer).get("/api/feed/following").json()
    assert body == {"items": body["items"], "next_cursor": None}
    assert [i["id"] for i in body["items"]] == [str(shown.id)]
    assert body["items"][0]["visibility"] == "followers"
    # The session works as well as a token.
    browser = Client()
    browser.force_login(viewer)
    assert [i["id"] for i in browser.get("/api/feed/following").json()["items"]] == [str(shown.id)]


@pytest.mark.parametrize("path", ["/api/feed/for-you", "/api/feed/following"])
@pytest.mark.parametrize("cursor", ["nope", "eyJ0IjoiYSJ9", "x" * 300])
def test_a_bad_cursor_is_a_400_in_the_error_shape(viewer: User, path: str, cursor: str) -> None:
    assert_error(client_for(viewer).get(path, {"cursor": cursor}), 400, "bad_cursor")


def test_trending_hashtags_count_recent_public_videos(viewer: User) -> None:
    public_author, private_author = account(), account(private=True)
    for _ in range(3):
        tag(video(public_author), "dance")
    tag(video(public_author), "cats", "dance")
    tag(video(public_author, hours_old=2), "cats")
    tag(video(public_author, visibility="followers"), "secret")
    tag(video(public_author, visibility="private"), "secret")
    tag(video(private_author), "secret")
    tag(video(public_author, state="processing"), "secret")
    tag(video(public_author, hours_old=24 * 8), "old")
    body = Client().get("/api/feed/trending-hashtags").json()
    assert body == [
        {"name": "dance", "count": 4, "url": "/tag/dance"},
        {"name": "cats", "count": 2, "url": "/tag/cats"},
    ]


def _twenty_across_authors(viewer: User) -> list[Video]:
    authors = [account(private=(i % 2 == 1)) for i in range(10)]
    made = []
    for author in authors:
        follow(viewer, author)
        for j in range(3):
            item = video(author, caption=f"#tag{j} hello @{viewer.username}", hours_old=j + 1)
            tag(item, f"tag{j}")
            made.append(item)
    social.like_create(user=viewer, video=made[0])
    social.bookmark_create(user=viewer, video=made[1])
    return made


@pytest.mark.parametrize("path", ["/api/feed/for-you", "/api/feed/following"])
def test_a_page_of_twenty_costs_a_bounded_number_of_queries(
    viewer: User, path: str, django_assert_max_num_queries: Any
) -> None:
    _twenty_across_authors(viewer)
    client = client_for(viewer)
    first = client.get(path).json()
    # For You ranks the viewer's kept candidate pool: the token, taste, not interested, the page's rows (its fresh
    # visibility check, then its items) and the items' links; follows, blocks and mutes come from the cache.
    # Following: one query for its ids.
    budget = 5 if path.endswith("for-you") else 7
    with django_assert_max_num_queries(budget):
        response = client.get(path)
    assert len(response.json()["items"]) == min(20, len(first["items"])) and len(first["items"]) >= 15
    with django_assert_max_num_queries(budget):
        client.get(path, {"cursor": first["next_cursor"]} if first["next_cursor"] else {})
    if path.endswith("for-you"):
        pool_forget(viewer.id)  # gathering the pool again: six candidate sources, the facts, what was seen
        with django_assert_max_num_queries(24):
            assert len(client.get(path).json()["items"]) >= 15


def test_videos_hidden_within_the_facts_window_cost_one_query_not_one_per_item(
    viewer: User, django_assert_max_num_queries: Any
) -> None:
    """For You keeps each video's facts for a few seconds; videos made private inside that window are caught by a
    fresh check of the whole page, which must cost one more query, not one per item."""
    _twenty_across_authors(viewer)
    client = client_for(viewer)
    first = [item["id"] for item in client.get("/api/feed/for-you").json()["items"]]
    hidden = first[:5]
    Video.objects.filter(id__in=hidden).update(visibility="private")  # no signal: the cached facts still say visible
    with django_assert_max_num_queries(24):
        again = [item["id"] for item in client.get("/api/feed/for-you").json()["items"]]
    assert again and not set(hidden) & set(again)


def test_feed_pages_render_the_first_page_and_load_only_own_scripts(viewer: User) -> None:
    public = video(account(), caption="on the front page")
    hidden = video(account(), visibility="private")
    for url in ("/", "/feed"):
        page = Client().get(url)
        html = page.content.decode()
        assert page.status_code == 200
        assert str(public.id) in html and str(hidden.id) not in html
        assert "/static/feed/feed.js" in html and "/static/vendor/hls.js/hls.min.js" in html
        assert 'data-source="/api/feed/for-you"' in html
        scripts = re.findall(r"<script([^>]*)>", html)
        assert all("src=" in s or 'type="application/json"' in s for s in scripts), scripts
        assert "csrftoken" in page.cookies
    response = Client().get("/feed/following")
    assert response.status_code == 302 and response["Location"].startswith("/login?next=/feed/following")
    browser = Client()
    browser.force_login(viewer)
    html = browser.get("/feed/following").content.decode()
    assert 'data-source="/api/feed/following"' in html and "follow accounts" in html


def test_static_feed_assets_are_served() -> None:
    for path in ("/static/feed/feed.js", "/static/feed/feed.css"):
        response = Client().get(path)
        assert response.status_code == 200, path


def test_feed_items_are_cards_that_validate_as_video_out_exactly(viewer: User) -> None:
    """The feeds send their cards unvalidated (tests/videos/test_cards.py checks cards against ``VideoOut``): what
    they send is what validating it as the documented ``ForYouItemOut`` would send, ``why`` included."""
    author = account("shaper")
    ready = video(author, caption="hello #a @viewer", hours_old=1)
    tag(ready, "a")
    Mention.objects.create(owner=author, video=ready, mentioned=viewer)
    social.like_create(user=viewer, video=ready)
    for client in (client_for(viewer), Client()):
        items = client.get("/api/feed/for-you").json()["items"]
        assert [item["id"] for item in items] == [str(ready.id)]
        for item in items:
            assert json.loads(json.dumps(ForYouItemOut.model_validate(item), cls=NinjaJSONEncoder)) == item
    assert items[0]["liked"] is None and items[0]["hashtags"] == ["a"] and items[0]["mentions"] == ["viewer"]


def test_anonymous_for_you_pages_are_shared_and_retired_by_any_change(
    client: Client, user: User, django_assert_num_queries: Any
) -> None:
    first = video(user, caption="first")
    page = client.get("/api/feed/for-you").json()
    assert [item["id"] for item in page["items"]] == [str(first.id)]
    with django_assert_num_queries(0):  # the next anonymous visitor gets the rendered page
        again = Client().get("/api/feed/for-you")
    assert again.json() == page

    first.visibility = "private"
    first.save(update_fields=["visibility"])
    assert Client().get("/api/feed/for-you").json()["items"] == []


def test_signed_in_viewers_never_get_the_anonymous_page(client: Client, user: User, other_user: User) -> None:
    shown = video(user, caption="shown")
    assert len(client.get("/api/feed/for-you").json()["items"]) == 1
    relations.block_create(blocker=other_user, blocked=user)
    assert client_for(other_user).get("/api/feed/for-you").json()["items"] == []
    assert client.get("/api/feed/for-you").json()["items"][0]["id"] == str(shown.id)


def test_an_author_going_private_leaves_the_anonymous_page_at_once(client: Client, user: User) -> None:
    video(user, caption="soon private")
    assert len(client.get("/api/feed/for-you").json()["items"]) == 1
    relations.account_privacy_set(user=user, is_private=True)
    assert Client().get("/api/feed/for-you").json()["items"] == []
