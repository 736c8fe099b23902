"""The pages a first-time user sees: the video viewer with linked captions and comments, counts said properly,
follower and following lists (private accounts respected as the API does), view counts, the privacy switch."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.recommend.models import VideoSignal
from reelm.relations import services as relations
from reelm.relations.models import Follow, FollowStatus
from reelm.social import services as social
from reelm.videos.models import Video
from tests.conftest import PASSWORD
from tests.social.conftest import client_for, make_video

pytestmark = pytest.mark.django_db


def logged_in(account: User) -> Client:
    client = Client()
    client.force_login(account)
    return client


def section(html: str, start: str, end: str = "</ul>") -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def people(html: str) -> list[str]:
    """The usernames a follower or following list shows, in order."""
    return re.findall(r'class="person-link" href="/@([^"]+)"', html)


def seen(video: Video, impressions: int) -> None:
    VideoSignal.objects.update_or_create(
        video=video,
        defaults={"impressions": impressions},
        create_defaults={"owner": video.owner, "vector": b"", "impressions": impressions},
    )


# --- the video page -------------------------------------------------------------------------------------------


def test_video_page_is_a_viewer_with_linked_caption_and_comments(client: Client, user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD)
    video = make_video(user, caption="Sunset run #Beach with @Bob <script>alert(1)</script>")
    social.comment_create(author=bob, video=video, body="love #beach, thanks @alice & <b>co</b>")
    seen(video, 1234)
    html = client.get(f"/v/{video.id}").content.decode()
    assert 'class="stage"' in html and 'class="watch-side"' in html and 'id="player"' in html
    caption = section(html, '<p class="caption user-text" id="video-caption">', "</p>")
    assert '<a class="tag" href="/tag/beach">#Beach</a>' in caption
    assert '<a class="mention" href="/@bob">@Bob</a>' in caption
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in caption and "<script>alert" not in html
    body = section(html, '<p class="comment-body user-text">', "</p>")
    assert body == (
        'love <a class="tag" href="/tag/beach">#beach</a>, thanks '
        '<a class="mention" href="/@alice">@alice</a> &amp; &lt;b&gt;co&lt;/b&gt;'
    )
    assert "1.2K views" in html
    assert "just now" in section(html, '<p class="comment-head">', "</p>")
    # Visitors are offered Follow through the login page; a signed-in viewer gets the button; the author none.
    assert 'href="/login?next=' in section(html, 'class="author-row"', 'class="caption')
    assert 'id="follow-button"' in logged_in(bob).get(f"/v/{video.id}").content.decode()
    assert 'id="follow-button"' not in logged_in(user).get(f"/v/{video.id}").content.decode()


def test_a_long_unbroken_caption_is_allowed_to_wrap(client: Client, user: User) -> None:
    video = make_video(user, caption="x" * 2200)
    html = client.get(f"/v/{video.id}").content.decode()
    assert '<p class="caption user-text" id="video-caption">' + "x" * 2200 + "</p>" in html
    assert 'id="caption-more" aria-controls="video-caption" aria-expanded="false" hidden>more<' in html


# --- the profile ----------------------------------------------------------------------------------------------


def test_profile_counts_say_one_follower_one_like_and_link_the_lists(client: Client, user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD)
    video = make_video(user)
    social.like_create(user=bob, video=video)
    relations.follow_create(follower=bob, followee=user)
    html = client.get("/@alice").content.decode()
    counts = section(html, 'class="counts"')
    assert (
        'id="follower-count">1</strong> <span id="follower-label" data-one="Follower" data-other="Followers">Follower<'
        in counts
    )
    assert 'id="likes-received">1</strong> <span>Like</span>' in counts
    assert 'href="/@alice/followers"' in counts and 'href="/@alice/following"' in counts
    assert ">Followers<" not in counts and ">Likes<" not in counts

    carol = user_create(username="carol", password=PASSWORD)
    relations.follow_create(follower=carol, followee=user)
    social.like_create(user=carol, video=video)
    counts = section(client.get("/@alice").content.decode(), 'class="counts"')
    assert ">Followers<" in counts and ">Likes<" in counts
    assert 'id="following-count">0</strong> <span>Following<' in counts


def test_profile_grid_shows_view_counts(client: Client, user: User) -> None:
    watched = make_video(user)
    fresh = make_video(user)
    seen(watched, 12_345)
    html = client.get("/@alice").content.decode()
    grid = section(html, '<ul class="grid">')
    tiles = {m[0]: m[1] for m in re.findall(r'href="/v/([^"]+)">.*?class="views">.*?</svg> ([^<]+)<', grid, re.S)}
    assert tiles == {str(watched.id): "12.3K", str(fresh.id): "0"}
    # The API's cards carry no view count.
    assert "views" not in client.get(f"/api/videos/{watched.id}").json()


def test_private_profile_does_not_link_its_lists_for_others(client: Client, user: User) -> None:
    relations.account_privacy_set(user=user, is_private=True)
    assert 'href="/@alice/followers"' not in client.get("/@alice").content.decode()
    assert 'href="/@alice/followers"' in logged_in(user).get("/@alice").content.decode()


# --- follower and following lists -----------------------------------------------------------------------------


def test_follower_and_following_lists_show_the_accounts(client: Client, user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD, display_name="Bob <Builder>")
    carol = user_create(username="carol", password=PASSWORD)
    relations.follow_create(follower=bob, followee=user)
    relations.follow_create(follower=carol, followee=user)
    relations.follow_create(follower=user, followee=bob)

    html = client.get("/@alice/followers").content.decode()
    assert people(html) == ["carol", "bob"]  # newest first, as the API
    assert "Bob &lt;Builder&gt;" in html and "<Builder>" not in html
    assert 'class="avatar small placeholder"' in html
    assert "follow-toggle" not in html  # visitors get no follow buttons
    assert 'aria-current="page">Followers' in html

    following = client.get("/@alice/following").content.decode()
    assert people(following) == ["bob"]
    user_create(username="dave", password=PASSWORD)
    assert people(client.get("/@dave/following").content.decode()) == []
    assert "Not following anyone yet." in client.get("/@dave/following").content.decode()
    assert "No followers yet." in client.get("/@dave/followers").content.decode()

    # A signed-in viewer gets a button per account with its own follow state; none for itself.
    as_carol = logged_in(carol).get("/@alice/followers").content.decode()
    assert 'data-username="bob" data-status="none"' in as_carol
    assert 'data-username="carol"' not in as_carol
    as_user = logged_in(user).get("/@alice/followers").content.decode()
    assert 'data-username="bob" data-status="accepted"' in as_user

    assert client.get("/@nobody/followers").status_code == 404


def test_lists_match_the_api_for_the_same_viewer(user: User, other_user: User) -> None:
    carol = user_create(username="carol", password=PASSWORD)
    relations.follow_create(follower=other_user, followee=user)
    relations.follow_create(follower=carol, followee=user)
    relations.block_create(blocker=carol, blocked=other_user)  # bob and carol hide from each other
    api = client_for(other_user).get("/api/users/alice/followers").json()
    page = logged_in(other_user).get("/@alice/followers").content.decode()
    assert people(page) == [u["username"] for u in api["items"]] == ["bob"]


def test_a_private_account_hides_its_lists_from_non_followers(client: Client, user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD)
    carol = user_create(username="carol", password=PASSWORD)
    dave = user_create(username="dave", password=PASSWORD)
    relations.follow_create(follower=carol, followee=user)
    relations.account_privacy_set(user=user, is_private=True)
    relations.follow_create(follower=bob, followee=user)  # pending

    for who, viewer in (("visitor", client), ("pending", logged_in(bob)), ("stranger", logged_in(dave))):
        for which in ("followers", "following"):
            response = viewer.get(f"/@alice/{which}")
            html = response.content.decode()
            assert response.status_code == 403, who
            assert "This account is private" in html and people(html) == [], who
            api = client_for(bob if who == "pending" else dave) if who != "visitor" else Client()
            assert api.get(f"/api/users/alice/{which}").status_code == 403

    # An approved follower, the account itself and staff see the lists.
    assert people(logged_in(carol).get("/@alice/followers").content.decode()) == ["carol"]
    assert people(logged_in(user).get("/@alice/followers").content.decode()) == ["carol"]
    User.objects.filter(id=dave.id).update(is_staff=True)
    dave.refresh_from_db()
    assert logged_in(dave).get("/@alice/followers").status_code == 200


# --- settings: the privacy switch -----------------------------------------------------------------------------


def profile_post(client: Client, **extra: str) -> None:
    data = {"display_name": "Alice", "bio": "", **extra}
    response = client.post("/settings", data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_privacy_switch_makes_the_account_private_and_public_again(user: User) -> None:
    browser = logged_in(user)
    html = browser.get("/settings").content.decode()
    assert 'type="checkbox" role="switch" name="is_private"' in html
    assert "Private account" in html and "Only followers you approve" in html
    assert "checked" not in section(html, 'class="switch-row"', "</div>")

    profile_post(browser, is_private="on")
    user.refresh_from_db()
    assert user.is_private
    assert " checked" in section(browser.get("/settings").content.decode(), 'class="switch-row"', "</div>")

    bob = user_create(username="bob", password=PASSWORD)
    relations.follow_create(follower=bob, followee=user)
    assert Follow.objects.get(owner=bob, followee=user).status == FollowStatus.PENDING

    profile_post(browser)  # the switch off: public again, and the pending request approved
    user.refresh_from_db()
    assert not user.is_private
    assert Follow.objects.get(owner=bob, followee=user).status == FollowStatus.ACCEPTED
    assert user.follower_count == 1


def test_privacy_switch_calls_the_relations_service(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    real = relations.account_privacy_set

    def spy(*, user: User, is_private: bool) -> User:
        calls.append(is_private)
        return real(user=user, is_private=is_private)

    monkeypatch.setattr("reelm.site.views.account_privacy_set", spy)
    browser = logged_in(user)
    profile_post(browser, is_private="on")
    profile_post(browser, is_private="on")  # unchanged: nothing to do
    profile_post(browser)
    assert calls == [True, False]
