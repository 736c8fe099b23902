"""The pages a first-time user sees, in a real Chromium on a phone (390×844) and a desktop (1366×768): none of them
scrolls sideways (not even a video with a 2 200-character unbroken caption), each is saved as a screenshot under
test-results/, the privacy switch works, opening the notifications clears the badge, and the upload form counts
the caption down and shows its errors next to their fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import CHROMIUM, CHROMIUM_ARGS, DEVICES, Http, ReelmProcess, sign_up_with_token, wait_for

LONG_CAPTION = "W" * 2200
CAPTION = "Golden hour at the skatepark #skate #sunset with @page_viewer — who's coming tomorrow?"
NO_SIDEWAYS_SCROLL = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def _ready(client: Http, video_id: str) -> None:
    wait_for(
        lambda: client.get(f"/api/videos/{video_id}").json()["state"] == "ready",
        timeout=180,
        interval=0.5,
        message=f"video {video_id} never became ready",
    )


def _check(page: Page, out: Path, device: str, name: str, width: int) -> None:
    """The page fits its width (no sideways scrolling) and is saved as ``<device>-<name>.png``."""
    page.wait_for_load_state("networkidle")
    scroll_width, inner_width = page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(out / f"{device}-{name}.png"), full_page=True)
    assert scroll_width <= inner_width, f"{device} {name}: scrollWidth {scroll_width} > innerWidth {inner_width}"
    assert scroll_width <= width, f"{device} {name}: scrollWidth {scroll_width} > {width}"


@pytest.mark.browser
@pytest.mark.timeout(420)
def test_main_pages_fit_phone_and_desktop_and_work(
    reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path
) -> None:
    base = reelm_server.base_url
    out = browser_artifacts
    author = sign_up_with_token(base, "page_author", PASSWORD, token_name="pages")
    viewer = sign_up_with_token(base, "page_viewer", PASSWORD, token_name="pages")
    clip = make_clip(tmp_path / "clip.mp4", duration=2)
    long_one = author.upload(clip, caption=LONG_CAPTION)
    assert long_one.status == 201, long_one.body
    normal = author.upload(clip, caption=CAPTION)
    assert normal.status == 201, normal.body
    long_id, video_id = long_one.json()["id"], normal.json()["id"]
    _ready(author, long_id)
    _ready(author, video_id)
    assert viewer.post("/api/users/page_author/follow").status == 201
    assert viewer.request("PUT", f"/api/videos/{video_id}/like").status in (200, 201)
    commented = viewer.post(
        f"/api/videos/{video_id}/comments", json_body={"body": "Count me in! #skate @page_author " + "Z" * 300}
    )
    assert commented.status == 201, commented.body
    stranger = Http(base)

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for device, options in DEVICES.items():
                width = options["viewport"]["width"]
                # Someone new follows: the author has something unread on this device too.
                fan = sign_up_with_token(base, f"fan_{device}", PASSWORD, token_name="pages")
                assert fan.post("/api/users/page_author/follow").status == 201

                context = browser.new_context(base_url=base, **options)
                context.set_default_timeout(20_000)
                page = context.new_page()
                page.on("pageerror", lambda e, d=device: errors.append(f"{d}: {e}"))

                # --- signed out: the front page, a video, the profile and its lists, search -------------------
                page.goto("/")
                _check(page, out, device, "front", width)
                page.goto(f"/v/{long_id}")
                expect(page.locator(".watch .caption")).to_have_text(LONG_CAPTION)
                _check(page, out, device, "video-long-caption", width)
                more = page.locator("#caption-more")
                more.click()  # the folded caption opens in full, and still fits the width
                expect(more).to_have_attribute("aria-expanded", "true")
                _check(page, out, device, "video-long-caption-open", width)
                page.goto(f"/v/{video_id}")
                caption = page.locator(".watch .caption")
                expect(caption.locator("a.tag").first).to_have_attribute("href", "/tag/skate")
                expect(caption.locator("a.mention")).to_have_attribute("href", "/@page_viewer")
                expect(page.locator(".comment-body a.mention")).to_have_attribute("href", "/@page_author")
                _check(page, out, device, "video", width)
                page.goto("/@page_author")
                expect(page.locator("#follower-label")).to_have_text(re.compile(r"^Followers?$"))
                expect(page.locator(".grid .views")).to_have_count(2)
                _check(page, out, device, "profile", width)
                page.locator(".counts a[href='/@page_author/followers']").click()
                page.wait_for_url(base + "/@page_author/followers")
                expect(page.locator(".person")).to_have_count(2 if device == "phone" else 3)  # the viewer and the fans
                _check(page, out, device, "followers", width)
                page.goto("/search?q=page_author")
                expect(page.locator(".account-card").first).to_contain_text("@page_author")
                _check(page, out, device, "search", width)

                # --- signed in as the author -----------------------------------------------------------------
                page.goto("/login")
                page.fill("#id_username", "page_author")
                page.fill("#id_password", PASSWORD)
                page.locator("main form button[type=submit]").click()
                page.wait_for_url(base + "/")
                bell = page.locator("header a.bell")
                expect(bell.locator(".badge")).to_be_visible()
                bell.click()
                page.wait_for_url(base + "/notifications")
                expect(page.locator("ul.notifications li").first).to_contain_text(re.compile(r"just now|1 minute ago"))
                expect(bell.locator(".badge")).to_have_count(0)  # cleared on this very page load
                expect(bell).to_have_attribute("aria-label", "Notifications, 0 unread")
                _check(page, out, device, "notifications", width)
                page.goto("/")
                expect(page.locator("header a.bell .badge")).to_have_count(0)  # and it stays cleared
                page.go_back()
                page.wait_for_url(base + "/notifications")
                expect(page.locator("header a.bell .badge")).to_have_count(0)

                page.goto("/@page_author/followers")
                _check(page, out, device, "followers-signed-in", width)
                page.goto(f"/v/{video_id}")
                _check(page, out, device, "video-signed-in", width)

                # --- the privacy switch ------------------------------------------------------------------------
                page.goto("/settings")
                switch = page.get_by_role("switch", name="Private account")
                expect(switch).not_to_be_checked()
                _check(page, out, device, "settings", width)
                switch.click()
                page.locator(".profile-form button[type=submit]").click()
                page.wait_for_url(base + "/settings")
                expect(page.locator(".messages")).to_contain_text("Profile saved.")
                expect(page.get_by_role("switch", name="Private account")).to_be_checked()
                assert stranger.get("/api/users/page_author/followers").status == 403
                assert viewer.get("/api/users/page_author/followers").status == 200  # an approved follower
                page.goto("/@page_author")
                expect(page.locator(".private-badge")).to_have_text("Private account")
                page.goto("/settings")
                page.get_by_role("switch", name="Private account").click()
                page.locator(".profile-form button[type=submit]").click()
                page.wait_for_url(base + "/settings")
                expect(page.get_by_role("switch", name="Private account")).not_to_be_checked()
                assert stranger.get("/api/users/page_author/followers").status == 200

                # --- upload: the caption counts down; errors show next to their field -----------------------
                page.goto("/upload")
                counter = page.locator("#caption-count")
                caption_box = page.locator("#id_caption")
                caption_box.fill("x" * 57)
                expect(counter).to_have_text(re.compile(r"^2\s143 left$"))
                _check(page, out, device, "upload", width)
                caption_box.fill("y" * 2201)
                expect(caption_box).to_have_value("y" * 2201)  # typing is never cut off
                expect(counter).to_have_text("1 over the limit")
                caption_error = page.locator("#id_caption_error")
                expect(caption_error).to_be_visible()
                expect(caption_error).to_have_attribute("role", "alert")
                expect(caption_error).to_contain_text("1 character over the 2\u00a0200-character limit")
                page.locator("#upload-form button[type=submit]").click()
                expect(page.locator("#id_file_error")).to_have_text("Choose a video file to upload.")
                assert page.url == base + "/upload"
                _check(page, out, device, "upload-caption-too-long", width)
                caption_box.fill("Not a video at all")
                expect(caption_error).to_be_hidden()
                fake = tmp_path / "notes.mp4"
                fake.write_text("<html><script>alert(1)</script></html>")
                page.locator("#id_file").set_input_files(str(fake))
                page.locator("#upload-form button[type=submit]").click()
                file_error = page.locator("#id_file_error")
                expect(file_error).to_contain_text("not a video in a supported container")
                expect(file_error).to_have_attribute("role", "alert")
                expect(page.locator("#id_file")).to_have_attribute("aria-invalid", "true")
                _check(page, out, device, "upload-error", width)
                context.close()
        finally:
            browser.close()
    assert not errors, errors
