"""Searching a creator's name finds their videos too (after caption matches), and accounts show as cards."""

from __future__ import annotations

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.relations.services import account_privacy_set, follow_create
from tests.conftest import PASSWORD
from tests.search.test_search import found, tagged, video_ids
from tests.social.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_creators_name_finds_their_videos_after_caption_matches(user: User, client: Client) -> None:
    jo = user_create(username="skater_jo", password=PASSWORD, display_name="Josephine Halfpipe")
    first = tagged(jo, "morning session")
    second = tagged(jo, "evening session")
    about = tagged(user, "watching josephine skate")  # the name in a caption: a caption match, first
    assert video_ids(client, "josephine") == [str(about.id), str(second.id), str(first.id)]
    assert video_ids(client, "halfpipe") == [str(second.id), str(first.id)]
    assert video_ids(client, "skater_jo") == [str(second.id), str(first.id)]
    assert video_ids(client, "jos half") == [str(second.id), str(first.id)]  # every word, as prefixes
    assert video_ids(client, "Jösephine") == [str(about.id), str(second.id), str(first.id)]  # accents folded
    body = found(client, "josephine")
    assert [a["username"] for a in body["accounts"]] == ["skater_jo"]
    assert len(body["videos"]) == 3


def test_a_bio_match_does_not_bring_the_accounts_videos(client: Client) -> None:
    dana = user_create(username="dana", password=PASSWORD)
    User.objects.filter(id=dana.id).update(bio="I film sunsets")
    tagged(dana, "beach day")
    assert video_ids(client, "sunsets") == []


def test_a_creators_hidden_videos_stay_hidden(user: User, other_user: User, client: Client) -> None:
    jo = user_create(username="skater_jo", password=PASSWORD, display_name="Josephine")
    public = tagged(jo, "public one")
    friends = tagged(jo, "for friends", visibility="followers")
    tagged(jo, "just me", visibility="private")
    tagged(jo, "not ready", state="processing")
    assert video_ids(client, "josephine") == [str(public.id)]
    follow_create(follower=other_user, followee=jo)
    assert video_ids(client_for(other_user), "josephine") == [str(friends.id), str(public.id)]
    account_privacy_set(user=jo, is_private=True)
    assert video_ids(client, "josephine") == []


def test_the_search_page_shows_accounts_as_cards_and_the_creators_videos(user: User, client: Client) -> None:
    jo = user_create(username="skater_jo", password=PASSWORD, display_name="Josephine <Halfpipe>")
    follow_create(follower=user, followee=jo)
    video = tagged(jo, "evening session")
    html = client.get("/search", {"q": "josephine"}).content.decode()
    cards = html.split('class="accounts account-cards"', 1)[1].split("</ul>", 1)[0]
    assert 'class="account-card"' in cards and 'href="/@skater_jo"' in cards
    assert "Josephine &lt;Halfpipe&gt;" in cards and "<Halfpipe>" not in html
    assert "@skater_jo" in cards and "1 follower<" in cards
    assert 'class="avatar small placeholder"' in cards
    assert f'href="/v/{video.id}"' in html
