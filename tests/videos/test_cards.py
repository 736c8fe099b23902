"""Video cards: exactly ``VideoOut`` as plain dicts, two queries for any number, the viewer's marks only when
signed in, and every media URL from one place."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.utils import timezone
from ninja.responses import NinjaJSONEncoder

from reelm.accounts.models import User
from reelm.core.errors import NotFound
from reelm.social import services as social
from reelm.videos.cards import card_json, media_urls, video_card, video_cards, video_rows
from reelm.videos.models import Hashtag, Mention, Video, VideoHashtag
from reelm.videos.schemas import VideoOut
from tests.feed.conftest import account, video

pytestmark = pytest.mark.django_db

RENDITIONS = [
    {"name": "360p", "width": 360, "height": 640, "bandwidth": 800000, "lowest": True},
    {"name": "720p", "width": 720, "height": 1280, "bandwidth": 2500000},
]


@pytest.fixture
def viewer(db: None) -> User:
    return account("viewer")


def tag(item: Video, *names: str) -> None:
    for name in names:
        hashtag, _ = Hashtag.objects.get_or_create(name=name)
        VideoHashtag.objects.create(owner=item.owner, video=item, hashtag=hashtag)


def as_json(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=NinjaJSONEncoder))  # what the API sends


def test_cards_are_exactly_video_out(viewer: User) -> None:
    """The API sends cards unvalidated (the feeds) or validated (``response=VideoOut``), and pages embed them:
    all three must give the same JSON, so a card is ``VideoOut``'s fields, key for key and in its order."""
    author = account("shaper")
    User.objects.filter(id=author.id).update(display_name="Shaper", avatar_key="avatars/s.jpg", bio="hi")
    ready = video(author, caption="hello #a #b @viewer", hours_old=1)
    Video.objects.filter(id=ready.id).update(renditions=RENDITIONS, preview_count=2)
    tag(ready, "b", "a")
    Mention.objects.create(owner=author, video=ready, mentioned=viewer)
    live = video(account(), state="processing")
    Video.objects.filter(id=live.id).update(renditions=RENDITIONS, playable_at=live.created_at)
    social.like_create(user=viewer, video=ready)
    social.bookmark_create(user=viewer, video=live)
    ids = [ready.id, live.id]
    instances = list(Video.objects.select_related("owner").filter(id__in=ids).order_by("id"))

    for who in (viewer, AnonymousUser()):
        cards = video_cards(ids, who)
        assert video_cards(instances, who) == cards  # rows from instances are the rows it reads
        for card in cards:
            model = VideoOut.model_validate(card)
            assert list(card) == list(VideoOut.model_fields)
            assert as_json(card) == as_json(model)  # the API, validated or not
            assert card_json(card) == model.model_dump(mode="json")  # the pages

    first, second = video_cards(ids, viewer)
    assert first["author"] == {
        "id": author.id,
        "username": "shaper",
        "display_name": "Shaper",
        "bio": "hi",
        "avatar_url": "/media/avatars/s.jpg",
        "profile_url": "/@shaper",
        "is_private": False,
        "follower_count": 0,
        "following_count": 0,
    }
    assert first["hashtags"] == ["b", "a"] and first["mentions"] == ["viewer"]
    assert first["renditions"] == [{k: r[k] for k in ("name", "width", "height", "bandwidth")} for r in RENDITIONS]
    base = f"/media/videos/{ready.id}/"
    assert first["urls"] == {
        "page": f"/v/{ready.id}",
        "hls": f"{base}hls/master.m3u8",
        "hls_live": None,
        "mp4": f"{base}video.mp4",
        "poster": f"{base}poster.jpg",
        "previews": [f"{base}preview_1.jpg", f"{base}preview_2.jpg"],
    }
    assert (first["liked"], first["bookmarked"]) == (True, False)
    assert second["renditions"] == [] and (second["liked"], second["bookmarked"]) == (False, True)
    assert second["urls"] == {
        "page": f"/v/{live.id}",
        "hls": None,
        "hls_live": f"/media/videos/{live.id}/hls/360p/index.m3u8",
        "mp4": None,
        "poster": None,
        "previews": [],
    }


def test_a_card_has_the_viewers_marks_only_when_signed_in(viewer: User) -> None:
    item = video(account("author"))
    social.like_create(user=viewer, video=item)
    for nobody in (None, AnonymousUser()):
        card = video_card(item, nobody)
        assert card["liked"] is None and card["bookmarked"] is None
    card = video_card(item.id, viewer)
    assert card["liked"] is True and card["bookmarked"] is False
    social.bookmark_create(user=viewer, video=item)
    social.like_delete(user=viewer, video=item)
    card = video_card(item.id, viewer)
    assert card["liked"] is False and card["bookmarked"] is True
    other = account("other")  # marks are the viewer's own, not anyone's
    assert (video_card(item, other)["liked"], video_card(item, other)["bookmarked"]) == (False, False)


def test_cards_take_two_queries_and_keep_links_in_the_order_they_were_added(
    viewer: User, django_assert_num_queries: Any
) -> None:
    """One query for the rows, one UNION for hashtags, mentions, likes and bookmarks: each video gets only its own
    links, in the order they were added; gone ids are left out; signed out, there are no reactions to read."""
    author = account("linker")
    first, second, third = (video(author, caption=f"clip {i}", hours_old=i + 1) for i in range(3))
    tag(first, "zeta", "alpha", "mid")
    tag(second, "alpha")
    for name in ("zed", "amy"):
        Mention.objects.create(owner=author, video=first, mentioned=account(name))
    Mention.objects.create(owner=author, video=third, mentioned=viewer)
    social.like_create(user=viewer, video=second)
    social.bookmark_create(user=viewer, video=second)
    social.bookmark_create(user=viewer, video=third)
    social.like_create(user=author, video=first)  # someone else's like is not the viewer's
    gone = video(author, caption="gone")
    gone_id = gone.id
    ids = [third.id, gone_id, first.id, second.id]
    gone.delete()
    with django_assert_num_queries(2):
        items = video_cards(ids, viewer)
    assert [item["id"] for item in items] == [third.id, first.id, second.id]
    by_id = {item["id"]: item for item in items}
    assert by_id[first.id]["hashtags"] == ["zeta", "alpha", "mid"] and by_id[first.id]["mentions"] == ["zed", "amy"]
    assert by_id[second.id]["hashtags"] == ["alpha"] and by_id[second.id]["mentions"] == []
    assert by_id[third.id]["hashtags"] == [] and by_id[third.id]["mentions"] == ["viewer"]
    reactions = {i: (by_id[i]["liked"], by_id[i]["bookmarked"]) for i in by_id}
    assert reactions == {first.id: (False, False), second.id: (True, True), third.id: (False, True)}
    with django_assert_num_queries(2):
        signed_out = video_cards(ids, AnonymousUser())
    assert [(item["liked"], item["bookmarked"]) for item in signed_out] == [(None, None)] * 3
    assert [item["mentions"] for item in signed_out] == [["viewer"], ["zed", "amy"], []]
    with django_assert_num_queries(1):
        assert video_cards([gone_id], viewer) == []
    # Rows the caller has already (a feed's, or instances with their authors) are not read again.
    rows = video_rows([first.id, second.id])
    loaded = list(Video.objects.select_related("owner").filter(id=third.id))
    with django_assert_num_queries(1):
        again = video_cards([*loaded, first.id, second.id], viewer, rows)
    assert again == items
    with django_assert_num_queries(0):
        assert video_cards([], viewer) == []


def test_a_gone_video_has_no_card(viewer: User) -> None:
    with pytest.raises(NotFound):
        video_card(uuid.uuid4(), viewer)


def test_media_urls_follow_the_state() -> None:
    video_id = uuid.uuid4()
    base = f"/media/videos/{video_id}/"
    nothing: dict[str, Any] = {"hls": None, "hls_live": None, "mp4": None, "poster": None, "previews": []}
    now = timezone.now()
    assert media_urls(video_id, "uploaded", None, [], 0) == nothing
    assert media_urls(video_id, "failed", now, RENDITIONS, 3) == nothing
    assert media_urls(video_id, "processing", None, RENDITIONS, 0) == nothing  # nothing playable yet
    assert media_urls(video_id, "processing", now, RENDITIONS, 0) == {
        **nothing,
        "hls_live": f"{base}hls/360p/index.m3u8",
    }
    assert media_urls(video_id, "ready", now, RENDITIONS, 1) == {
        "hls": f"{base}hls/master.m3u8",
        "hls_live": None,
        "mp4": f"{base}video.mp4",
        "poster": f"{base}poster.jpg",
        "previews": [f"{base}preview_1.jpg"],
    }


def test_the_grid_shows_a_cards_poster_or_its_state() -> None:
    author = account("gridder")
    ready, pending = video(author, caption="look <here>"), video(author, state="processing")
    html = render_to_string("videos/_grid.html", {"videos": video_cards([ready.id, pending.id], None), "empty": "-"})
    assert f'<a href="/v/{ready.id}">' in html and f'<a href="/v/{pending.id}">' in html
    assert f'<img src="/media/videos/{ready.id}/poster.jpg" alt="" loading="lazy">' in html
    assert '<span class="pending">Processing</span>' in html and "look &lt;here&gt;" in html
    assert '<li class="empty">-</li>' in render_to_string("videos/_grid.html", {"videos": [], "empty": "-"})
