"""Two people in two real Chromium windows: a follow, a like, a comment, a reply and a pin, through the pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import CHROMIUM, CHROMIUM_ARGS, Http, ReelmProcess, sign_up_with_token, wait_for


def _signed_in(browser: Browser, base: str, username: str, viewport: dict[str, int], **extra: bool) -> Page:
    context: BrowserContext = browser.new_context(base_url=base, viewport=viewport, **extra)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/")
    return page


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_follow_like_comment_reply_and_pin_across_two_browsers(
    reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path
) -> None:
    out = browser_artifacts
    base = reelm_server.base_url

    # --- A uploads a clip through the HTTP API and waits until it is ready ---------------------------------------
    author = sign_up_with_token(base, "author_a", PASSWORD, token_name="social e2e")
    viewer_created = Http(base).post("/api/accounts", json_body={"username": "viewer_b", "password": PASSWORD})
    assert viewer_created.status == 201, viewer_created.body
    uploaded = author.upload(make_clip(tmp_path / "clip.mp4", duration=3), caption="social clip", visibility="public")
    assert uploaded.status == 201, uploaded.body
    video_id = uploaded.json()["id"]
    wait_for(
        lambda: author.get(f"/api/videos/{video_id}").json()["state"] == "ready",
        timeout=180,
        interval=0.5,
        message=f"video {video_id} never became ready",
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            errors: list[str] = []
            # --- B, on a phone: follow A, like the video, comment ----------------------------------------------
            phone = _signed_in(browser, base, "viewer_b", {"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            phone.on("pageerror", lambda e: errors.append(str(e)))
            phone.goto("/@author_a")
            header = phone.locator("header.top").bounding_box()
            assert header is not None and header["height"] < 70, f"the phone header wraps: {header}"
            expect(phone.locator("#follower-count")).to_have_text("0")
            follow = phone.locator("#follow-button")
            expect(follow).to_have_text("Follow")
            follow.click()
            expect(follow).to_have_text("Unfollow")
            expect(phone.locator("#follower-count")).to_have_text("1")
            expect(phone.locator(f'.grid a[href="/v/{video_id}"]')).to_be_visible()
            phone.screenshot(path=str(out / "profile-phone.png"), full_page=True)
            assert author.get("/api/users/author_a/followers").json()["items"][0]["username"] == "viewer_b"

            phone.goto(f"/v/{video_id}")
            like = phone.locator("#like-button")
            expect(phone.locator("#like-count")).to_have_text("0")
            expect(like).to_have_attribute("aria-pressed", "false")
            like.click()
            expect(phone.locator("#like-count")).to_have_text("1")
            expect(like).to_have_attribute("aria-pressed", "true")
            phone.fill("#comment-body", "Nice <b>clip</b>!")
            phone.locator("#comment-form button[type=submit]").click()
            posted = phone.locator("#comment-list > li.comment").first
            expect(posted.locator(".comment-body")).to_have_text("Nice <b>clip</b>!")
            expect(phone.locator("#comment-count")).to_have_text("1")
            assert phone.locator("#comment-list b").count() == 0  # the text stayed text
            comment_id = posted.get_attribute("data-id")
            assert comment_id

            # --- A, on a desktop: sees the comment, replies, pins it -------------------------------------------
            desktop = _signed_in(browser, base, "author_a", {"width": 1280, "height": 800})
            desktop.on("pageerror", lambda e: errors.append(str(e)))
            desktop.goto(f"/v/{video_id}")
            theirs = desktop.locator(f"#c-{comment_id}")
            expect(theirs.locator(".comment-body")).to_have_text("Nice <b>clip</b>!")
            expect(theirs.locator(".comment-head a")).to_have_text("@viewer_b")
            expect(desktop.locator("#like-count")).to_have_text("1")
            theirs.locator(".c-reply").click()
            theirs.locator("form.reply-form textarea").fill("Thanks for watching")
            theirs.locator("form.reply-form button[type=submit]").click()
            expect(theirs.locator(".replies .comment-body")).to_have_text("Thanks for watching")
            pin = theirs.locator(":scope > .comment-actions .c-pin")
            expect(pin).to_have_text("Pin")
            pin.click()
            expect(pin).to_have_text("Unpin")
            expect(theirs.locator(":scope > .comment-head .pin-badge")).to_be_visible()
            desktop.screenshot(path=str(out / "video-desktop.png"), full_page=True)
            pinned = author.get(f"/api/videos/{video_id}/comments").json()["items"][0]
            assert pinned["id"] == comment_id and pinned["pinned"] is True and pinned["reply_count"] == 1

            # --- B reloads: the reply and the pin are there -----------------------------------------------------
            phone.reload()
            mine = phone.locator(f"#c-{comment_id}")
            expect(mine).to_have_class("comment pinned")
            expect(mine.locator(":scope > .comment-head .pin-badge")).to_be_visible()
            reply = mine.locator(".replies li.comment")
            expect(reply.locator(".comment-body")).to_have_text("Thanks for watching")
            expect(reply.locator(".comment-head a")).to_have_text("@author_a")
            expect(phone.locator("#like-button")).to_have_attribute("aria-pressed", "true")
            # B may delete its own comment but not pin it: the video is A's.
            expect(mine.locator(":scope > .comment-actions .c-delete")).to_have_count(1)
            expect(mine.locator(".c-pin")).to_have_count(0)
            phone.screenshot(path=str(out / "video-phone.png"), full_page=True)
            assert errors == [], errors
        finally:
            browser.close()
