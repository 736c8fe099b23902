"""The profile page: counts, the follow button, the owner's Liked and Bookmarked tabs, private accounts; and the
follow requests on the settings page."""

from __future__ import annotations

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.accounts.services import user_create
from reelm.relations import services as relations
from reelm.relations.models import Follow
from reelm.social import services as social
from reelm.videos.models import Video
from tests.conftest import PASSWORD
from tests.social.conftest import make_video

pytestmark = pytest.mark.django_db


def logged_in(account: User) -> Client:
    client = Client()
    client.force_login(account)
    return client


def grid_links(html: str) -> set[str]:
    grid = html.split('<ul class="grid">', 1)[1].split("</ul>", 1)[0] if '<ul class="grid">' in html else ""
    return {part.split('"', 1)[0] for part in grid.split('href="/v/')[1:]}


def like(video: Video, *accounts: User) -> None:
    for account in accounts:
        social.like_create(user=account, video=video)


def test_profile_shows_counts_and_likes_received_over_visible_videos(client: Client, user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD)
    carol = user_create(username="carol", password=PASSWORD)
    public = make_video(user, caption="public one")
    followers_only = make_video(user, visibility="followers", caption="for friends")
    private = make_video(user, visibility="private", caption="just me")
    like(public, bob, carol)
    like(followers_only, bob)
    # Likes on a private video are only the author's to see.
    private.like_count = 5
    private.save(update_fields=["like_count"])
    relations.follow_create(follower=bob, followee=user)
    relations.follow_create(follower=carol, followee=user)
    relations.follow_create(follower=user, followee=bob)
    user.bio = "I <3 <b>video</b>"
    user.save(update_fields=["bio"])

    html = client.get("/@alice").content.decode()
    assert 'id="follower-count">2<' in html and 'id="following-count">1<' in html
    assert 'id="likes-received">2<' in html  # a visitor sees the public video's likes only
    assert "I &lt;3 &lt;b&gt;video&lt;/b&gt;" in html
    assert grid_links(html) == {str(public.id)}

    bobs_view = logged_in(bob).get("/@alice").content.decode()
    assert 'id="likes-received">3<' in bobs_view  # a follower also sees the followers-only video
    assert grid_links(bobs_view) == {str(public.id), str(followers_only.id)}
    assert 'data-status="accepted"' in bobs_view and ">Unfollow<" in bobs_view

    own = logged_in(user).get("/@alice").content.decode()
    assert 'id="likes-received">8<' in own
    assert grid_links(own) == {str(public.id), str(followers_only.id), str(private.id)}
    assert 'id="follow-button"' not in own


def test_liked_and_bookmarked_tabs_are_only_for_the_owner(user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD)
    own_video = make_video(user, caption="mine")
    liked = make_video(bob, caption="liked by alice")
    saved = make_video(bob, caption="saved by alice")
    like(liked, user)
    social.bookmark_create(user=user, video=saved)

    alice = logged_in(user)
    page = alice.get("/@alice").content.decode()
    assert "?tab=liked" in page and "?tab=bookmarked" in page
    assert grid_links(page) == {str(own_video.id)}
    assert grid_links(alice.get("/@alice?tab=liked").content.decode()) == {str(liked.id)}
    assert grid_links(alice.get("/@alice?tab=bookmarked").content.decode()) == {str(saved.id)}
    assert grid_links(alice.get("/@alice?tab=nonsense").content.decode()) == {str(own_video.id)}

    # Anyone else asking for those tabs gets the normal videos tab, and no tab links.
    for client in (logged_in(bob), Client()):
        for tab in ("liked", "bookmarked"):
            html = client.get(f"/@alice?tab={tab}").content.decode()
            assert grid_links(html) == {str(own_video.id)}, tab
            assert "?tab=liked" not in html and "?tab=bookmarked" not in html


def test_liked_tab_drops_videos_the_owner_can_no_longer_see(user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD)
    gone = make_video(bob, caption="going private")
    kept = make_video(bob, caption="staying")
    like(gone, user)
    like(kept, user)
    gone.visibility = "private"
    gone.save(update_fields=["visibility"])
    html = logged_in(user).get("/@alice?tab=liked").content.decode()
    assert grid_links(html) == {str(kept.id)}


def test_private_account_shows_a_message_to_non_followers(client: Client, user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD)
    carol = user_create(username="carol", password=PASSWORD)
    relations.account_privacy_set(user=user, is_private=True)
    video = make_video(user, caption="hidden away")
    like(video, user)
    relations.follow_create(follower=bob, followee=user)  # pending until alice approves

    for viewer in (client, logged_in(carol), logged_in(bob)):
        html = viewer.get("/@alice").content.decode()
        assert "This account is private" in html
        assert grid_links(html) == set() and "hidden away" not in html
        assert 'id="likes-received">0<' in html
    pending = logged_in(bob).get("/@alice").content.decode()
    assert 'data-status="pending"' in pending and ">Requested<" in pending
    assert 'data-status="none"' in logged_in(carol).get("/@alice").content.decode()

    request_id = Follow.objects.get(owner=bob, followee=user).id
    relations.follow_request_approve(account=user, request_id=request_id)
    approved = logged_in(bob).get("/@alice").content.decode()
    assert "This account is private" not in approved
    assert grid_links(approved) == {str(video.id)}
    assert "This account is private" not in logged_in(user).get("/@alice").content.decode()


def test_settings_lists_pending_follow_requests(user: User) -> None:
    bob = user_create(username="bob", password=PASSWORD, display_name="Bob <Builder>")
    relations.account_privacy_set(user=user, is_private=True)
    follow, _ = relations.follow_create(follower=bob, followee=user)
    html = logged_in(user).get("/settings").content.decode()
    requests = html.split('id="requests"', 1)[1].split("</section>", 1)[0]
    assert f'data-id="{follow.id}"' in requests and "Bob &lt;Builder&gt; (@bob)" in requests
    assert "Approve" in requests and "Decline" in requests
    assert "<title>Settings · Reelm</title>" in html
    relations.follow_request_approve(account=user, request_id=follow.id)
    after = logged_in(user).get("/settings").content.decode().split('id="requests"', 1)[1].split("</section>", 1)[0]
    assert "No pending requests." in after and "@bob" not in after
