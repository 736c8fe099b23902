"""Sharing a public video on another site: the embed player page, the embed code and the oEmbed endpoint."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from reelm.accounts.models import User
from tests.helpers import assert_error
from tests.social.conftest import make_video

pytestmark = pytest.mark.django_db
ORIGIN = "http://testserver"


def test_embed_page_may_be_framed_by_any_site_and_plays_the_video(client: Client, user: User) -> None:
    video = make_video(user, caption="framed #clip")
    response = client.get(f"/embed/{video.id}")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    page = response.content.decode()
    assert 'id="player"' in page and "reelm/player.js" in page and f'href="/v/{video.id}"' in page
    # The ordinary pages still refuse to be framed.
    normal = client.get(f"/v/{video.id}")
    assert normal["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in normal["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("visibility", "state", "private_account"),
    [
        ("private", "ready", False),
        ("followers", "ready", False),
        ("public", "processing", False),
        ("public", "ready", True),
    ],
)
def test_only_public_ready_videos_of_public_accounts_embed(
    client: Client, user: User, visibility: str, state: str, private_account: bool
) -> None:
    user.is_private = private_account
    user.save(update_fields=["is_private"])
    video = make_video(user, visibility=visibility, state=state, caption="not for others")
    owner = Client()
    owner.force_login(user)
    for viewer in (client, owner):  # not even its author gets an embed of a hidden video
        response = viewer.get(f"/embed/{video.id}")
        assert response.status_code == 404 and b"not for others" not in response.content
    assert 'id="embed-code"' not in owner.get(f"/v/{video.id}").content.decode()
    url = f"{ORIGIN}/v/{video.id}"
    assert_error(client.get("/api/videos/oembed", {"url": url}), 404, "not_found")


def test_video_page_offers_the_embed_code_and_oembed_discovery(client: Client, user: User) -> None:
    video = make_video(user)
    page = client.get(f"/v/{video.id}").content.decode()
    code = html.unescape(page.split('id="embed-code" readonly rows="4">', 1)[1].split("</textarea>", 1)[0])
    assert code.startswith(f'<iframe src="{ORIGIN}/embed/{video.id}" width="325" height="577"')
    assert 'title="Video by @alice on Reelm"' in code
    assert 'type="application/json+oembed"' in page and "/api/videos/oembed?url=" in page


def test_oembed_answers_for_a_public_video_page(client: Client, user: User) -> None:
    video = make_video(user, caption="hello <b>world</b>")
    response = client.get("/api/videos/oembed", {"url": f"{ORIGIN}/v/{video.id}", "maxwidth": "200"})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "video" and body["version"] == "1.0"
    assert body["author_name"] == "alice" and body["author_url"] == f"{ORIGIN}/@alice"
    assert body["title"] == "hello <b>world</b>"  # JSON text; consumers escape it
    assert (body["width"], body["height"]) == (200, 355)
    assert body["html"].startswith(f'<iframe src="{ORIGIN}/embed/{video.id}" width="200" height="355"')
    assert "<b>" not in body["html"]


@pytest.mark.parametrize(
    "url",
    [
        "http://elsewhere.example/v/01a2149c-d935-704f-bb1c-90faa1511342",
        f"{ORIGIN}/@alice",
        f"{ORIGIN}/v/not-a-uuid",
        "javascript:alert(1)",
        f"{ORIGIN}/v/01a2149c-d935-704f-bb1c-90faa1511342",  # no such video
    ],
)
def test_oembed_refuses_other_urls(client: Client, url: str) -> None:
    assert_error(client.get("/api/videos/oembed", {"url": url}), 404, "not_found")


def test_oembed_offers_json_only_and_needs_a_url(client: Client, user: User) -> None:
    video = make_video(user)
    url = f"{ORIGIN}/v/{video.id}"
    assert_error(client.get("/api/videos/oembed", {"url": url, "format": "xml"}), 501, "format_not_supported")
    assert client.get("/api/videos/oembed").status_code == 422
