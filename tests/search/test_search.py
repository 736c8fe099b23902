"""Full-text search through the API and the pages: matching, ranking, hostile input, visibility, index sync."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.relations.models import Follow
from reelm.relations.services import account_privacy_set, follow_create, follow_request_approve
from reelm.videos.models import Video
from reelm.videos.services import video_update
from tests.conftest import PASSWORD
from tests.helpers import assert_error
from tests.social.conftest import client_for, make_video

pytestmark = pytest.mark.django_db


def tagged(owner: User, caption: str, **fields: str) -> Video:
    """A video row whose caption (hashtags and mentions included) went through the real edit service."""
    video = make_video(owner, **fields)
    return video_update(video=video, editor=owner, caption=caption)


def found(client: Client, q: str, kind: str = "all") -> dict[str, Any]:
    response = client.get("/api/search", {"q": q, "type": kind})
    assert response.status_code == 200, response.content[:500]
    return response.json()


def video_ids(client: Client, q: str) -> list[str]:
    return [v["id"] for v in found(client, q, "videos")["videos"]]


def usernames(client: Client, q: str) -> list[str]:
    return [a["username"] for a in found(client, q, "accounts")["accounts"]]


def test_matches_username_display_name_and_bio(client: Client) -> None:
    user_create(username="skater_jo", password=PASSWORD, display_name="Josephine Halfpipe")
    dana = user_create(username="dana", password=PASSWORD, display_name="Dana")
    User.objects.filter(id=dana.id).update(bio="I film sunsets")
    assert usernames(client, "skater_jo") == ["skater_jo"]
    assert usernames(client, "halfpipe") == ["skater_jo"]
    assert usernames(client, "sunsets") == ["dana"]
    assert usernames(client, "nobodyatall") == []


def test_matches_caption_words_hashtags_and_prefixes(user: User, client: Client) -> None:
    video = tagged(user, "Morning run by the river #Marathon")
    other = tagged(user, "cooking pasta")
    assert video_ids(client, "river") == [str(video.id)]
    assert video_ids(client, "marathon") == [str(video.id)]
    assert video_ids(client, "#marathon") == [str(video.id)]
    assert video_ids(client, "riv") == [str(video.id)]  # type-ahead
    assert video_ids(client, "past") == [str(other.id)]
    tags = found(client, "mara", "hashtags")["hashtags"]
    assert tags == [{"name": "marathon", "video_count": 1}]
    body = found(client, "marathon")
    assert set(body) == {"accounts", "videos", "hashtags"}
    assert body["videos"][0]["author"]["username"] == "alice" and body["videos"][0]["hashtags"] == ["marathon"]


def test_accents_do_not_matter(user: User, client: Client) -> None:
    video = tagged(user, "Un café à Paris #crème")
    assert video_ids(client, "cafe") == [str(video.id)]
    assert video_ids(client, "CAFÉ") == [str(video.id)]
    assert video_ids(client, "creme") == [str(video.id)]
    user_create(username="zoe", password=PASSWORD, display_name="Zoë Noël")
    assert usernames(client, "noel") == ["zoe"]


def test_best_match_first(user: User, client: Client) -> None:
    once = tagged(user, "a long caption about many things and also guitar somewhere in the middle of it all")
    many = tagged(user, "guitar guitar #guitar")
    assert video_ids(client, "guitar") == [str(many.id), str(once.id)]
    user_create(username="guitarhero", password=PASSWORD, display_name="Sam")
    plain = user_create(username="samuel", password=PASSWORD, display_name="Samuel")
    User.objects.filter(id=plain.id).update(bio="I sometimes play guitar")
    assert usernames(client, "guitar") == ["guitarhero", "samuel"]


@pytest.mark.parametrize(
    "q",
    ['"', "*", "AND OR NOT", "(", "NEAR(", 'NEAR("a" "b", 2)', "-", "a:b", "^x", "caption:secret", "'", "{}", "\\"],
)
def test_hostile_queries_never_fail(user: User, client: Client, q: str) -> None:
    tagged(user, "and or not near a b x secret")
    response = client.get("/api/search", {"q": q})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert set(body) == {"accounts", "videos", "hashtags"}


def test_operator_words_are_plain_text(user: User, client: Client) -> None:
    video = tagged(user, "rock AND roll")
    tagged(user, "just rock")
    assert video_ids(client, "rock AND roll") == [str(video.id)]
    assert video_ids(client, '"roll') == [str(video.id)]


@pytest.mark.parametrize(("q", "code"), [("", "empty_query"), ("   ", "empty_query"), ("x" * 201, "query_too_long")])
def test_empty_or_long_query_is_a_400(client: Client, q: str, code: str) -> None:
    assert_error(client.get("/api/search", {"q": q}), 400, code)


def test_longest_query_is_accepted(client: Client) -> None:
    assert client.get("/api/search", {"q": "word " * 40}).status_code == 200


def test_unknown_type_is_refused(client: Client) -> None:
    assert_error(client.get("/api/search", {"q": "x", "type": "people"}), 422, "validation_error")


def test_hidden_videos_never_leak(user: User, other_user: User, client: Client, other_api: Client) -> None:
    public = tagged(user, "zebra public #zebra")
    hidden = [
        tagged(user, "zebra private #zebra", visibility="private"),
        tagged(user, "zebra followers #zebra", visibility="followers"),
        tagged(user, "zebra processing #zebra", state="processing"),
        tagged(user, "zebra failed #zebra", state="failed"),
    ]
    for stranger in (client, other_api):
        assert video_ids(stranger, "zebra") == [str(public.id)]
        assert found(stranger, "zebra", "hashtags")["hashtags"] == [{"name": "zebra", "video_count": 1}]
        page = stranger.get("/api/search/hashtags/zebra/videos").json()
        assert [v["id"] for v in page["items"]] == [str(public.id)]
    owner = client_for(user)
    assert set(video_ids(owner, "zebra")) == {str(public.id)} | {str(v.id) for v in hidden}
    follow_create(follower=other_user, followee=user)
    assert set(video_ids(other_api, "zebra")) == {str(public.id), str(hidden[1].id)}


def test_private_accounts_videos_only_for_approved_followers(
    user: User, other_user: User, client: Client, other_api: Client
) -> None:
    video = tagged(user, "secret garden #garden")
    account_privacy_set(user=user, is_private=True)
    assert video_ids(client, "garden") == []
    assert found(client, "garden", "hashtags")["hashtags"] == []
    follow, _ = follow_create(follower=other_user, followee=user)
    assert video_ids(other_api, "garden") == []  # still pending
    follow_request_approve(account=user, request_id=follow.id)
    assert Follow.objects.get(id=follow.id).status == "accepted"
    assert video_ids(other_api, "garden") == [str(video.id)]
    assert usernames(client, "alice") == ["alice"]  # the account itself is findable


def test_index_follows_caption_edit_and_delete(user: User, api: Client, client: Client) -> None:
    video = tagged(user, "old words #oldtag")
    response = api.patch(f"/api/videos/{video.id}", {"caption": "fresh words #newtag"}, content_type="application/json")
    assert response.status_code == 200
    assert video_ids(client, "old") == [] and video_ids(client, "oldtag") == []
    assert video_ids(client, "fresh") == [str(video.id)]
    assert video_ids(client, "newtag") == [str(video.id)]
    assert api.delete(f"/api/videos/{video.id}").status_code == 204
    assert video_ids(client, "fresh") == [] and video_ids(client, "newtag") == []
    assert found(client, "newtag", "hashtags")["hashtags"] == []


def test_index_follows_profile_edit(user: User, api: Client, client: Client) -> None:
    response = api.patch("/api/me", {"display_name": "Wanderlust", "bio": "mountains"}, content_type="application/json")
    assert response.status_code == 200
    assert usernames(client, "wanderlust") == ["alice"]
    assert usernames(client, "mountains") == ["alice"]
    assert usernames(client, "Alice") == ["alice"]  # still found by username
    api.patch("/api/me", {"display_name": "Renamed"}, content_type="application/json")
    assert usernames(client, "wanderlust") == []


def test_hashtag_videos_paginate_by_cursor(user: User, client: Client) -> None:
    videos = [tagged(user, f"clip {i} #daily") for i in range(30)]
    tagged(user, "unrelated #weekly")
    first = client.get("/api/search/hashtags/daily/videos").json()
    assert [v["id"] for v in first["items"]] == [str(v.id) for v in reversed(videos[6:])]
    assert first["next_cursor"] == str(videos[6].id)
    second = client.get("/api/search/hashtags/daily/videos", {"cursor": first["next_cursor"]}).json()
    assert [v["id"] for v in second["items"]] == [str(v.id) for v in reversed(videos[:6])]
    assert second["next_cursor"] is None
    assert_error(client.get("/api/search/hashtags/nosuchtag/videos"), 404, "not_found")
    assert_error(client.get("/api/search/hashtags/daily/videos", {"cursor": "nope"}), 422, "validation_error")


def test_search_query_count_is_bounded(
    user: User, other_user: User, other_api: Client, django_assert_max_num_queries: Any
) -> None:
    for i in range(12):
        tagged(user, f"bounded {i} #bounded #tag{i} @bob")
        user_create(username=f"bounded{i}", password=PASSWORD)
    follow_create(follower=other_user, followee=user)
    # Token check (2), accounts (2), videos with their links (6), reactions (2), hashtags (2): none per row.
    with django_assert_max_num_queries(14):
        body = found(other_api, "bounded")
    assert len(body["videos"]) == 10 and len(body["accounts"]) == 10 and body["hashtags"]
    with django_assert_max_num_queries(10):
        page = other_api.get("/api/search/hashtags/bounded/videos").json()
    assert len(page["items"]) == 12


def test_search_page_renders_and_escapes(user: User, client: Client) -> None:
    User.objects.filter(id=user.id).update(display_name="<b>Alice</b> & co")
    tagged(user, "<script>alert(1)</script> hello #hello")
    page = client.get("/search", {"q": "<script> hello"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'value="&lt;script&gt; hello"' in html and 'role="search"' in html
    assert 'href="/tag/hello"' in client.get("/search", {"q": "hel"}).content.decode()
    page = client.get("/search", {"q": "alice"})
    html = page.content.decode()
    assert 'href="/@alice"' in html and "&lt;b&gt;Alice&lt;/b&gt; &amp; co" in html and "<b>Alice</b>" not in html
    assert client.get("/search").status_code == 200
    assert client.get("/search", {"q": "x" * 300}).status_code == 400
    assert client.get("/search", {"q": "NEAR( *"}).status_code == 200


def test_hashtag_page(user: User, client: Client) -> None:
    public = tagged(user, "on the beach #summer")
    private = tagged(user, "hidden beach #summer", visibility="private")
    html = client.get("/tag/summer").content.decode()
    assert "#summer" in html and "1 video<" in html
    assert f"/v/{public.id}" in html and f"/v/{private.id}" not in html
    assert client.get("/tag/winter").status_code == 404
    owner = Client()
    owner.force_login(user)
    html = owner.get("/tag/SUMMER").content.decode()
    assert "2 videos" in html and f"/v/{private.id}" in html


def test_hashtag_page_pages_with_a_cursor(user: User, client: Client) -> None:
    videos = [tagged(user, f"n{i} #many") for i in range(25)]
    html = client.get("/tag/many").content.decode()
    assert f"/v/{videos[0].id}" not in html and f"/v/{videos[24].id}" in html
    assert f"?before={videos[1].id}" in html
    html = client.get("/tag/many", {"before": str(videos[1].id)}).content.decode()
    assert f"/v/{videos[0].id}" in html and f"/v/{videos[1].id}" not in html
    assert client.get("/tag/many", {"before": "garbage"}).status_code == 200
    assert uuid.UUID(str(videos[0].id))
