"""Trending in one language: the transparent ranking of the videos in that language, cached apart."""

from __future__ import annotations

import pytest

from reelm.accounts.models import User
from reelm.recommend.transparent import fresh_ranking, fresh_ranking_in, ranked_at
from reelm.videos.models import Video
from tests.feed.conftest import account, like, video

pytestmark = pytest.mark.django_db


def spoken(owner: User, language: str, **fields: object) -> Video:
    made = video(owner, **fields)  # type: ignore[arg-type]
    Video.objects.filter(id=made.id).update(language=language)
    return made


def test_a_languages_ranking_holds_only_its_videos_in_the_global_order() -> None:
    authors = [account() for _ in range(3)]
    german = [spoken(authors[i % 3], "de", hours_old=i) for i in range(5)]
    english = [spoken(authors[i % 3], "en", hours_old=i) for i in range(4)]
    unknown = video(authors[0])
    like(german[3], 4)
    like(german[1], 2)
    like(english[0], 9)
    in_german = fresh_ranking_in("de")[0]
    everything = [r.id for r in ranked_at(in_german.snapshot)]  # the global ranking at the same moment
    german_hex = {v.id.hex for v in german}
    assert set(in_german.ids) == german_hex
    assert in_german.ids == [h for h in everything if h in german_hex], "the global ranking's order"
    assert in_german.ids[:2] == [german[1].id.hex, german[3].id.hex], "liked, and recent"
    assert set(fresh_ranking_in("en")[0].ids) == {v.id.hex for v in english}
    assert unknown.id.hex in everything and unknown.id.hex not in in_german.ids


def test_each_language_is_cached_apart_and_the_global_ranking_is_unchanged() -> None:
    author = account()
    german, english = spoken(author, "de"), spoken(author, "en")
    first, fresh = fresh_ranking_in("de")
    assert fresh and first.ids == [german.id.hex]
    again, fresh = fresh_ranking_in("de")
    assert not fresh and again.ids == first.ids, "kept in the cache"
    assert fresh_ranking_in("en")[0].ids == [english.id.hex], "not the German one's cache entry"
    assert set(fresh_ranking()[0].ids) == {german.id.hex, english.id.hex}


def test_private_and_unready_videos_never_trend_in_a_language() -> None:
    author, hidden = account(), account(private=True)
    shown = spoken(author, "pt")
    spoken(author, "pt", visibility="followers")
    spoken(author, "pt", state="processing")
    spoken(hidden, "pt")
    assert fresh_ranking_in("pt")[0].ids == [shown.id.hex]
