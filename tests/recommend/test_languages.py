"""Trending in the viewer's language: the viewer's languages (settings page, signup), Accept-Language, the source
and the pool it feeds."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from reelm.accounts.models import User
from reelm.core.errors import InvalidInput
from reelm.core.languages import accept_languages
from reelm.recommend import pool, services
from reelm.recommend.models import Taste
from reelm.recommend.sources import SOURCE_WORDS, Trending, TrendingInLanguage
from reelm.videos.models import Video
from tests.conftest import PASSWORD
from tests.feed.conftest import account, like, video
from tests.recommend.conftest import embedded, taste_along
from tests.recommend.test_recommender import context, page_ids

pytestmark = pytest.mark.django_db

URL = "/settings/feed"


def spoken(owner: User, language: str, *, hours_old: float = 0) -> Video:
    made = video(owner, hours_old=hours_old)
    Video.objects.filter(id=made.id).update(language=language)
    return made


def proposed(found: list[tuple[uuid.UUID, float]]) -> list[uuid.UUID]:
    return [video_id for video_id, _ in found]


def settings_form(**changes: object) -> dict[str, object]:
    return {"personalised": "on", "more_following": 50, "more_new_creators": 50, "more_interests": ""} | changes


# --- Accept-Language ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-CH, fr;q=0.9, en;q=0.8, *;q=0.5", ["de", "fr", "en"]),
        ("en;q=0.2, pt-BR;q=0.9, ja", ["ja", "pt", "en"]),  # by weight, not by place
        ("pt-BR, pt;q=0.9, pt-PT;q=0.8, es", ["pt", "es"]),  # a region is its language, once
        ("xx, tlh;q=0.9, zh-Hant-TW;q=0.8", ["zh"]),  # unknown codes dropped, script and region too
        ("EN-gb,DE", ["en", "de"]),
        ("fr;q=0, it;q=0.5", ["it"]),  # q=0 is "not acceptable"
        ("nl, sv, da, fi, no", ["nl", "sv", "da"]),  # three at most
        ("en;q=2, de;q=abc, ;;, es ; q = 0.7", ["es"]),  # malformed entries ignored
        ("", []),
        ("*", []),
    ],
)
def test_accept_language_gives_known_codes_by_weight(header: str, expected: list[str]) -> None:
    assert accept_languages(header) == expected


def test_signup_starts_with_the_browsers_languages(client: Client) -> None:
    form = {"username": "dora", "email": "d@example.org", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post("/signup", form, headers={"accept-language": "pt-BR,pt;q=0.9,xx;q=0.8,en;q=0.7"})
    assert response.status_code == 302
    assert Taste.objects.get(owner__username="dora").languages == ["pt", "en"]
    Client().post("/signup", form | {"username": "emil", "email": "e@example.org"})
    assert not Taste.objects.filter(owner__username="emil", languages__len__gt=0).exists()


# --- the source ---------------------------------------------------------------------------------------------------


def test_trending_in_language_proposes_what_the_global_top_leaves_out(viewer: User) -> None:
    authors = [account() for _ in range(4)]
    english = [spoken(authors[i % 4], "en") for i in range(45)]
    like(english[0], 2)
    german = spoken(authors[0], "de", hours_old=30)  # older and unliked: far down the global ranking
    everyone = proposed(Trending().candidates(context(viewer), 40))
    assert len(everyone) == 40 and german.id not in everyone
    assert set(everyone) <= {v.id for v in english}
    in_german = TrendingInLanguage().candidates(context(viewer, languages=("de",)), 40)
    assert proposed(in_german) == [german.id]
    assert proposed(TrendingInLanguage().candidates(context(viewer, languages=("en",)), 40))[0] == english[0].id
    assert TrendingInLanguage().candidates(context(viewer), 40) == [], "no languages: nothing"


def test_several_languages_are_interleaved_best_first_with_decreasing_scores(viewer: User) -> None:
    author = account()
    german = [spoken(author, "de", hours_old=h) for h in (1, 2, 3)]
    portuguese = [spoken(author, "pt", hours_old=h) for h in (1, 2)]
    spoken(author, "en")
    found = TrendingInLanguage().candidates(context(viewer, languages=("pt", "de")), 10)
    assert proposed(found) == [portuguese[0].id, german[0].id, portuguese[1].id, german[1].id, german[2].id]
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    assert len(TrendingInLanguage().candidates(context(viewer, languages=("pt", "de")), 3)) == 3


def test_the_source_explains_itself_in_plain_words() -> None:
    assert SOURCE_WORDS["trending-language"] == "Popular right now in your language"


def test_for_you_serves_the_viewers_language_through_its_pool(viewer: User) -> None:
    authors = [account() for _ in range(4)]
    for i in range(45):
        embedded(authors[i % 4], axis=0)
    german = embedded(authors[1], axis=7, hours_old=30)
    Video.objects.filter(id=german.id).update(language="de")
    taste_along(viewer, 0)
    page_ids(viewer)
    kept = cache.get(pool._pool_key(viewer.id))
    assert kept.sources[kept.ids.index(german.id.bytes)] == "fresh", "only as a new upload"
    services.taste_settings_set(viewer, languages=["de"])
    page_ids(viewer)
    kept = cache.get(pool._pool_key(viewer.id))
    assert kept.languages == ("de",)
    assert kept.sources[kept.ids.index(german.id.bytes)] == "trending-language"


# --- the settings page --------------------------------------------------------------------------------------------


def test_the_settings_page_saves_languages_and_the_kept_pool_no_longer_fits(viewer: User) -> None:
    for _ in range(4):
        embedded(account(), axis=0)
    taste_along(viewer, 0)
    page_ids(viewer)
    kept = cache.get(pool._pool_key(viewer.id))
    assert kept.fits(pool.viewer_context(viewer, services.taste_get(viewer)))
    client = Client()
    client.force_login(viewer)
    page = client.get(URL).content.decode()
    assert "Languages you watch in" in page and 'value="de"' in page
    saved = client.post(URL, settings_form(languages=["de", "en"]))
    assert saved.status_code == 302
    taste = services.taste_get(viewer)
    assert set(taste.languages) == {"de", "en"}
    assert not kept.fits(pool.viewer_context(viewer, taste)), "a changed language list: gathered again"
    assert 'value="de" id="id_languages_' in client.get(URL).content.decode()
    page_ids(viewer)
    assert cache.get(pool._pool_key(viewer.id)).gathered > kept.gathered


def test_languages_kept_stay_first_and_new_ones_come_after(viewer: User) -> None:
    services.taste_settings_set(viewer, languages=["pt", "en"])
    client = Client()
    client.force_login(viewer)
    client.post(URL, settings_form(languages=["de", "en", "pt"]))  # checkboxes post in page order
    assert services.taste_get(viewer).languages == ["pt", "en", "de"]
    client.post(URL, settings_form(languages=["de"]))
    assert services.taste_get(viewer).languages == ["de"]
    client.post(URL, settings_form())
    assert services.taste_get(viewer).languages == []


def test_unknown_or_too_many_languages_are_refused_and_nothing_changes(viewer: User) -> None:
    services.taste_settings_set(viewer, languages=["en"])
    client = Client()
    client.force_login(viewer)
    unknown = client.post(URL, settings_form(languages=["en", "xx"]))
    assert unknown.status_code == 400 and "xx is not one of the available choices" in unknown.content.decode()
    many = client.post(URL, settings_form(languages=["en", "de", "fr", "es", "it", "pt"]))
    assert many.status_code == 400 and "Pick at most 5 languages." in many.content.decode()
    assert services.taste_get(viewer).languages == ["en"]
    with pytest.raises(InvalidInput):
        services.taste_settings_set(viewer, languages=["en", "klingon"])
    assert services.taste_settings_set(viewer, languages=["DE", "de", " fr "]).languages == ["de", "fr"]
