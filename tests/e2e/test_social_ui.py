"""Two people in two real Chromium windows, on a phone and on a desktop: A uploads; B finds A by search, follows,
watches the Following feed with the keyboard, likes and comments; A sees the notifications, replies and pins; A
makes the video private and B loses the page and the media."""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import CHROMIUM, CHROMIUM_ARGS, DEVICES, Http, ReelmProcess, sign_up_with_token, wait_for
from tests.e2e.test_feed import assert_plays, reel, video_js


def _signed_in(browser: Browser, base: str, username: str, device: dict[str, Any], errors: list[str]) -> Page:
    context = browser.new_context(base_url=base, **device)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{username}: {e}"))
    page.goto("/login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/")
    return page


@contextlib.contextmanager
def another_site(page: str) -> Iterator[str]:
    """A second origin on loopback (another port) that serves one page: a stand-in for a site that embeds."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _wait_ready(client: Http, video_id: str) -> None:
    wait_for(
        lambda: client.get(f"/api/videos/{video_id}").json()["state"] == "ready",
        timeout=180,
        interval=0.5,
        message=f"video {video_id} never became ready",
    )


@pytest.mark.browser
@pytest.mark.timeout(360)
@pytest.mark.parametrize("device_name", list(DEVICES))
def test_two_people_find_follow_watch_react_and_lose_access_when_made_private(
    device_name: str, reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path
) -> None:
    device = DEVICES[device_name]
    out = browser_artifacts
    base = reelm_server.base_url
    author = sign_up_with_token(base, "author_a", PASSWORD, token_name="social e2e")
    created = Http(base).post("/api/accounts", json_body={"username": "viewer_b", "password": PASSWORD})
    assert created.status == 201, created.body
    # An older video, so the Following feed has somewhere to move to.
    older = author.upload(make_clip(tmp_path / "older.mp4", size="320x568", duration=3), caption="older clip")
    assert older.status == 201, older.body
    older_id = older.json()["id"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            errors: list[str] = []
            # --- A uploads through the upload page -----------------------------------------------------------
            a = _signed_in(browser, base, "author_a", device, errors)
            a.goto("/upload")
            a.locator("#upload-form input[type=file]").set_input_files(
                make_clip(tmp_path / "new.mp4", size="320x568", duration=4)
            )
            a.fill("#id_caption", "Hello from A #reelmlife")
            a.locator("#upload-form button[type=submit]").click()
            a.wait_for_url(re.compile(r"/v/[0-9a-f-]{36}$"), timeout=120_000)
            video_id = a.url.rsplit("/", 1)[1]
            _wait_ready(author, older_id)
            _wait_ready(author, video_id)

            # --- B finds A through the header's search box and follows -------------------------------------
            b = _signed_in(browser, base, "viewer_b", device, errors)
            search = b.locator("header form[role=search] input[name=q]")
            if search.is_visible():
                search.fill("author_a")
                search.press("Enter")
            else:  # the phone header shows a search icon that opens the search page
                b.locator("header a.search-link").click()
                b.locator("main input[name=q]").fill("author_a")
                b.locator("main input[name=q]").press("Enter")
            b.wait_for_url(re.compile(r"/search\?q=author_a"))
            b.locator('main a[href="/@author_a"]').first.click()
            b.wait_for_url(base + "/@author_a")
            follow = b.locator("#follow-button")
            expect(follow).to_have_text("Follow")
            follow.click()
            expect(follow).to_have_text("Unfollow")
            expect(b.locator("#follower-count")).to_have_text("1")
            expect(b.locator(f'.grid a[href="/v/{video_id}"]')).to_be_visible()
            b.screenshot(path=str(out / f"profile-{device_name}.png"), full_page=True)

            # --- B watches the Following feed with the keyboard and likes the new video ---------------------
            b.goto("/feed/following")
            expect(b.locator("#feed .reel")).to_have_count(2)
            shown = b.eval_on_selector_all("#feed .reel", "els => els.map(e => e.dataset.id)")
            assert shown == [video_id, older_id], "Following is newest first"
            assert_plays(b, 0)
            b.keyboard.press("ArrowDown")
            expect(b.locator(reel(1))).to_have_class("reel active")
            assert_plays(b, 1)
            b.wait_for_function(f"() => {video_js(0)}.paused")
            b.keyboard.press("k")
            expect(b.locator(reel(0))).to_have_class("reel active")
            assert_plays(b, 0)
            like = b.locator(f"{reel(0)} button.like")
            like.click()
            expect(like).to_have_attribute("aria-pressed", "true")
            expect(like.locator(".count")).to_have_text("1")
            b.screenshot(path=str(out / f"feed-{device_name}.png"))

            # --- B comments from the feed's comment button ---------------------------------------------------
            b.locator(f"{reel(0)} button.comments").click()
            if device_name == "desktop":  # wide screens open the comments beside the video: go on to its page
                b.locator("#comments-panel-page").click()
            b.wait_for_url(re.compile(f"/v/{video_id}#comments$"))
            media_url = b.evaluate('JSON.parse(document.getElementById("video-data").textContent).urls.hls')
            poster_url = b.evaluate('JSON.parse(document.getElementById("video-data").textContent).urls.poster')
            assert b.request.get(media_url).status == 200
            b.fill("#comment-body", "Great clip!")
            b.locator("#comment-form button[type=submit]").click()
            comment = b.locator("#comment-list > li.comment").first
            expect(comment.locator(".comment-body")).to_have_text("Great clip!")
            comment_id = comment.get_attribute("data-id")

            # --- A sees the notifications, replies and pins --------------------------------------------------
            a.goto("/")
            expect(a.locator("header a.bell")).to_have_attribute("aria-label", "Notifications, 3 unread")
            a.locator("header a.bell").click()
            a.wait_for_url(base + "/notifications")
            items = a.locator("ul.notifications li")
            expect(items).to_have_count(3)
            expect(items.nth(0)).to_contain_text("@viewer_b commented: Great clip!")
            expect(items.nth(1)).to_contain_text("@viewer_b liked your video")
            expect(items.nth(2)).to_contain_text("@viewer_b started following you")
            items.nth(0).locator("a").click()
            a.wait_for_url(re.compile(f"/v/{video_id}"))
            theirs = a.locator(f"#c-{comment_id}")
            theirs.locator(".c-reply").click()
            theirs.locator("form.reply-form textarea").fill("Thanks for watching")
            theirs.locator("form.reply-form button[type=submit]").click()
            expect(theirs.locator(".replies .comment-body")).to_have_text("Thanks for watching")
            pin = theirs.locator(":scope > .comment-actions .c-pin")
            pin.click()
            expect(pin).to_have_text("Unpin")

            b.goto(f"/v/{video_id}")
            mine = b.locator(f"#c-{comment_id}")
            expect(mine).to_have_class("comment pinned")
            expect(mine.locator(".replies .comment-body")).to_have_text("Thanks for watching")
            expect(b.locator("header a.bell")).to_have_attribute("aria-label", "Notifications, 1 unread")

            # --- the video plays embedded in another page, from the page's embed code ----------------------
            code = b.locator("#embed-code").input_value()
            with another_site(f"<!doctype html><title>Another site</title>{code}") as elsewhere:
                b.goto(elsewhere)
                frame = b.frame_locator("iframe")
                expect(frame.locator("a.watch-on")).to_have_text("@author_a on Reelm")
                b.frames[1].wait_for_function(
                    '() => { const v = document.getElementById("player"); return !v.paused && v.currentTime > 0.3; }',
                    timeout=30_000,
                )

            # --- A makes the video private: B loses the page, the media and the feed entry -----------------
            a.goto(f"/v/{video_id}")
            a.locator("#edit-video summary").click()
            a.select_option("#id_visibility", "private")
            a.locator("#edit-video form").first.locator("button[type=submit]").click()
            expect(a.locator("ul.messages")).to_contain_text("now private")

            gone = b.goto(f"/v/{video_id}")
            assert gone is not None and gone.status == 404
            assert b.request.get(media_url).status == 404
            assert b.request.get(poster_url).status == 404
            assert Http(base).get(media_url).status == 404
            assert Http(base).get(f"/embed/{video_id}").status == 404
            b.goto("/feed/following")
            expect(b.locator("#feed .reel")).to_have_count(1)
            assert b.eval_on_selector_all("#feed .reel", "els => els.map(e => e.dataset.id)") == [older_id]
            b.goto("/@author_a")
            expect(b.locator(f'.grid a[href="/v/{video_id}"]')).to_have_count(0)
            # The author still has it.
            assert a.request.get(media_url).status == 200
            a.goto("/@author_a")
            a.screenshot(path=str(out / f"profile-author-{device_name}.png"), full_page=True)
            assert errors == [], errors
        finally:
            browser.close()
