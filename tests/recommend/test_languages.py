"""Trending in the viewer's language: the viewer's languages (settings page, guessed at signup and sign-in),
Accept-Language, the source and the pool it feeds."""

from __future__ import annotations

import importlib
import re
import uuid
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.test import Client

from reelm.accounts.models import User
from reelm.core.errors import InvalidInput
from reelm.core.languages import accept_languages
from reelm.recommend import pool, selectors
from reelm.recommend.candidates import FRESH_IMPRESSIONS, SOURCE_WORDS, Trending, TrendingInLanguage
from reelm.recommend.models import Taste, VideoSignal
from reelm.recommend.taste import languages_infer, taste_get, taste_settings_set
from reelm.relations import services as relations
from reelm.videos.models import Video
from tests.conftest import PASSWORD
from tests.feed.conftest import account, follow, like, video
from tests.helpers import assert_error
from tests.recommend.conftest import embedded, taste_along
from tests.recommend.test_recommender import context, page_ids
from tests.social.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/settings/feed"


def spoken(owner: User, language: str, *, hours_old: float = 0) -> Video:
    made = video(owner, hours_old=hours_old)
    Video.objects.filter(id=made.id).update(language=language)
    return made


def proposed(found: list[tuple[uuid.UUID, float]]) -> list[uuid.UUID]:
    return [video_id for video_id, _ in found]


def ticked(page: str) -> set[str]:
    """The languages the settings page shows ticked."""
    return set(re.findall(r'name="languages" value="(\w+)"[^>]* checked', page))


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


def test_signup_starts_with_the_browsers_languages_as_a_guess(client: Client) -> None:
    form = {"username": "dora", "email": "d@example.org", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post("/signup", form, headers={"accept-language": "pt-BR,pt;q=0.9,xx;q=0.8,en;q=0.7"})
    assert response.status_code == 302
    taste = Taste.objects.get(owner__username="dora")
    assert taste.languages == ["pt", "en"]
    assert not taste.languages_chosen, "the viewer has not seen the settings page: guessed, not chosen"
    Client().post("/signup", form | {"username": "emil", "email": "e@example.org"})
    assert selectors.preferred_languages(User.objects.get(username="emil")) == []


# --- languages guessed at sign-in ---------------------------------------------------------------------------------

GERMAN_BROWSER = "de-DE,de;q=0.9,en;q=0.5"


def sign_in(user: User, accept_language: str | None = None) -> Client:
    """Sign in through the login form, as a browser sending ``accept_language`` (none: no header)."""
    client = Client()
    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    response = client.post("/login", {"username": user.username, "password": PASSWORD}, headers=headers)
    assert response.status_code == 302, "signed in"
    return client


def test_an_account_that_never_chose_gets_its_browsers_languages_at_sign_in(viewer: User) -> None:
    """Made through the API (no taste yet) or before languages existed (a taste with none): both are guessed."""
    sign_in(viewer, GERMAN_BROWSER)
    taste = taste_get(viewer)
    assert taste.languages == ["de", "en"] and not taste.languages_chosen
    older = account()
    assert taste_get(older).languages == []
    sign_in(older, "fr-CA, fr;q=0.8")
    assert taste_get(older).languages == ["fr"]


@pytest.mark.parametrize("chosen", [[], ["fr"]], ids=["chose-none", "chose-french"])
def test_a_choice_on_the_settings_page_is_never_guessed_over(viewer: User, chosen: list[str]) -> None:
    client = sign_in(viewer, "pt-BR")
    assert taste_get(viewer).languages == ["pt"], "guessed first"
    assert client.post(URL, settings_form(languages=chosen)).status_code == 302
    taste = taste_get(viewer)
    assert taste.languages == chosen and taste.languages_chosen
    sign_in(viewer, GERMAN_BROWSER)
    assert taste_get(viewer).languages == chosen


def test_a_guess_follows_the_browser_and_no_header_keeps_it(viewer: User) -> None:
    sign_in(viewer, GERMAN_BROWSER)
    assert taste_get(viewer).languages == ["de", "en"]
    sign_in(viewer, "ja, en;q=0.8")
    assert taste_get(viewer).languages == ["ja", "en"]
    sign_in(viewer)
    sign_in(viewer, "tlh, *;q=0.5")  # a header with no language Reelm knows tells nothing either
    taste = taste_get(viewer)
    assert taste.languages == ["ja", "en"] and not taste.languages_chosen
    assert languages_infer(viewer, "ja, en;q=0.8") is False, "the same guess writes nothing"


def test_a_choice_made_through_the_service_is_kept_too(viewer: User) -> None:
    """An operator's or a script's ``taste_settings_set`` is a choice, like the settings page's."""
    taste_settings_set(viewer, languages=[])
    assert languages_infer(viewer, GERMAN_BROWSER) is False
    assert taste_get(viewer).languages == []


def test_the_migration_marks_stored_languages_as_chosen(viewer: User) -> None:
    """Rows as they were before the migration (every one unchosen): those with languages become chosen."""
    languages_infer(viewer, GERMAN_BROWSER)
    none = account()
    taste_get(none)
    migration = importlib.import_module("reelm.recommend.migrations.0003_taste_languages_chosen")
    migration.mark_stored_languages_chosen(apps, SimpleNamespace(connection=connection))  # as migrate calls it
    assert taste_get(viewer).languages_chosen
    assert not taste_get(none).languages_chosen, "no languages: still guessed at the next sign-in"
    sign_in(none, GERMAN_BROWSER)
    sign_in(viewer, "fr")
    assert taste_get(none).languages == ["de", "en"] and taste_get(viewer).languages == ["de", "en"]


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
    # Past the fresh source's impressions, so its random draw has only the German video to pick from.
    VideoSignal.objects.update(impressions=FRESH_IMPRESSIONS)
    german = embedded(authors[1], axis=7, hours_old=30)
    Video.objects.filter(id=german.id).update(language="de")
    taste_along(viewer, 0)
    page_ids(viewer)
    kept = cache.get(pool._pool_key(viewer.id))
    assert kept.sources[kept.ids.index(german.id.bytes)] == "fresh", "only as a new upload"
    taste_settings_set(viewer, languages=["de"])
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
    assert kept.fits(pool.viewer_context(viewer, taste_get(viewer)))
    followed = account()
    follow(viewer, followed)
    assert not kept.fits(pool.viewer_context(viewer, taste_get(viewer))), "a new follow: gathered again"
    relations.follow_delete(follower=viewer, followee=followed)
    assert kept.fits(pool.viewer_context(viewer, taste_get(viewer)))
    client = Client()
    client.force_login(viewer)
    page = client.get(URL).content.decode()
    assert "Languages you watch in" in page and 'value="de"' in page
    saved = client.post(URL, settings_form(languages=["de", "en"]))
    assert saved.status_code == 302
    taste = taste_get(viewer)
    assert set(taste.languages) == {"de", "en"}
    assert not kept.fits(pool.viewer_context(viewer, taste)), "a changed language list: gathered again"
    assert 'value="de" id="id_languages_' in client.get(URL).content.decode()
    page_ids(viewer)
    assert cache.get(pool._pool_key(viewer.id)).gathered > kept.gathered


def test_languages_kept_stay_first_and_new_ones_come_after(viewer: User) -> None:
    taste_settings_set(viewer, languages=["pt", "en"])
    client = Client()
    client.force_login(viewer)
    client.post(URL, settings_form(languages=["de", "en", "pt"]))  # checkboxes post in page order
    assert taste_get(viewer).languages == ["pt", "en", "de"]
    client.post(URL, settings_form(languages=["de"]))
    assert taste_get(viewer).languages == ["de"]
    client.post(URL, settings_form())
    assert taste_get(viewer).languages == []


def test_the_settings_page_says_when_its_languages_are_a_guess(viewer: User) -> None:
    client = sign_in(viewer)
    assert "languages-guessed" not in client.get(URL).content.decode(), "nothing guessed, nothing to say"
    client = sign_in(viewer, GERMAN_BROWSER)
    page = client.get(URL).content.decode()
    assert "Guessed from your browser’s language; save to keep your choice." in page
    assert 'aria-describedby="languages-hint languages-guessed"' in page
    assert ticked(page) == {"de", "en"}, "the guess is what the form would save"
    client.post(URL, settings_form(languages=["de", "en"]))  # kept as they were: now a choice
    taste = taste_get(viewer)
    assert taste.languages == ["de", "en"] and taste.languages_chosen
    assert "languages-guessed" not in client.get(URL).content.decode()


def test_unknown_or_too_many_languages_are_refused_and_nothing_changes(viewer: User) -> None:
    taste_settings_set(viewer, languages=["en"])
    client = Client()
    client.force_login(viewer)
    unknown = client.post(URL, settings_form(languages=["en", "xx"]))
    assert unknown.status_code == 400 and "xx is not one of the available choices" in unknown.content.decode()
    many = client.post(URL, settings_form(languages=["en", "de", "fr", "es", "it", "pt"]))
    assert many.status_code == 400 and "Pick at most 5 languages." in many.content.decode()
    assert taste_get(viewer).languages == ["en"]
    with pytest.raises(InvalidInput):
        taste_settings_set(viewer, languages=["en", "klingon"])
    assert taste_settings_set(viewer, languages=["DE", "de", " fr "]).languages == ["de", "fr"]


def test_the_settings_api_reads_and_sets_languages_as_a_choice(viewer: User) -> None:
    api = client_for(viewer)
    taste_get(viewer)
    Taste.objects.filter(owner=viewer).update(languages=["de"])  # as guessed at a sign-in
    found = api.get("/api/recommendations/settings").json()
    assert found["languages"] == ["de"] and found["languages_chosen"] is False
    saved = api.patch("/api/recommendations/settings", {"languages": ["pt", "en"]}, content_type="application/json")
    assert saved.status_code == 200
    assert saved.json()["languages"] == ["pt", "en"] and saved.json()["languages_chosen"] is True
    assert taste_get(viewer).languages == ["pt", "en"]
    unknown = api.patch("/api/recommendations/settings", {"languages": ["xx"]}, content_type="application/json")
    assert_error(unknown, 400, "invalid_language")
    too_many = api.patch(
        "/api/recommendations/settings", {"languages": ["en", "de", "fr", "es", "pt", "it"]},
        content_type="application/json",
    )  # fmt: skip
    assert too_many.status_code == 422
    assert taste_get(viewer).languages == ["pt", "en"], "refused changes keep the choice"
    other = api.patch("/api/recommendations/settings", {"personalised": True}, content_type="application/json")
    assert other.json()["languages"] == ["pt", "en"], "a PATCH without languages leaves them"
    none = api.patch("/api/recommendations/settings", {"languages": []}, content_type="application/json")
    assert none.json()["languages"] == [] and none.json()["languages_chosen"] is True
    assert not languages_infer(viewer, "de-DE,de;q=0.9"), "an empty choice is never guessed over"
