"""A video's spoken language: set on upload (API and form), defaulted from the uploader's languages, edited."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.recommend.taste import taste_settings_set
from reelm.storage.base import ObjectStore
from reelm.videos.models import Video
from tests.helpers import assert_error
from tests.social.conftest import make_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_upload_stores_its_language_and_the_api_shows_it(
    api: Client, upload: Callable[..., Any], clips: dict[str, Path]
) -> None:
    response = upload(api, clips["portrait"], caption="hallo", language="de")
    assert response.status_code == 201, response.content
    assert response.json()["language"] == "de"
    assert Video.objects.get().language == "de"
    assert api.get(f"/api/videos/{response.json()['id']}").json()["language"] == "de"


def test_an_unknown_language_is_a_clear_400_and_stores_nothing(
    api: Client, upload: Callable[..., Any], clips: dict[str, Path], media_store: ObjectStore
) -> None:
    for code in ("xx", "english", "pt-BR"):
        error = assert_error(upload(api, clips["portrait"], language=code), 400, "invalid_language")
        assert "ISO 639-1" in error["message"]
    assert not Video.objects.exists() and list(media_store.list()) == []


def test_a_new_upload_defaults_to_the_uploaders_first_language(
    user: User, api: Client, upload: Callable[..., Any], clips: dict[str, Path]
) -> None:
    assert upload(api, clips["portrait"]).json()["language"] == "", "no languages: unknown"
    taste_settings_set(user, languages=["pt", "en"])
    assert upload(api, clips["portrait"]).json()["language"] == "pt"
    assert upload(api, clips["portrait"], language="").json()["language"] == "", "said so: unknown"
    assert upload(api, clips["portrait"], language="EN").json()["language"] == "en"


def test_the_author_changes_the_language_through_the_api(user: User, api: Client) -> None:
    video = make_video(user)
    changed = api.patch(f"/api/videos/{video.id}", json.dumps({"language": "fr"}), content_type="application/json")
    assert changed.status_code == 200 and changed.json()["language"] == "fr"
    refused = api.patch(f"/api/videos/{video.id}", json.dumps({"language": "zz"}), content_type="application/json")
    assert_error(refused, 400, "invalid_language")
    video.refresh_from_db()
    assert video.language == "fr"
    api.patch(f"/api/videos/{video.id}", json.dumps({"caption": "only the caption"}), content_type="application/json")
    video.refresh_from_db()
    assert video.language == "fr", "left out: unchanged"


def test_the_upload_form_offers_languages_preselects_the_first_and_refuses_an_unknown_one(
    user: User, browser: Client, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    taste_settings_set(user, languages=["de"])
    page = browser.get("/upload").content.decode()
    assert 'name="language"' in page and '<option value="de" selected>German</option>' in page
    with open(clips["portrait"], "rb") as handle:
        refused = browser.post("/upload", {"file": handle, "visibility": "public", "language": "klingon"})
    assert refused.status_code == 400
    assert "Select a valid choice. klingon is not one of the available choices." in refused.content.decode()
    assert not Video.objects.exists()
    with open(clips["portrait"], "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        saved = browser.post("/upload", {"file": handle, "visibility": "public", "language": "ja"})
    assert saved.status_code == 302 and Video.objects.get().language == "ja"


def test_the_author_changes_the_language_on_the_video_page(user: User, browser: Client) -> None:
    video = make_video(user)
    page = browser.get(f"/v/{video.id}").content.decode()
    assert 'id="id_language"' in page and "Spoken language" in page
    browser.post(f"/v/{video.id}/edit", {"caption": "", "visibility": "public", "language": "es"})
    video.refresh_from_db()
    assert video.language == "es"
    assert '<option value="es" selected>Spanish</option>' in browser.get(f"/v/{video.id}").content.decode()
    browser.post(f"/v/{video.id}/edit", {"caption": "", "visibility": "public"})  # a page from before languages
    video.refresh_from_db()
    assert video.language == "es"
