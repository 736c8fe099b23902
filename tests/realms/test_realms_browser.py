"""Two people in two realms, in real Chromium windows: eva (eu, on a phone) and sam (us, on a laptop) each upload
a video, follow each other from the other's profile page, and each watches the other's video play in Following and
in For You. Each one's pages are served working for their own realm; the other's video is a replica whose media
stream from the other realm's store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Http,
    ReelmProcess,
    sign_in,
    start_server,
    wait_for,
)
from tests.e2e.test_feed import assert_plays
from tests.realms.deployment import REALMS, Deployment, signed_in

PEOPLE = {"eva": ("DE", "eu", PHONE), "sam": ("US", "us", DESKTOP)}


@pytest.fixture
def live(realms: Deployment, tmp_path: Path) -> Iterator[tuple[ReelmProcess, Deployment]]:
    server = start_server(
        "reelm-realms", "run", realms.env, tmp_path, "--web-workers", "1", "--threads", "4", "--worker-threads", "1"
    )
    try:
        yield server, realms
    finally:
        server.stop()


def _upload(server: ReelmProcess, name: str, country: str, clip: Path) -> str:
    made = Http(server.base_url).post(
        "/api/accounts", json_body={"username": name, "password": PASSWORD, "country": country}
    )
    assert made.status == 201, made.body
    client = signed_in(server.base_url, name)
    uploaded = client.upload(clip, caption=f"{name}'s view #realms", visibility="public")
    assert uploaded.status == 201, uploaded.body
    video_id = str(uploaded.json()["id"])
    wait_for(
        lambda: client.get(f"/api/videos/{video_id}").json()["state"] == "ready",
        timeout=180,
        interval=0.5,
        message=f"{name}'s video never became ready",
    )
    return video_id


def _reel_of(page: Page, video_id: str) -> str:
    return f"#feed .reel[data-id='{video_id}']"


def _plays(page: Page, video_id: str) -> None:
    """Bring the reel of ``video_id`` into play (keyboard, as a viewer would) and check it plays."""
    ids = page.eval_on_selector_all("#feed .reel", "els => els.map(e => e.dataset.id)")
    assert video_id in ids, ids
    for _ in range(ids.index(video_id)):
        page.keyboard.press("j")
    index = ids.index(video_id)
    expect(page.locator(_reel_of(page, video_id))).to_have_class("reel active")
    assert_plays(page, index)


@pytest.mark.browser
@pytest.mark.timeout(420)
def test_two_realms_follow_each_other_and_watch_each_other(
    live: tuple[ReelmProcess, Deployment], tmp_path: Path, browser_artifacts: Path
) -> None:
    server, realms = live
    videos = {
        name: _upload(server, name, country, make_clip(tmp_path / f"{name}.mp4", size="320x568", duration=4))
        for name, (country, _realm, _device) in PEOPLE.items()
    }
    wait_for(
        lambda: all(
            realms.rows(realm, "SELECT count(*) FROM videos_video WHERE state = 'ready'")[0][0] == 2 for realm in REALMS
        ),
        timeout=60,
        interval=0.25,
        message="the two videos did not reach every realm",
    )
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            pages = {
                name: sign_in(browser, server.base_url, name, device, errors) for name, (_, _, device) in PEOPLE.items()
            }
            for name, other in (("eva", "sam"), ("sam", "eva")):
                page = pages[name]
                page.goto(f"/@{other}")
                follow = page.locator("#follow-button")
                expect(follow).to_have_text("Follow")
                follow.click()
                expect(follow).to_have_text("Unfollow")
                expect(page.locator(f'.grid a[href="/v/{videos[other]}"]')).to_be_visible()
            for name, other in (("eva", "sam"), ("sam", "eva")):
                realm = PEOPLE[name][1]
                wait_for(
                    lambda n=name, r=realm: (
                        realms.rows(r, "SELECT follower_count FROM accounts_user WHERE username = ?", n)[0][0] == 1
                    ),
                    timeout=30,
                    interval=0.25,
                    message=f"{name} was not counted as followed in {realm}",
                )
                page = pages[name]
                page.goto("/feed/following")
                expect(page.locator(_reel_of(page, videos[other]))).to_have_count(1)
                _plays(page, videos[other])
                page.screenshot(path=str(browser_artifacts / f"following-{name}.png"))
                page.goto("/feed")
                expect(page.locator(_reel_of(page, videos[other]))).to_have_count(1)
                _plays(page, videos[other])
                page.screenshot(path=str(browser_artifacts / f"for-you-{name}.png"))
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()
