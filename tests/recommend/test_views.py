"""The feed settings page (/settings/feed) and the For You page's cold-start prompt: plain HTML forms."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.recommend import not_interested
from reelm.recommend.models import NotInterested, Taste
from reelm.recommend.taste import taste_get, taste_settings_set
from reelm.videos.models import Hashtag, Video, VideoHashtag
from tests.feed.conftest import account, video

pytestmark = pytest.mark.django_db

URL = "/settings/feed"


def signed_in(user: User, **kwargs: bool) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def tag(item: Video, *names: str) -> None:
    for name in names:
        hashtag, _ = Hashtag.objects.get_or_create(name=name)
        VideoHashtag.objects.create(owner=item.owner, video=item, hashtag=hashtag)


def settings_form(**changes: object) -> dict[str, object]:
    return {"personalised": "on", "more_following": 50, "more_new_creators": 50, "more_interests": ""} | changes


def test_the_page_needs_a_signed_in_account(viewer: User) -> None:
    page = Client().get(URL)
    assert page.status_code == 302 and page["Location"] == "/login?next=/settings/feed"
    choice = not_interested.not_interested_add(viewer, scope="hashtag", target="cats")
    undo = Client().post(f"{URL}/not-interested/{choice.id}/undo")
    assert undo.status_code == 302 and undo["Location"].startswith("/login?next=")
    assert NotInterested.objects.filter(id=choice.id).exists()


def test_the_page_shows_the_current_settings(viewer: User) -> None:
    taste_settings_set(viewer, personalised=False, more_following=70, interests=["cooking"])
    page = signed_in(viewer).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<input type="radio" name="personalised" value="off"[^>]*checked', html)
    assert re.search(r'<input type="range" name="more_following" value="70"', html)
    assert re.search(r'<input type="checkbox" name="interests" value="cooking"[^>]*checked', html)
    assert "Off: you see the same popular ranking as everyone" in html


def test_saving_changes_the_taste_and_redirects_with_a_message(viewer: User) -> None:
    client = signed_in(viewer)
    form = settings_form(personalised="off", more_following=80, more_new_creators=20)
    saved = client.post(URL, form)
    assert saved.status_code == 302 and saved["Location"] == URL
    taste = Taste.objects.get(owner=viewer)
    assert (taste.personalised, taste.more_following, taste.more_new_creators) == (False, 80, 20)
    assert "Feed settings saved." in client.get(URL).content.decode()
    client.post(URL, settings_form(personalised="on"))
    assert Taste.objects.get(owner=viewer).personalised is True


def test_out_of_range_values_are_rejected_and_nothing_changes(viewer: User) -> None:
    page = signed_in(viewer).post(URL, settings_form(more_following=101, personalised="maybe"))
    assert page.status_code == 400
    taste = taste_get(viewer)
    assert (taste.personalised, taste.more_following) == (True, 50)


def test_interests_come_from_trending_hashtags_and_free_text(viewer: User) -> None:
    maker = account("maker")
    tag(video(maker, caption="#baking"), "baking")
    tag(video(maker, caption="#hiking"), "hiking")
    client = signed_in(viewer)
    html = client.get(URL).content.decode()
    assert 'value="baking"' in html and 'value="hiking"' in html
    saved = client.post(URL, settings_form(interests=["baking"], more_interests="#Cooking, travel  jazz_age"))
    assert saved.status_code == 302
    assert Taste.objects.get(owner=viewer).interests == ["baking", "cooking", "jazz_age", "travel"]
    # Unticking one drops it; the free-text ones are now ticked choices of their own.
    html = client.get(URL).content.decode()
    assert re.search(r'name="interests" value="travel"[^>]*checked', html)
    client.post(URL, settings_form(interests=["baking", "cooking"]))
    assert Taste.objects.get(owner=viewer).interests == ["baking", "cooking"]


def test_a_free_text_interest_that_is_not_a_hashtag_is_an_error(viewer: User) -> None:
    page = signed_in(viewer).post(URL, settings_form(more_interests="cats <dogs>"))
    assert page.status_code == 400
    assert "is not a hashtag" in page.content.decode()
    assert taste_get(viewer).interests == []


def test_too_many_interests_are_an_error(viewer: User) -> None:
    many = " ".join(f"tag{i}" for i in range(21))
    page = signed_in(viewer).post(URL, settings_form(more_interests=many))
    assert page.status_code == 400 and "Pick at most 20 interests." in page.content.decode()


def test_not_interested_choices_are_listed_and_undo_removes_one(viewer: User) -> None:
    maker = account("maker")
    clip = video(maker, caption="a sunny day")
    by_author = not_interested.not_interested_add(viewer, scope="author", target=maker.id.hex)
    by_video = not_interested.not_interested_add(viewer, scope="video", target=clip.id.hex)
    by_tag = not_interested.not_interested_add(viewer, scope="hashtag", target="cats")
    client = signed_in(viewer)
    html = client.get(URL).content.decode()
    assert 'href="/@maker">@maker</a>' in html
    assert f'href="/v/{clip.id}">a sunny day</a>' in html
    assert 'href="/tag/cats">#cats</a>' in html
    assert f'action="{URL}/not-interested/{by_author.id}/undo"' in html
    undone = client.post(f"{URL}/not-interested/{by_author.id}/undo")
    assert undone.status_code == 302 and undone["Location"] == URL
    left = set(NotInterested.objects.filter(owner=viewer).values_list("id", flat=True))
    assert left == {by_video.id, by_tag.id}
    assert "Undone: it can appear in For You again." in client.get(URL).content.decode()


def test_undo_cannot_touch_someone_elses_choice(viewer: User) -> None:
    theirs = not_interested.not_interested_add(account("other"), scope="hashtag", target="cats")
    client = signed_in(viewer)
    client.post(f"{URL}/not-interested/{theirs.id}/undo")
    assert NotInterested.objects.filter(id=theirs.id).exists()
    assert "That was already undone." in client.get(URL).content.decode()
    assert client.get(f"{URL}/not-interested/{theirs.id}/undo").status_code == 405


def test_names_on_the_page_are_escaped(viewer: User) -> None:
    maker = account("maker")
    clip = video(maker, caption="<script>alert('caption')</script>")
    not_interested.not_interested_add(viewer, scope="video", target=clip.id.hex)
    not_interested.not_interested_add(viewer, scope="hashtag", target="<img src=x onerror=alert(1)>")
    Taste.objects.filter(owner=viewer).delete()
    Taste.objects.create(owner=viewer, interests=["<b>bold</b>"])
    html = signed_in(viewer).get(URL).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;caption&#x27;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "#&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>bold</b>" not in html and "#&lt;b&gt;bold&lt;/b&gt;" in html


def test_posts_without_the_csrf_token_are_refused(viewer: User) -> None:
    client = signed_in(viewer, enforce_csrf_checks=True)
    choice = not_interested.not_interested_add(viewer, scope="hashtag", target="cats")
    assert client.post(URL, settings_form(personalised="off")).status_code == 403
    assert client.post(f"{URL}/not-interested/{choice.id}/undo").status_code == 403
    assert taste_get(viewer).personalised is True
    assert NotInterested.objects.filter(id=choice.id).exists()
    # With the token the page hands out, the same post goes through.
    client.get(URL)
    token = client.cookies["csrftoken"].value
    saved = client.post(URL, settings_form(personalised="off", csrfmiddlewaretoken=token))
    assert saved.status_code == 302 and taste_get(viewer).personalised is False


def test_the_settings_page_links_to_the_feed_settings(viewer: User) -> None:
    assert f'href="{URL}"' in signed_in(viewer).get("/settings").content.decode()


def test_for_you_links_to_the_feed_settings_for_signed_in_viewers_only(viewer: User) -> None:
    assert f'href="{URL}"' in signed_in(viewer).get("/feed").content.decode()
    assert f'href="{URL}"' not in Client().get("/feed").content.decode()


def test_a_new_account_is_asked_to_pick_interests_until_it_has_some(viewer: User) -> None:
    client = signed_in(viewer)
    assert 'id="cold-start"' in client.get("/feed").content.decode()
    assert 'id="cold-start"' not in client.get("/feed/following").content.decode()
    assert 'id="cold-start"' not in Client().get("/feed").content.decode()
    taste_settings_set(viewer, interests=["cooking"])
    assert 'id="cold-start"' not in client.get("/feed").content.decode()


def test_an_account_with_history_is_not_asked_to_pick_interests(viewer: User) -> None:
    Taste.objects.create(owner=viewer, impressions=3)
    assert 'id="cold-start"' not in signed_in(viewer).get("/feed").content.decode()


def test_only_for_you_asks_a_viewer_it_knows_nothing_about_for_interests(viewer: User) -> None:
    client = signed_in(viewer)
    assert 'id="cold-start"' in client.get("/feed").content.decode()
    assert 'id="cold-start"' not in client.get("/feed/following").content.decode()
    taste_settings_set(viewer, interests=["cooking"])
    assert 'id="cold-start"' not in client.get("/feed").content.decode()
