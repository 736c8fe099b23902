"""The vertical feed in a real Chromium on a phone-sized screen: play, move with keys, sound, like."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, Response, expect, sync_playwright

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import CHROMIUM, CHROMIUM_ARGS, Http, ReelmProcess, sign_up_with_token, wait_for


def reel(index: int) -> str:
    return f"#feed .reel[data-index='{index}']"


def video_js(index: int) -> str:
    return f'document.querySelector("{reel(index)} video")'


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_feed_plays_moves_with_keys_toggles_sound_and_likes(
    reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path
) -> None:
    out = browser_artifacts
    base = reelm_server.base_url

    # --- seed three short videos through the HTTP API and wait until they are ready ----------------------------
    maker = sign_up_with_token(base, "maker", PASSWORD, token_name="feed e2e")
    watcher_created = Http(base).post("/api/accounts", json_body={"username": "watcher", "password": PASSWORD})
    assert watcher_created.status == 201, watcher_created.body
    ids = []
    for i in range(3):
        clip = make_clip(tmp_path / f"clip{i}.mp4", size="320x568", duration=4)
        uploaded = maker.upload(clip, caption=f"clip {i} #feed with @watcher", visibility="public")
        assert uploaded.status == 201, uploaded.body
        ids.append(uploaded.json()["id"])
    for video_id in ids:
        wait_for(
            lambda v=video_id: maker.get(f"/api/videos/{v}").json()["state"] == "ready",
            timeout=180,
            interval=0.5,
            message=f"video {video_id} never became ready",
        )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                base_url=base, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
            )
            context.set_default_timeout(20_000)
            page = context.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            # Watch events the player sends: (status, events) of every POST /api/events.
            event_posts: list[tuple[int, list[dict[str, object]]]] = []

            def on_response(response: Response) -> None:
                if response.request.method == "POST" and response.url.endswith("/api/events"):
                    body = json.loads(response.request.post_data or "{}")
                    event_posts.append((response.status, body.get("events", [])))

            page.on("response", on_response)

            page.goto("/login")
            page.fill("#id_username", "watcher")
            page.fill("#id_password", PASSWORD)
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(base + "/")

            page.goto("/feed")
            expect(page.locator("#feed .reel")).to_have_count(3)
            shown = page.eval_on_selector_all("#feed .reel", "els => els.map(e => e.dataset.id)")
            assert sorted(shown) == sorted(ids)
            # The caption's hashtag and mention are links, built from the text.
            expect(page.locator(f"{reel(0)} .caption a[href='/tag/feed']")).to_have_text("#feed")
            expect(page.locator(f"{reel(0)} .caption a[href='/@watcher']")).to_have_text("@watcher")

            assert_plays(page, 0)
            assert page.evaluate(f"{video_js(0)}.muted") is True

            page.keyboard.press("ArrowDown")
            expect(page.locator(reel(1))).to_have_class("reel active")
            assert_plays(page, 1)
            page.wait_for_function(f"() => {video_js(0)}.paused")

            page.keyboard.press("j")
            expect(page.locator(reel(2))).to_have_class("reel active")
            assert_plays(page, 2)
            page.keyboard.press("k")
            expect(page.locator(reel(1))).to_have_class("reel active")
            assert_plays(page, 1)
            assert page.evaluate(f"{video_js(2)}.paused") and page.evaluate(f"{video_js(0)}.paused")
            # The active reel fills the phone screen under the header.
            box = page.locator(reel(1)).bounding_box()
            assert box is not None and box["width"] == 390 and box["height"] > 600, box

            page.keyboard.press("m")
            page.wait_for_function(f"() => {video_js(1)}.muted === false")
            page.keyboard.press("m")
            page.wait_for_function(f"() => {video_js(1)}.muted === true")

            like = page.locator(f"{reel(1)} button.like")
            expect(like).to_have_attribute("aria-pressed", "false")
            expect(like.locator(".count")).to_have_text("0")
            like.click()
            expect(like.locator(".count")).to_have_text("1")
            expect(like).to_have_attribute("aria-pressed", "true")
            liked_id = shown[1]
            assert Http(base).get(f"/api/videos/{liked_id}").json()["like_count"] == 1
            watcher_session = Http(base)
            watcher_session.login("watcher", PASSWORD)
            watcher = Http(base, token=watcher_session.create_token("check"))
            assert watcher.get(f"/api/videos/{liked_id}").json()["liked"] is True

            # The player reported watching the first video and moving on: a batch (sent at most ~10 s later)
            # was accepted with 202 and holds its impression and a watch or skip.
            first_id = shown[0]
            deadline = time.monotonic() + 20
            reported: set[object] = set()
            while time.monotonic() < deadline:
                reported = {
                    e["kind"]
                    for status, events in event_posts
                    if status == 202
                    for e in events
                    if e["video_id"] == first_id
                }
                if "impression" in reported and reported & {"watch", "skip"}:
                    break
                page.wait_for_timeout(500)
            assert "impression" in reported and reported & {"watch", "skip"}, event_posts

            page.screenshot(path=out / "feed.png")
            assert not page_errors, f"JavaScript errors on the page: {page_errors}"
        finally:
            browser.close()


def assert_plays(page: Page, index: int) -> None:
    """The reel's video is playing: not paused, and its currentTime moves forward."""
    video = video_js(index)
    page.wait_for_function(f"() => !{video}.paused && {video}.currentTime > 0.05", timeout=30_000)
    first = page.evaluate(f"{video}.currentTime")
    page.wait_for_function(
        f"t => {{ const v = {video}; return v.currentTime > t + 0.3 || v.currentTime < t - 1; }}", arg=first
    )
    assert not page.evaluate(f"{video}.paused")
