"""Three realms (us, eu, global), each with its own database, store and queue, served by one real ``reelm run``.

Accounts land in the realm of the country they declare; their sessions, tokens, videos and media stay there; the
directory holds handles and keyed e-mail hashes only. Every check of where data lies reads the files directly
(sqlite3 or psycopg, and the file system), not through Reelm.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import Http, ReelmProcess, reelm_bin, start_server, wait_for
from tests.realms.deployment import DIRECTORY, REALMS, Deployment, three_realms

COUNTRY = {"anna": "DE", "bob": "US", "cleo": ""}
HOME = {"anna": "eu", "bob": "us", "cleo": "global"}
Live = tuple[ReelmProcess, Deployment]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("realms")
    data = root / "data"
    data.mkdir()
    realms = three_realms(data)
    try:
        server = start_server(
            "reelm-realms", "run", realms.env, root, "--web-workers", "1", "--threads", "4", "--worker-threads", "1"
        )
        try:
            for name, country in COUNTRY.items():
                made = Http(server.base_url).post(
                    "/api/accounts",
                    json_body={
                        "username": name,
                        "password": PASSWORD,
                        "email": f"{name}@example.org",
                        "country": country,
                    },
                )
                assert made.status == 201, made.body
            yield server, realms
        finally:
            server.stop()
    finally:
        realms.drop()


def test_each_database_holds_only_its_own_tables(deployment: Live) -> None:
    _server, realms = deployment
    directory = realms.tables(DIRECTORY)
    assert "directory_entry" in directory
    assert not {"accounts_user", "videos_video", "django_session", "events_watchevent"} & directory
    for realm in REALMS:
        tables = realms.tables(realm)
        assert {"accounts_user", "videos_video", "django_session", "events_watchevent"} <= tables
        assert "directory_entry" not in tables


def test_accounts_live_in_the_realm_of_their_country(deployment: Live) -> None:
    _server, realms = deployment
    for realm in REALMS:
        # Other realms hold read-only replicas (below); the accounts at home here are these.
        users = {row[0] for row in realms.rows(realm, "SELECT username FROM accounts_user WHERE home_realm = ?", realm)}
        assert users == {name for name, home in HOME.items() if home == realm}, (realm, users)
    entries = dict(realms.rows(DIRECTORY, "SELECT handle, realm FROM directory_entry"))
    assert entries == HOME
    # The directory keeps keyed hashes, never an address: not even in its file's free pages.
    raw = realms.everything(DIRECTORY)
    assert raw and not any(f"{name}@example.org".encode() in raw for name in HOME)
    hashes = [row[0] for row in realms.rows(DIRECTORY, "SELECT email_hash FROM directory_entry")]
    assert all(isinstance(h, str) and len(h) == 64 for h in hashes)


def test_handles_and_addresses_are_unique_across_realms_in_any_case(
    deployment: Live,
) -> None:
    server, realms = deployment
    http = Http(server.base_url)
    taken = http.post("/api/accounts", json_body={"username": "ANNA", "password": PASSWORD, "country": "US"})
    assert taken.status == 400 and "That username is taken." in taken.json()["error"]["message"]
    address = http.post(
        "/api/accounts",
        json_body={"username": "dora", "password": PASSWORD, "email": "Bob@Example.org", "country": "FR"},
    )
    assert address.status == 400 and "already used by another account" in address.json()["error"]["message"]
    assert not realms.rows("eu", "SELECT 1 FROM accounts_user WHERE username = 'dora'")
    assert not realms.rows(DIRECTORY, "SELECT 1 FROM directory_entry WHERE handle = 'dora'")


def test_sessions_and_tokens_stay_in_the_home_realm(deployment: Live) -> None:
    server, realms = deployment
    anna = Http(server.base_url)
    anna.login("anna", PASSWORD)
    key = anna.cookie("sessionid") or ""
    assert key.startswith("eu-"), key
    for realm in REALMS:
        stored = realms.rows(realm, "SELECT 1 FROM django_session WHERE session_key = ?", key)
        assert bool(stored) == (realm == "eu"), realm
    assert anna.get("/api/me").json()["username"] == "anna"

    secret = anna.create_token("realm test")
    assert secret.startswith("reelm_eu."), secret[:12]
    assert Http(server.base_url, token=secret).get("/api/me").json()["username"] == "anna"
    assert realms.rows("eu", "SELECT count(*) FROM accounts_accesstoken")[0][0] == 1
    assert all(realms.rows(r, "SELECT count(*) FROM accounts_accesstoken")[0][0] == 0 for r in ("us", "global"))

    # A key or a token that names another realm finds nothing there: not signed in.
    forged = Http(server.base_url)
    forged.cookies.set_cookie(_cookie("sessionid", "us-" + key.removeprefix("eu-")))
    assert forged.get("/api/me").status == 401
    assert Http(server.base_url, token=secret.replace("reelm_eu.", "reelm_us.")).get("/api/me").status == 401

    bob = Http(server.base_url)
    bob.login("bob", PASSWORD)
    assert (bob.cookie("sessionid") or "").startswith("us-")
    wrong = Http(server.base_url)
    page = wrong.get("/login")
    assert page.status == 200
    refused = wrong.post(
        "/login",
        form={"username": "bob", "password": "not it", "csrfmiddlewaretoken": wrong.cookie("csrftoken") or ""},
        headers={"Referer": server.base_url + "/login"},
    )
    assert refused.status == 200 and not wrong.cookie("sessionid")


def test_signing_up_on_the_page_asks_the_country_and_keeps_the_session_there(
    deployment: Live,
) -> None:
    server, realms = deployment
    browser = Http(server.base_url)
    page = browser.get("/signup")
    assert page.status == 200 and b'name="country"' in page.body and b'<option value="FR">' in page.body
    done = browser.post(
        "/signup",
        form={
            "username": "elise",
            "email": "elise@example.org",
            "country": "FR",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrfmiddlewaretoken": browser.cookie("csrftoken") or "",
        },
        headers={"Referer": server.base_url + "/signup"},
    )
    assert done.status == 200, done.body[:500]
    assert (browser.cookie("sessionid") or "").startswith("eu-")
    assert browser.get("/api/me").json()["username"] == "elise"
    assert realms.rows("eu", "SELECT 1 FROM accounts_user WHERE username = 'elise'")


def test_an_upload_is_transcoded_and_stored_in_its_realm(deployment: Live, tmp_path: Path) -> None:
    server, realms = deployment
    session = Http(server.base_url)
    session.login("anna", PASSWORD)
    anna = Http(server.base_url, token=session.create_token("upload"))
    clip = make_clip(tmp_path / "eu.mp4", size="320x568", duration=2)
    uploaded = anna.upload(clip, caption="from Europe #realms", visibility="public")
    assert uploaded.status == 201, uploaded.body
    video_id = uploaded.json()["id"]
    wait_for(
        lambda: anna.get(f"/api/videos/{video_id}").json()["state"] == "ready",
        timeout=120,
        interval=0.5,
        message=f"video {video_id} never became ready: {server.log_text()[-3000:]}",
    )
    stored_id = realms.video_id(video_id)
    for realm in REALMS:
        rows = realms.rows(realm, "SELECT state FROM videos_video WHERE id = ?", stored_id)
        assert rows == ([("ready",)] if realm == "eu" else []), realm
        store = realms.store(realm)
        keys = [p for p in store.rglob("*") if p.is_file() and video_id in str(p)] if store.exists() else []
        assert bool(keys) == (realm == "eu"), (realm, keys[:3])
    playlist = anna.get(f"/api/videos/{video_id}").json()["urls"]["hls"]
    assert anna.get(playlist.removeprefix(server.base_url)).status == 200


def test_check_and_list_describe_the_realms(deployment: Live) -> None:
    _server, realms = deployment
    checked = subprocess.run([reelm_bin(), "check"], env=realms.env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for realm in REALMS:
        assert f"realm {realm}: database" in checked.stdout
    listed = subprocess.run(
        [reelm_bin(), "realm", "list", "--json"], env=realms.env, capture_output=True, text=True, check=True, timeout=60
    )
    rows = {row["realm"]: row for row in json.loads(listed.stdout)}
    assert rows["eu"]["countries"] == ["DE", "FR"] and rows["global"]["default"] is True
    assert rows["us"]["accounts"] == 1 and rows["global"]["accounts"] == 1 and rows["eu"]["accounts"] >= 1


def _cookie(name: str, value: str) -> object:
    import http.cookiejar

    return http.cookiejar.Cookie(
        0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None, None, {}
    )


def _replicated(realms: Deployment, username: str, realm: str) -> tuple[Any, ...] | None:
    found = realms.rows(
        realm, "SELECT email, password, home_realm, display_name FROM accounts_user WHERE username = ?", username
    )
    return found[0] if found else None


def test_public_profiles_are_replicated_and_what_stays_home_does(deployment: Live) -> None:
    server, realms = deployment
    wait_for(
        lambda: all(_replicated(realms, name, realm) for name in HOME for realm in REALMS),
        timeout=30,
        interval=0.25,
        message="profiles were not replicated into every realm",
    )
    for name, home in HOME.items():
        for realm in REALMS:
            email, password, home_realm, _display = _replicated(realms, name, realm) or ()
            assert home_realm == home, (name, realm)
            if realm == home:
                assert email == f"{name}@example.org" and not password.startswith("!")
            else:
                # A replica has no address and can never sign in.
                assert email == "" and password.startswith("!"), (name, realm)
        # Every trace of the address and the password hash is in the home realm alone.
        home_hash = _home_hash(realms, name, home)
        for realm in REALMS:
            raw = realms.everything(realm)
            assert (f"{name}@example.org".encode() in raw) == (realm == home), (name, realm)
            assert (home_hash.encode() in raw) == (realm == home), (name, realm)

    # A change travels too; the replica in another realm follows.
    session = Http(server.base_url)
    session.login("bob", PASSWORD)
    bob = Http(server.base_url, token=session.create_token("profile"))
    changed = bob.request("PATCH", "/api/me", json_body={"display_name": "Bob from Boston"})
    assert changed.status == 200, changed.body
    wait_for(
        lambda: all((_replicated(realms, "bob", r) or ())[3:] == ("Bob from Boston",) for r in REALMS),
        timeout=30,
        interval=0.25,
        message="the new display name did not reach every realm",
    )


def _home_hash(realms: Deployment, name: str, home: str) -> str:
    return str(realms.rows(home, "SELECT password FROM accounts_user WHERE username = ?", name)[0][0])


def test_the_gateway_shows_every_flow(deployment: Live) -> None:
    _server, realms = deployment
    wait_for(
        lambda: all(_replicated(realms, name, realm) for name in HOME for realm in REALMS),
        timeout=30,
        interval=0.25,
        message="profiles were not replicated into every realm",
    )
    shown = subprocess.run(
        [reelm_bin(), "realm", "gateway", "--json"], env=realms.env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    flows = {(row["from"], row["to"], row["kind"]): row for row in json.loads(shown.stdout)}
    for source in REALMS:
        for target in REALMS:
            if source == target:
                continue
            row = flows[(source, target, "account.profile")]
            assert row["sent"] >= 1 and row["bytes"] > 0 and row["failing"] == 0
            assert row["received"] == row["delivered"] == row["sent"] - row["waiting"]
            assert row["lag_p99_s"] is not None and row["lag_p99_s"] >= row["lag_p50_s"] >= 0
