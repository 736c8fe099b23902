"""A real person's path through Reelm in a real Chromium: sign up, upload with a progress bar, watch over HLS."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import CHROMIUM, CHROMIUM_ARGS, ReelmProcess

VIDEO_URL = re.compile(r"/v/(?P<id>[0-9a-f-]{36})$")

# Reports every change of the upload progress bar and status line to the console, which Playwright records even
# after the page has navigated away to the video.
WATCH_PROGRESS = """() => {
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const report = () => console.log("upload-progress " + JSON.stringify(
    {hidden: bar.hidden, value: bar.value, status: status.textContent}));
  const observer = new MutationObserver(report);
  observer.observe(bar, {attributes: true});
  observer.observe(status, {childList: true, characterData: true, subtree: true});
}"""

PLAYER = "document.getElementById('player')"


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_sign_up_upload_and_watch_over_hls(reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path) -> None:
    out = browser_artifacts
    clip = make_clip(tmp_path / "clip.mp4", size="320x568", duration=4)
    base = reelm_server.base_url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base, viewport={"width": 900, "height": 1000})
            context.set_default_timeout(20_000)
            page = context.new_page()
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text))
            page_errors: list[str] = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))

            # --- sign up -----------------------------------------------------------------------------------
            page.goto("/signup")
            page.fill("#id_username", "e2e_viewer")
            page.fill("#id_password1", PASSWORD)
            page.fill("#id_password2", PASSWORD)
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(base + "/upload")
            expect(page.locator("header nav")).to_contain_text("@e2e_viewer")

            # --- upload, watching the progress bar -----------------------------------------------------------
            form = page.locator("#upload-form")
            expect(form).to_be_visible()
            bar = page.locator("#upload-progress")
            expect(bar).to_be_hidden()
            page.evaluate(WATCH_PROGRESS)
            form.locator("input[type=file]").set_input_files(clip)
            page.fill("#id_caption", "Hello from a real browser #e2e")
            page.screenshot(path=out / "upload.png", full_page=True)

            # Slow the upload to ~2 s so the bar is on screen long enough to be seen and photographed.
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            throttle: dict[str, Any] = {"offline": False, "latency": 0, "downloadThroughput": -1}
            cdp.send("Network.emulateNetworkConditions", {**throttle, "uploadThroughput": clip.stat().st_size / 2})
            form.locator("button[type=submit]").click()
            expect(bar).to_be_visible()
            expect(page.locator("#upload-status")).to_have_text(re.compile(r"Uploading… \d+%"))
            page.screenshot(path=out / "upload-progress.png", full_page=True)
            page.wait_for_url(VIDEO_URL, timeout=60_000)
            cdp.send("Network.emulateNetworkConditions", {**throttle, "uploadThroughput": -1})

            progress = [_json(line) for line in console if line.startswith("upload-progress ")]
            assert any(not p["hidden"] for p in progress), f"the progress bar never appeared: {progress}"
            assert any(not p["hidden"] and p["value"] > 0 for p in progress), f"the bar never moved: {progress}"

            # --- the video page: processing, then ready, playing over HLS --------------------------------------
            match = VIDEO_URL.search(page.url)
            assert match, page.url
            video_id = match["id"]
            expect(page.locator("#video-state")).to_have_text("Ready", timeout=120_000)

            # Playback restarts when the player switches to the finished video: take the first reading early in
            # the 4-second loop so the second one cannot be on the far side of a wrap-around.
            page.wait_for_function(
                f"() => {{ const v = {PLAYER}; return !v.paused && v.currentTime > 0.05 && v.currentTime < 1.5; }}",
                timeout=30_000,
            )
            first = page.evaluate(f"{PLAYER}.currentTime")
            page.wait_for_function(f"t => {PLAYER}.currentTime >= t + 1", arg=first, timeout=15_000)
            second = page.evaluate(f"{PLAYER}.currentTime")
            assert second > first + 0.9, f"currentTime did not advance: {first} -> {second}"
            player = page.evaluate(
                f"""() => {{ const v = {PLAYER};
                return {{src: v.currentSrc, width: v.videoWidth, height: v.videoHeight, error: v.error && v.error.code,
                         readyState: v.readyState}}; }}"""
            )
            page.screenshot(path=out / "video.png", full_page=True)

            # hls.js plays it through Media Source Extensions, fed from the HLS playlists and segments.
            assert player["src"].startswith("blob:"), f"not playing through hls.js/MSE: {player}"
            assert player["error"] is None and player["readyState"] >= 2, player
            assert (player["width"], player["height"]) == (320, 568), player
            media = f"{base}/media/videos/{video_id}/"
            assert media + "hls/master.m3u8" in requested, f"the master playlist was never requested: {requested}"
            segments = [u for u in requested if u.startswith(media + "hls/") and u.endswith(".ts")]
            assert segments, f"no HLS segment was requested: {requested}"
            assert media + "video.mp4" not in requested, "the player fell back to the progressive MP4"
            assert not page_errors, f"JavaScript errors on the page: {page_errors}"
        finally:
            browser.close()


def _json(line: str) -> Any:
    return json.loads(line.split(" ", 1)[1])
