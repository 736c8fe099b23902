"""The viewer's control over For You in a real Chromium, on a phone and on a desktop: "Why this video?", "Not
interested" in a creator (hidden at once, gone after a reload, back with Undo), the first-visit prompt, and the
feed settings page turning personalisation off."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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
from tests.e2e.test_accessibility import AXE
from tests.e2e.test_feed import reel

POPULAR = "Popular recent public videos (the same ranking for everyone)"


def _seed(base: str, tmp_path: Path) -> dict[str, list[str]]:
    """Two creators' ready videos: {username: [video ids]}."""
    made: dict[str, list[str]] = {}
    for name, count in (("alpha_maker", 2), ("beta_maker", 3)):
        client = sign_up_with_token(base, name, PASSWORD, token_name="recommend e2e")
        made[name] = []
        for i in range(count):
            clip = make_clip(tmp_path / f"{name}-{i}.mp4", duration=2)
            uploaded = client.upload(clip, caption=f"{name} clip {i} #{name.split('_')[0]}", visibility="public")
            assert uploaded.status == 201, uploaded.body
            made[name].append(uploaded.json()["id"])
        for video_id in made[name]:
            wait_for(
                lambda v=video_id, c=client: c.get(f"/api/videos/{v}").json()["state"] == "ready",
                timeout=180,
                interval=0.5,
                message=f"video {video_id} never became ready",
            )
    return made


def _open_feed(page: Page) -> None:
    page.goto("/feed")
    page.wait_for_function(
        "() => document.querySelectorAll('#feed .reel').length > 0 || !document.getElementById('feed-empty').hidden"
    )


def _shown_authors(page: Page) -> list[str]:
    """The authors of the reels still shown, top to bottom."""
    return page.eval_on_selector_all(
        "#feed .reel:not([hidden])", "els => els.map(e => e.getAttribute('aria-label').replace('Video by @', ''))"
    )


def _first_why(page: Page) -> dict[str, Any]:
    return page.evaluate("() => JSON.parse(document.getElementById('feed-data').textContent).items[0].why")


def _inside_viewport(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"], (box, size)


def _axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core over the page as it is now (open panels included); the context must bypass the CSP."""
    page.add_script_tag(path=str(AXE))
    found = json.loads(page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)"))
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": len(v["nodes"])} for v in found]


def _why_explains(page: Page, index: int, why: dict[str, Any]) -> None:
    """Open the reel's "Why this video?" and find its summary and reasons there in words; Escape closes it."""
    toggle = page.locator(f"{reel(index)} button.why")
    expect(toggle).to_have_accessible_name("Why this video?")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    panel = page.locator(f"{reel(index)} .why-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(why["summary"])
    for reason in why["reasons"]:
        expect(panel).to_contain_text(re.compile(re.escape(reason), re.IGNORECASE))
    _inside_viewport(page, f"{reel(index)} .why-panel")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")


def _not_interested_in_creator(page: Page, index: int, creator: str) -> None:
    toggle = page.locator(f"{reel(index)} button.not-interested")
    expect(toggle).to_have_accessible_name("Not interested")
    toggle.click()
    panel = page.locator(f"{reel(index)} .not-interested-panel")
    expect(panel).to_be_visible()
    _inside_viewport(page, f"{reel(index)} .not-interested-panel")
    expect(panel.get_by_role("button", name="This video")).to_be_focused()
    panel.get_by_role("button", name=f"This creator (@{creator})").click()


@pytest.mark.browser
@pytest.mark.timeout(420)
def test_why_not_interested_undo_and_turning_personalisation_off(
    reelm_server: ReelmProcess, tmp_path: Path, browser_artifacts: Path
) -> None:
    out = browser_artifacts
    base = reelm_server.base_url
    made = _seed(base, tmp_path)
    created = Http(base).post("/api/accounts", json_body={"username": "chooser", "password": PASSWORD})
    assert created.status == 201, created.body
    errors: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = sign_in(browser, base, "chooser", PHONE, errors)

            # --- a new account is asked for interests; "Not now" puts the prompt away for good ----------------
            _open_feed(page)
            expect(page.locator("#feed .reel")).to_have_count(5)
            prompt = page.locator("#cold-start")
            expect(prompt).to_be_visible()
            expect(prompt.get_by_role("link", name="Pick interests")).to_have_attribute(
                "href", "/settings/feed#interests"
            )
            page.screenshot(path=out / "cold-start-phone.png")
            prompt.get_by_role("button", name="Not now").click()
            expect(prompt).to_be_hidden()

            # --- "Why this video?" says it in words --------------------------------------------------------------
            why = _first_why(page)
            assert why["summary"] and why["reasons"], why
            page.locator(f"{reel(0)} button.why").click()
            page.screenshot(path=out / "why-phone.png")
            page.keyboard.press("Escape")
            _why_explains(page, 0, why)

            # --- "Not interested" in the first video's creator hides all their videos at once -----------------
            creator = _shown_authors(page)[0]
            others = next(name for name in made if name != creator)
            _not_interested_in_creator(page, 0, creator)
            expect(page.locator("#feed .reel[hidden]")).to_have_count(len(made[creator]))
            assert creator not in _shown_authors(page) and others in _shown_authors(page)
            expect(page.locator("#feed .reel.active")).to_have_attribute("aria-label", f"Video by @{others}")
            undo = page.locator("#feed-undo")
            expect(undo).to_be_visible()
            expect(undo).to_contain_text(f"no more videos by @{creator}")
            expect(undo.get_by_role("button", name="Undo")).to_be_focused()
            page.screenshot(path=out / "not-interested-phone.png")
            choices = page.request.get("/api/recommendations/not-interested").json()
            assert [(c["scope"], c["label"]) for c in choices] == [("author", f"@{creator}")]

            # --- Undo brings them back, on the page and on the server -------------------------------------------
            undo.get_by_role("button", name="Undo").click()
            expect(page.locator("#feed .reel[hidden]")).to_have_count(0)
            expect(undo).to_be_hidden()
            expect(page.locator("#feed .reel.active")).to_have_attribute("aria-label", f"Video by @{creator}")
            expect(page.locator(f"{reel(0)} button.not-interested")).to_be_focused()
            assert page.request.get("/api/recommendations/not-interested").json() == []

            # --- chosen again, the creator stays out of For You after a reload ----------------------------------
            _not_interested_in_creator(page, 0, creator)
            expect(page.locator("#feed .reel[hidden]")).to_have_count(len(made[creator]))
            page.reload()
            page.wait_for_function(
                "() => document.querySelectorAll('#feed .reel').length > 0"
                " || !document.getElementById('feed-empty').hidden"
            )
            shown = _shown_authors(page)
            assert shown and creator not in shown, shown
            api_page = page.request.get("/api/feed/for-you").json()
            assert all(item["author"]["username"] != creator for item in api_page["items"]), api_page

            # --- the settings page turns personalisation off: For You then explains the popular ranking --------
            page.goto("/settings/feed")
            expect(page.get_by_role("heading", name="Feed settings", level=1)).to_be_visible()
            expect(page.locator("#not-interested")).to_contain_text(f"@{creator}")
            page.get_by_label("Off: you see the same popular ranking as everyone").check()
            page.get_by_role("button", name="Save feed settings").click()
            expect(page.locator(".messages")).to_contain_text("Feed settings saved.")
            expect(page.get_by_label("Off: you see the same popular ranking as everyone")).to_be_checked()
            page.screenshot(path=out / "settings-phone.png", full_page=True)
            _open_feed(page)
            why = _first_why(page)
            assert why["source"] == "popular" and why["summary"] == POPULAR, why
            _why_explains(page, 0, why)
            state = page.context.storage_state()

            # --- on a desktop, with the keyboard alone; axe finds nothing wrong with the open panels ------------
            # The audit injects axe, so this context bypasses the site's CSP.
            desktop = browser.new_context(base_url=base, storage_state=state, bypass_csp=True, **DESKTOP)
            desktop.set_default_timeout(20_000)
            wide = desktop.new_page()
            wide.on("pageerror", lambda e: errors.append(str(e)))
            _open_feed(wide)
            toggle = wide.locator(f"{reel(0)} button.why")
            toggle.focus()
            wide.keyboard.press("Enter")
            expect(wide.locator(f"{reel(0)} .why-panel")).to_contain_text(POPULAR)
            _inside_viewport(wide, f"{reel(0)} .why-panel")
            wide.screenshot(path=out / "why-desktop.png")
            violations = _axe_violations(wide)
            wide.keyboard.press("Escape")
            expect(toggle).to_be_focused()
            wide.locator(f"{reel(0)} button.not-interested").focus()
            wide.keyboard.press("Enter")
            options = wide.locator(f"{reel(0)} .not-interested-panel button")
            expect(options.first).to_be_focused()
            _inside_viewport(wide, f"{reel(0)} .not-interested-panel")
            wide.screenshot(path=out / "not-interested-desktop.png")
            violations += _axe_violations(wide)
            wide.keyboard.press("Escape")
            expect(wide.locator(f"{reel(0)} .not-interested-panel")).to_be_hidden()
            # A hashtag: every reel tagged with it goes; Enter on Undo brings them back.
            tag = wide.evaluate(
                "() => JSON.parse(document.getElementById('feed-data').textContent).items[0].hashtags[0]"
            )
            tagged = sum(1 for author in _shown_authors(wide) if author == f"{tag}_maker")  # captions tag the maker
            wide.locator(f"{reel(0)} button.not-interested").click()
            wide.locator(f"{reel(0)} .not-interested-panel").get_by_role("button", name=f"#{tag}").click()
            expect(wide.locator("#feed .reel[hidden]")).to_have_count(tagged)
            expect(wide.locator("#feed-undo")).to_contain_text(f"no more videos tagged #{tag}")
            violations += _axe_violations(wide)
            wide.keyboard.press("Enter")
            expect(wide.locator("#feed .reel[hidden]")).to_have_count(0)
            left = wide.request.get("/api/recommendations/not-interested").json()
            assert [c["scope"] for c in left] == ["author"], left
            assert not violations, json.dumps(violations, indent=2)
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()
