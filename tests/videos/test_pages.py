"""Server-rendered pages: home (the feed), the upload form without JavaScript, the video page in each state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from reelm.accounts.models import User
from reelm.storage.base import ObjectStore
from reelm.videos import services
from reelm.videos.models import Video, VideoHashtag

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_upload_page_requires_login(client: Client) -> None:
    response = client.get("/upload")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_upload_form_works_without_javascript(
    browser: Client, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    page = browser.get("/upload")
    assert b'id="upload-progress"' in page.content and b"reelm/upload.js" in page.content
    with open(clips["portrait"], "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/upload", {"file": handle, "caption": "from the form #nojs", "visibility": "public"})
    video = Video.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/v/{video.id}"
    assert video.state == "ready" and video.caption == "from the form #nojs"
    watch = browser.get(response["Location"])
    assert watch.status_code == 200
    assert b"vendor/hls.js/hls.min.js" in watch.content and b'id="player"' in watch.content
    assert f"/media/videos/{video.id}/hls/master.m3u8".encode() in watch.content


def test_upload_form_shows_the_error_and_stores_nothing(
    browser: Client, tmp_path: Path, media_store: ObjectStore
) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_text("<html><script>alert(1)</script></html>")
    with open(fake, "rb") as handle:
        response = browser.post("/upload", {"file": handle, "visibility": "public"})
    assert response.status_code == 400
    assert b"not a video in a supported container" in response.content
    assert not Video.objects.exists() and list(media_store.list()) == []


def test_home_is_the_feed_with_only_public_ready_videos(
    client: Client, user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        public = services.video_create(owner=user, upload_path=clips["portrait"], caption="public one")
        private = services.video_create(
            owner=user, upload_path=clips["portrait"], caption="private one", visibility="private"
        )
    with django_capture_on_commit_callbacks(execute=False):
        pending = services.video_create(owner=user, upload_path=clips["portrait"], caption="still processing")
    html = client.get("/").content.decode()
    # The front page is the vertical For You feed; its first page is in the HTML for feed.js to play.
    assert 'id="feed-data"' in html and "feed/feed.js" in html
    assert str(public.id) in html
    assert str(private.id) not in html and str(pending.id) not in html


def test_video_page_reports_processing_and_failure(
    browser: Client, user: User, clips: dict[str, Path], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        video = services.video_create(owner=user, upload_path=clips["portrait"])
    page = browser.get(f"/v/{video.id}").content.decode()
    assert "Uploaded" in page and '"state": "uploaded"' in page
    Video.objects.filter(id=video.id).update(state="failed", failure_reason="ffmpeg failed: broken stream")
    page = browser.get(f"/v/{video.id}").content.decode()
    assert "ffmpeg failed: broken stream" in page
    # Someone else cannot see a video that is not ready and public.
    assert Client().get(f"/v/{video.id}").status_code == 404


# --- the video page's social parts ---------------------------------------------------------------------------


def test_video_page_renders_comments_escaped_pinned_first_with_replies(client: Client, user: User) -> None:
    from reelm.accounts.services import user_create
    from reelm.social import services as social
    from tests.conftest import PASSWORD
    from tests.social.conftest import make_video

    bob = user_create(username="bob", password=PASSWORD)
    video = make_video(user, caption="talk to me")
    first = social.comment_create(author=bob, video=video, body="first <script>alert(1)</script>")
    social.comment_create(author=bob, video=video, body="second & newest")
    social.comment_create(author=user, video=video, body="a reply from the author", parent=first)
    social.comment_pin(actor=user, comment=first)

    html = client.get(f"/v/{video.id}").content.decode()
    section = html.split('id="comments"', 1)[1]
    assert "<script>alert(1)</script>" not in html
    assert "first &lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "second &amp; newest" in section
    # The pinned comment comes first even though it is the oldest, and carries its badge.
    assert section.index("first &lt;script") < section.index("second &amp; newest")
    pinned_item = section.split(f'id="c-{first.id}"', 1)[1].split('class="replies"', 1)[0]
    assert '<span class="pin-badge">Pinned</span>' in pinned_item
    # The reply sits in the first comment's thread, after it.
    assert section.index("a reply from the author") < section.index("second &amp; newest")
    assert 'class="comment reply"' in section
    # Visitors read the comments but get a link to log in instead of the form.
    assert "Log in to comment" in section and 'id="comment-form"' not in html
    assert 'id="comment-count">3<' in html
    assert "reelm/social.js" in html


def test_video_page_shows_counts_and_the_viewers_reactions(browser: Client, user: User) -> None:
    from reelm.accounts.services import user_create
    from reelm.social import services as social
    from tests.conftest import PASSWORD
    from tests.social.conftest import make_video

    bob = user_create(username="bob", password=PASSWORD)
    carol = user_create(username="carol", password=PASSWORD)
    video = make_video(bob)
    social.like_create(user=user, video=video)
    social.like_create(user=carol, video=video)
    social.bookmark_create(user=carol, video=video)

    html = browser.get(f"/v/{video.id}").content.decode()
    assert 'id="like-count">2<' in html and 'id="bookmark-count">1<' in html
    like_button = html.split('id="like-button"', 1)[1].split(">", 1)[0]
    bookmark_button = html.split('id="bookmark-button"', 1)[1].split(">", 1)[0]
    assert 'aria-pressed="true"' in like_button and 'aria-pressed="false"' in bookmark_button
    assert 'id="comment-form"' in html and "Log in to comment" not in html
    assert 'data-me="alice"' in html and 'data-video-owner="bob"' in html
    assert f"/v/{video.id}" in html.split('id="share-url"', 1)[1].split(">", 1)[0]


def test_hidden_video_page_shows_no_comments(client: Client, user: User) -> None:
    from reelm.social import services as social
    from tests.social.conftest import make_video

    video = make_video(user, visibility="public")
    social.comment_create(author=user, video=video, body="secret words")
    video.visibility = "private"
    video.save(update_fields=["visibility"])
    response = client.get(f"/v/{video.id}")
    assert response.status_code == 404 and b"secret words" not in response.content


def test_author_edits_caption_and_visibility_from_the_video_page(browser: Client, user: User) -> None:
    from tests.social.conftest import make_video

    video = make_video(user, visibility="public")
    page = browser.get(f"/v/{video.id}").content.decode()
    assert 'id="edit-video"' in page and f'action="/v/{video.id}/edit"' in page

    response = browser.post(f"/v/{video.id}/edit", {"caption": "now #hidden", "visibility": "private"})
    assert response.status_code == 302 and response["Location"] == f"/v/{video.id}"
    video.refresh_from_db()
    assert video.visibility == "private" and video.caption == "now #hidden"
    assert list(VideoHashtag.objects.filter(video=video).values_list("hashtag__name", flat=True)) == ["hidden"]
    assert Client().get(f"/v/{video.id}").status_code == 404
    assert "now private" in browser.get(f"/v/{video.id}").content.decode()


def test_only_the_author_sees_and_uses_the_edit_and_delete_forms(browser: Client, user: User) -> None:
    from reelm.accounts.services import user_create
    from tests.conftest import PASSWORD
    from tests.social.conftest import make_video

    bob = user_create(username="bob", password=PASSWORD)
    video = make_video(bob, visibility="public")
    assert 'id="edit-video"' not in browser.get(f"/v/{video.id}").content.decode()
    assert browser.post(f"/v/{video.id}/edit", {"caption": "mine now", "visibility": "private"}).status_code == 403
    assert browser.post(f"/v/{video.id}/delete").status_code == 403
    assert browser.get(f"/v/{video.id}/edit").status_code == 405
    video.refresh_from_db()
    assert video.visibility == "public" and video.caption != "mine now"
    assert Client().post(f"/v/{video.id}/delete").status_code == 302  # to the login page
    assert Video.objects.filter(id=video.id).exists()


def test_author_deletes_a_video_from_its_page(
    browser: Client, user: User, media_store: ObjectStore, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.social.conftest import make_video

    video = make_video(user, visibility="public")
    media_store.put(f"videos/{video.id}/poster.jpg", b"jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(f"/v/{video.id}/delete")
    assert response.status_code == 302 and response["Location"] == "/@alice"
    assert not Video.objects.filter(id=video.id).exists()
    assert not media_store.exists(f"videos/{video.id}/poster.jpg")
