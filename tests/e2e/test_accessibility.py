"""axe-core (from npm, pinned) run in Chromium over the main pages: no accessibility violations of any impact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, ReelmProcess, sign_up_with_token, wait_for

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def _audit(page: Page, path: str) -> list[dict[str, Any]]:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    return [dict(v, page=path) for v in json.loads(result)]


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_main_pages_have_no_accessibility_violations(
    reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path
) -> None:
    assert AXE.exists(), f"{AXE} is missing: ./dev installs axe-core from npm"
    base = reelm_server.base_url
    author = sign_up_with_token(base, "access_author", PASSWORD, token_name="a11y")
    uploaded = author.upload(make_clip(tmp_path / "clip.mp4", duration=2), caption="accessible #a11y")
    assert uploaded.status == 201, uploaded.body
    video_id = uploaded.json()["id"]
    wait_for(
        lambda: author.get(f"/api/videos/{video_id}").json()["state"] == "ready",
        timeout=180,
        interval=0.5,
        message="the video never became ready",
    )
    fan = sign_up_with_token(base, "access_fan", PASSWORD, token_name="a11y")
    assert fan.post("/api/users/access_author/follow").status == 201
    assert fan.request("PUT", f"/api/videos/{video_id}/like").status in (200, 201)
    commented = fan.post(f"/api/videos/{video_id}/comments", json_body={"body": "Nice #a11y @access_author"})
    assert commented.status == 201, commented.body
    anonymous_pages = [
        "/",
        "/login",
        "/signup",
        f"/v/{video_id}",
        "/@access_author",
        "/@access_author/followers",
        "/@access_author/following",
        "/search?q=accessible",
        "/search?q=access",
    ]
    signed_in_pages = [
        "/",
        "/feed/following",
        "/upload",
        "/settings",
        "/settings/feed",
        "/notifications",
        f"/v/{video_id}",
        "/@access_author",
        "/@access_author/followers",
        "/@access_fan",
        "/search?q=access",
    ]
    violations: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # The site's CSP allows only its own scripts; the audit injects axe, so this context bypasses it.
            context = browser.new_context(base_url=base, bypass_csp=True, viewport={"width": 390, "height": 844})
            page = context.new_page()
            for path in anonymous_pages:
                violations += _audit(page, path)
            page.goto("/login")
            page.fill("#id_username", "access_author")
            page.fill("#id_password", PASSWORD)
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(base + "/")
            for path in signed_in_pages:
                violations += _audit(page, path)
        finally:
            browser.close()
    report = [
        {"page": v["page"], "id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": len(v["nodes"])}
        for v in violations
    ]
    (browser_artifacts / "axe.json").write_text(json.dumps(report, indent=2))
    assert not report, json.dumps(report, indent=2)
