"""The feed's player in a real Chromium against a real ``reelm run``, on a phone (390×844) and a desktop (1366×768):
the sound button and its remembered choice, tap to pause, the progress bar, double-tap to like, the layout (nothing
overflows, every button on screen, the first-visit banner off the video), the desktop comments panel, and the
"You're all caught up" divider once For You runs out of fresh videos."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
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
    sign_up_with_token,
    wait_for,
)
from tests.e2e.test_feed import assert_plays, reel, video_js

SOUND_KEY = "reelm:sound"


def _seed(base: str, tmp_path: Path, count: int, duration: float) -> list[str]:
    """``count`` public videos by one maker, made by ffmpeg and uploaded through the API, ready to play."""
    maker = sign_up_with_token(base, "player_maker", PASSWORD, token_name="player e2e")
    ids = []
    for i in range(count):
        clip = make_clip(tmp_path / f"player{i}.mp4", size="320x568", duration=duration)
        uploaded = maker.upload(clip, caption=f"player clip {i} #player", visibility="public")
        assert uploaded.status == 201, uploaded.body
        ids.append(uploaded.json()["id"])
    for video_id in ids:
        wait_for(
            lambda v=video_id: maker.get(f"/api/videos/{v}").json()["state"] == "ready",
            timeout=180,
            interval=0.5,
            message=f"video {video_id} never became ready",
        )
    return ids


def _open_feed(page: Page, count: int) -> None:
    page.goto("/feed")
    expect(page.locator("#feed .reel")).to_have_count(count)
    expect(page.locator(reel(0))).to_have_class("reel active")


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} has no box"
    return box


def _fits_the_window(page: Page) -> None:
    """No scrolling sideways (nor the page itself up and down), and the playing video inside the window."""
    size = page.evaluate(
        "() => ({iw: innerWidth, ih: innerHeight, sw: document.documentElement.scrollWidth,"
        " bw: document.body.scrollWidth, sh: document.documentElement.scrollHeight})"
    )
    assert size["sw"] <= size["iw"] and size["bw"] <= size["iw"], size
    assert size["sh"] <= size["ih"], size
    video = _box(page, "#feed .reel.active video")
    assert video["y"] >= 0 and video["x"] >= 0, video
    assert video["y"] + video["height"] <= size["ih"] + 0.01, (video, size)
    assert video["x"] + video["width"] <= size["iw"] + 0.01, (video, size)


def _inside_window(page: Page, selector: str) -> None:
    size = page.viewport_size
    assert size is not None
    for i in range(page.locator(selector).count()):
        box = page.locator(selector).nth(i).bounding_box()
        assert box is not None, f"{selector} #{i} is not shown"
        assert box["x"] >= 0 and box["y"] >= 0, (selector, i, box)
        assert box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"], (
            selector,
            i,
            box,
            size,
        )


def _stage_point(page: Page, index: int, fx: float = 0.5, fy: float = 0.4) -> tuple[float, float]:
    """A point on the reel's video (away from its buttons, caption and progress bar)."""
    box = _box(page, f"{reel(index)} .reel-stage")
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def _tap(page: Page, x: float, y: float, touch: bool) -> None:
    if touch:
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)


def _double_tap(page: Page, x: float, y: float, touch: bool) -> None:
    if touch:
        page.touchscreen.tap(x, y)
        page.touchscreen.tap(x + 4, y + 3)
    else:
        page.mouse.dblclick(x, y)


def _stored_sound(page: Page) -> str | None:
    return page.evaluate(f"() => localStorage.getItem({json.dumps(SOUND_KEY)})")


@pytest.mark.browser
@pytest.mark.timeout(420)
def test_player_controls_layout_and_comments_panel(
    reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path
) -> None:
    out = browser_artifacts
    base = reelm_server.base_url
    ids = _seed(base, tmp_path, 3, 5)
    created = Http(base).post("/api/accounts", json_body={"username": "player_fan", "password": PASSWORD})
    assert created.status == 201, created.body
    errors: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # === the phone ==========================================================================================
            page = sign_in(browser, base, "player_fan", PHONE, errors)
            _open_feed(page, 3)
            assert_plays(page, 0)
            stage0 = f"{reel(0)} .reel-stage"

            # --- the layout: nothing sideways, the video inside the window, every button on screen -----------------
            _fits_the_window(page)
            _inside_window(page, f"{reel(0)} .actions > button")
            _inside_window(page, f"{reel(0)} .mute")
            expect(page.locator(f"{reel(0)} .actions > button")).to_have_count(6)  # like … not interested
            # The first-visit prompt is a compact banner above the feed: it covers no video.
            banner = page.locator("#cold-start")
            expect(banner).to_be_visible()
            expect(banner.get_by_role("link", name="Pick interests")).to_be_visible()
            banner_box = _box(page, "#cold-start")
            assert banner_box["y"] + banner_box["height"] <= _box(page, stage0)["y"] + 0.5, banner_box
            assert banner_box["height"] < 80, banner_box
            page.screenshot(path=out / "phone-feed.png")
            banner.get_by_role("button", name="Not now").click()
            expect(banner).to_be_hidden()
            _fits_the_window(page)
            _inside_window(page, f"{reel(0)} .actions > button")

            # --- the sound button: muted autoplay first; the choice is remembered across a reload --------------------
            mute = page.locator(f"{reel(0)} button.mute")
            expect(mute).to_have_accessible_name("Mute")
            expect(mute).to_have_attribute("aria-pressed", "true")
            assert page.evaluate(f"{video_js(0)}.muted") is True
            mute.tap()
            page.wait_for_function(f"() => {video_js(0)}.muted === false")
            expect(mute).to_have_attribute("aria-pressed", "false")
            assert _stored_sound(page) == "on"
            page.reload()
            expect(page.locator("#feed .reel")).to_have_count(3)
            assert_plays(page, 0)
            # Browsers autoplay muted; the viewer's first gesture brings the remembered sound back.
            expect(page.locator(f"{reel(0)} button.mute")).to_have_attribute("aria-pressed", "true")
            page.touchscreen.tap(*_stage_point(page, 0))
            page.wait_for_function(f"() => {video_js(0)}.muted === false")
            expect(page.locator(f"{reel(0)} button.mute")).to_have_attribute("aria-pressed", "false")
            page.wait_for_timeout(500)
            assert not page.evaluate(f"{video_js(0)}.paused"), "the tap that brought the sound back paused"
            # Moving on keeps the sound on; the sound button turns it off again, and that is remembered too.
            page.keyboard.press("ArrowDown")
            expect(page.locator(reel(1))).to_have_class("reel active")
            page.wait_for_function(f"() => !{video_js(1)}.paused && {video_js(1)}.muted === false")
            page.locator(f"{reel(1)} button.mute").tap()
            page.wait_for_function(f"() => {video_js(1)}.muted === true")
            assert _stored_sound(page) == "off"
            page.reload()
            expect(page.locator("#feed .reel")).to_have_count(3)
            assert_plays(page, 0)

            # --- a tap pauses with an indicator; a tap again plays --------------------------------------------------
            indicator = page.locator(f"{reel(0)} .tap-indicator")
            x, y = _stage_point(page, 0)
            page.touchscreen.tap(x, y)
            page.wait_for_function(f"() => {video_js(0)}.paused")
            expect(indicator).to_have_attribute("data-state", "paused")
            page.wait_for_function(
                f"() => getComputedStyle(document.querySelector(\"{reel(0)} .tap-indicator\")).opacity === '1'"
            )
            assert page.evaluate(f"{video_js(0)}.muted") is True, "a tap must not change the sound any more"
            page.screenshot(path=out / "phone-paused.png")
            page.touchscreen.tap(x, y)
            assert_plays(page, 0)
            expect(indicator).to_have_attribute("data-state", "playing")

            # --- the progress bar: a drag and a click seek; arrow keys seek when it has focus ----------------------
            bar = f"{reel(0)} .progress"
            expect(page.locator(bar)).to_have_attribute("role", "slider")
            page.touchscreen.tap(x, y)  # pause, so the positions below stay put
            page.wait_for_function(f"() => {video_js(0)}.paused")
            duration = page.evaluate(f"{video_js(0)}.duration")
            assert 4 < duration < 6, duration
            track = _box(page, bar)
            mid_y = track["y"] + track["height"] / 2
            page.mouse.move(track["x"] + track["width"] * 0.2, mid_y)
            page.mouse.down()
            page.mouse.move(track["x"] + track["width"] * 0.5, mid_y, steps=4)
            page.mouse.move(track["x"] + track["width"] * 0.8, mid_y, steps=4)
            page.mouse.up()
            at = page.evaluate(f"{video_js(0)}.currentTime")
            assert abs(at - duration * 0.8) < 0.35, (at, duration)
            page.mouse.click(track["x"] + track["width"] * 0.25, mid_y)
            at = page.evaluate(f"{video_js(0)}.currentTime")
            assert abs(at - duration * 0.25) < 0.35, (at, duration)
            assert page.evaluate(f"{video_js(0)}.paused"), "seeking does not start a paused video"
            page.locator(bar).focus()
            page.keyboard.press("ArrowRight")
            later = page.evaluate(f"{video_js(0)}.currentTime")
            assert later > at + 0.5, (at, later)
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
            earlier = page.evaluate(f"{video_js(0)}.currentTime")
            assert earlier < later - 1.0, (later, earlier)
            page.keyboard.press("ArrowDown")  # on the bar, the arrows seek rather than move on
            expect(page.locator(reel(0))).to_have_class("reel active")
            assert page.evaluate("() => document.activeElement.getAttribute('role')") == "slider"
            now = page.evaluate(f"{video_js(0)}.currentTime")
            assert int(page.locator(bar).get_attribute("aria-valuenow") or "-1") == round(now)
            page.touchscreen.tap(x, y)
            assert_plays(page, 0)

            # --- a double-tap likes, with a heart where the finger was; a second double-tap never unlikes ----------
            like = page.locator(f"{reel(0)} button.like")
            expect(like).to_have_attribute("aria-pressed", "false")
            expect(like.locator(".count")).to_have_text("0")
            _double_tap(page, x, y, touch=True)
            expect(page.locator(f"{reel(0)} .heart").first).to_be_attached()
            expect(like).to_have_attribute("aria-pressed", "true")
            expect(like.locator(".count")).to_have_text("1")
            page.wait_for_timeout(600)
            assert not page.evaluate(f"{video_js(0)}.paused"), "a double-tap must not pause"
            expect(like).to_be_enabled()
            _double_tap(page, x, y, touch=True)
            page.wait_for_timeout(800)
            expect(like).to_have_attribute("aria-pressed", "true")
            expect(like.locator(".count")).to_have_text("1")
            assert not page.evaluate(f"{video_js(0)}.paused")
            liked_id = page.locator(reel(0)).get_attribute("data-id")
            assert liked_id in ids
            assert page.request.get(f"/api/videos/{liked_id}").json()["liked"] is True

            # --- the keyboard shortcuts still work ---------------------------------------------------------------
            page.keyboard.press("j")
            expect(page.locator(reel(1))).to_have_class("reel active")
            _fits_the_window(page)
            _inside_window(page, f"{reel(1)} .actions > button")
            page.keyboard.press("k")
            expect(page.locator(reel(0))).to_have_class("reel active")
            page.screenshot(path=out / "phone-feed-liked.png")

            # === the desktop ======================================================================================
            wide = sign_in(browser, base, "player_fan", DESKTOP, errors)
            _open_feed(wide, 3)
            assert_plays(wide, 0)
            _fits_the_window(wide)
            _inside_window(wide, f"{reel(0)} .actions > button")
            stage = _box(wide, f"{reel(0)} .reel-stage")
            video = _box(wide, f"{reel(0)} video")
            # The caption and author sit on the video, at its bottom left …
            caption = _box(wide, f"{reel(0)} .overlay")
            author = _box(wide, f"{reel(0)} .overlay .author")
            assert (
                stage["x"] - 0.5 <= caption["x"]
                and caption["x"] + caption["width"] <= stage["x"] + stage["width"] + 0.5
            )
            assert caption["y"] + caption["height"] <= stage["y"] + stage["height"] + 0.5, (caption, stage)
            assert author["x"] < stage["x"] + 40 and author["y"] > stage["y"] + stage["height"] / 2, (author, stage)
            # … and the buttons right beside the video's right edge, not the window's.
            actions = _box(wide, f"{reel(0)} .actions")
            gap = actions["x"] - (stage["x"] + stage["width"])
            assert 0 <= gap <= 40, (gap, actions, stage)
            assert abs((video["x"] + video["width"]) - (stage["x"] + stage["width"])) < 1, (video, stage)
            # The progress bar spans the video's bottom edge.
            progress = _box(wide, f"{reel(0)} .progress")
            assert abs(progress["x"] - stage["x"]) < 1 and abs(progress["width"] - stage["width"]) < 1, progress
            assert abs((progress["y"] + progress["height"]) - (stage["y"] + stage["height"])) < 1, progress
            wide.screenshot(path=out / "desktop-feed.png")

            # A click pauses, a click again plays (mouse as well as touch).
            wx, wy = _stage_point(wide, 0)
            _tap(wide, wx, wy, touch=False)
            wide.wait_for_function(f"() => {video_js(0)}.paused")
            expect(wide.locator(f"{reel(0)} .tap-indicator")).to_have_attribute("data-state", "paused")
            _tap(wide, wx, wy, touch=False)
            assert_plays(wide, 0)

            # --- comments open in a panel beside the video, without leaving the feed; a comment posted there shows --
            comments = wide.locator(f"{reel(0)} button.comments")
            expect(comments.locator(".count")).to_have_text("0")
            comments.click()
            panel = wide.locator("#comments-panel")
            expect(panel).to_be_visible()
            expect(comments).to_have_attribute("aria-expanded", "true")
            assert wide.url.rstrip("/").endswith("/feed"), wide.url
            expect(panel.locator(".comment-list")).to_contain_text("No comments yet.")
            _fits_the_window(wide)
            _inside_window(wide, "#comments-panel")
            panel_box = _box(wide, "#comments-panel")
            stage = _box(wide, f"{reel(0)} .reel-stage")
            actions = _box(wide, f"{reel(0)} .actions")
            assert panel_box["x"] >= actions["x"] + actions["width"] - 0.5, (panel_box, actions)
            assert panel_box["x"] >= stage["x"] + stage["width"], (panel_box, stage)
            wide.fill("#comments-panel-body", "Posted from the feed panel")
            wide.locator("#comments-panel-form button[type=submit]").click()
            first = panel.locator(".comment-list > li.comment").first
            expect(first.locator(".comment-body")).to_have_text("Posted from the feed panel")
            expect(first.locator(".comment-head a")).to_have_text("@player_fan")
            expect(comments.locator(".count")).to_have_text("1")
            expect(wide.locator("#comments-panel-count")).to_have_text("1")
            video_id = wide.locator(reel(0)).get_attribute("data-id")
            listed = wide.request.get(f"/api/videos/{video_id}/comments").json()["items"]
            assert [c["body"] for c in listed] == ["Posted from the feed panel"], listed
            wide.screenshot(path=out / "desktop-comments.png")
            # The next video brings its own comments into the open panel; Escape closes it.
            wide.locator("#comments-panel-title").focus()
            wide.keyboard.press("j")
            expect(wide.locator(reel(1))).to_have_class("reel active")
            expect(wide.locator(f"{reel(1)} button.comments")).to_have_attribute("aria-expanded", "true")
            expect(panel.locator(".comment-list")).to_contain_text("No comments yet.")
            _fits_the_window(wide)
            wide.locator("#comments-panel-body").focus()
            wide.keyboard.press("Escape")
            expect(panel).to_be_hidden()
            expect(wide.locator(f"{reel(1)} button.comments")).to_be_focused()
            # l likes (or unlikes) the video playing, as its button does; m turns the sound on.
            like1 = wide.locator(f"{reel(1)} button.like")
            before = like1.get_attribute("aria-pressed")
            wide.keyboard.press("l")
            expect(like1).to_have_attribute("aria-pressed", "false" if before == "true" else "true")
            wide.keyboard.press("m")
            wide.wait_for_function(f"() => {video_js(1)}.muted === false")
            assert _stored_sound(wide) == "on"
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_caught_up_divider_after_the_last_fresh_video(
    reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path
) -> None:
    """A viewer who watched all but one video: For You shows the fresh one, then, once fresh videos run out, the
    ones seen before (``seen_before``), with one "You're all caught up" divider before the first of them."""
    out = browser_artifacts
    base = reelm_server.base_url
    ids = _seed(base, tmp_path, 3, 2)
    created = Http(base).post("/api/accounts", json_body={"username": "caught_viewer", "password": PASSWORD})
    assert created.status == 201, created.body
    watched = ids[:2]
    errors: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # Signing in lands on a page other than For You ("/" is For You, and what it shows counts as seen).
            context = browser.new_context(base_url=base, **PHONE)
            context.set_default_timeout(20_000)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto("/login?next=/settings")
            page.fill("#id_username", "caught_viewer")
            page.fill("#id_password", PASSWORD)
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(base + "/settings")
            # The viewer watched two of the three videos to the end (as the player reports it).
            session = uuid.uuid4().hex
            now = datetime.now(UTC).isoformat()
            events = [
                {
                    "video_id": v,
                    "kind": kind,
                    "watched_ms": 2000,
                    "duration_ms": 2000,
                    "session_id": session,
                    "client_at": now,
                }
                for v in watched
                for kind in ("impression", "complete")
            ]
            csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
            sent = page.request.post("/api/events", data={"events": events}, headers={"X-CSRFToken": csrf})
            assert sent.status == 202, sent.text()
            assert sent.json()["stored"] == len(events), sent.text()

            page.goto("/feed")
            page.wait_for_function("() => document.querySelectorAll('#feed .reel').length >= 1")
            divider = page.locator("#feed .caught-up")
            expect(divider).to_have_count(1, timeout=30_000)
            expect(divider).to_contain_text("You're all caught up")
            order = page.eval_on_selector_all(
                "#feed .reel",
                "els => els.map(e => ({id: e.dataset.id, seen: e.dataset.seenBefore === 'true',"
                " divider: !!e.querySelector('.caught-up')}))",
            )
            first_seen = next(i for i, r in enumerate(order) if r["seen"])
            assert order[first_seen]["divider"], order
            assert first_seen >= 1 and not any(r["seen"] for r in order[:first_seen]), order
            assert ids[2] in [r["id"] for r in order[:first_seen]], order
            assert {r["id"] for r in order[first_seen:]} & set(watched), order
            for _ in range(first_seen):
                page.keyboard.press("j")
            expect(page.locator(reel(first_seen))).to_have_class("reel active")
            expect(divider).to_be_visible()
            _fits_the_window(page)
            page.screenshot(path=out / "caught-up-phone.png")
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()
