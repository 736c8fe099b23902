"""Three realms (us, eu, global), each with its own database, store and queue, served by one real ``reelm run``.

Accounts land in the realm of the country they declare; their sessions, tokens, videos and media stay there; the
directory holds handles and keyed e-mail hashes only. Every check of where data lies reads the files directly
(sqlite3 or psycopg, and the file system), not through Reelm.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PASSWORD, make_clip
from tests.e2e.live import Http, ReelmProcess, reelm_bin, start_server, wait_for
from tests.realms.deployment import DIRECTORY, REALMS, Deployment, signed_in, three_realms

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


@pytest.fixture(scope="module")
def eu_video(deployment: Live, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A public video anna (eu) uploaded, transcoded by the eu worker."""
    server, _realms = deployment
    anna = signed_in(server.base_url, "anna")
    clip = make_clip(tmp_path_factory.mktemp("clips") / "eu.mp4", size="320x568", duration=2)
    uploaded = anna.upload(clip, caption="Sunrise over Europe #realms @bob", visibility="public")
    assert uploaded.status == 201, uploaded.body
    video_id = str(uploaded.json()["id"])
    wait_for(
        lambda: anna.get(f"/api/videos/{video_id}").json()["state"] == "ready",
        timeout=120,
        interval=0.5,
        message=f"video {video_id} never became ready: {server.log_text()[-3000:]}",
    )
    return video_id


def _video_rows(realms: Deployment, realm: str, video_id: str) -> list[tuple[Any, ...]]:
    return realms.rows(
        realm, "SELECT state, source_key, like_count FROM videos_video WHERE id = ?", realms.uuid_column(video_id)
    )


def test_an_upload_is_stored_at_home_and_replicated_without_its_upload(deployment: Live, eu_video: str) -> None:
    _server, realms = deployment
    wait_for(
        lambda: all(_video_rows(realms, realm, eu_video) for realm in REALMS),
        timeout=30,
        interval=0.25,
        message="the public video was not replicated into every realm",
    )
    for realm in REALMS:
        ((state, source_key, _likes),) = _video_rows(realms, realm, eu_video)
        assert state == "ready"
        # Where the original upload is kept is the home realm's business alone.
        assert bool(source_key) == (realm == "eu"), realm
        store = realms.store(realm)
        keys = [p for p in store.rglob("*") if p.is_file() and eu_video in str(p)] if store.exists() else []
        assert bool(keys) == (realm == "eu"), (realm, keys[:3])
    tags = realms.rows("us", "SELECT h.name FROM videos_hashtag h JOIN videos_videohashtag l ON l.hashtag_id = h.id")
    assert ("realms",) in tags


def test_another_realm_finds_plays_and_likes_a_public_video(deployment: Live, eu_video: str) -> None:
    server, realms = deployment
    wait_for(lambda: bool(_video_rows(realms, "us", eu_video)), timeout=30, interval=0.25, message="no replica")
    bob = signed_in(server.base_url, "bob")

    # bob's requests work for us; the video is there as a replica, its media come from the eu store.
    found = bob.get("/api/search?q=sunrise&type=videos").json()["videos"]
    assert [v["id"] for v in found] == [eu_video] and found[0]["author"]["username"] == "anna"
    shown = bob.get(f"/api/videos/{eu_video}").json()
    playlist = bob.get(shown["urls"]["hls"].removeprefix(server.base_url))
    assert playlist.status == 200 and b"#EXTM3U" in playlist.body
    segment = next(line for line in playlist.body.decode().splitlines() if line and not line.startswith("#"))
    base = shown["urls"]["hls"].removeprefix(server.base_url).rsplit("/", 1)[0]
    variant = bob.get(f"{base}/{segment}")
    assert variant.status == 200, segment

    liked = bob.request("PUT", f"/api/videos/{eu_video}/like")
    assert liked.status == 200, liked.body
    # The like is bob's: it stays in us. The count is the video's: its home realm keeps it and tells the others.
    bob_id = realms.rows("us", "SELECT id FROM accounts_user WHERE username = 'bob'")[0][0]
    for realm in REALMS:
        likes = realms.rows(realm, "SELECT count(*) FROM social_like WHERE owner_id = ?", bob_id)[0][0]
        assert likes == (1 if realm == "us" else 0), realm
    wait_for(
        lambda: all(_video_rows(realms, realm, eu_video)[0][2] == 1 for realm in REALMS),
        timeout=30,
        interval=0.25,
        message="the like was not counted in every realm",
    )
    # anna is told in her realm, and nowhere else.
    wait_for(
        lambda: realms.rows("eu", "SELECT count(*) FROM notifications_notification WHERE kind = 'like'")[0][0] == 1,
        timeout=30,
        interval=0.25,
        message="anna was not notified of bob's like",
    )
    for realm in ("us", "global"):
        assert realms.rows(realm, "SELECT count(*) FROM notifications_notification WHERE kind = 'like'")[0][0] == 0

    # Taking it back counts down everywhere; liking twice counts once.
    assert bob.request("PUT", f"/api/videos/{eu_video}/like").status == 200
    assert bob.request("DELETE", f"/api/videos/{eu_video}/like").status == 200
    wait_for(
        lambda: all(_video_rows(realms, realm, eu_video)[0][2] == 0 for realm in REALMS),
        timeout=30,
        interval=0.25,
        message="the like taken back was not counted down in every realm",
    )


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
    bob = signed_in(server.base_url, "bob")
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


def _follow_state(realms: Deployment, realm: str, follower: str, followee: str) -> str | None:
    found = realms.rows(
        realm,
        "SELECT f.status FROM social_follow f JOIN accounts_user a ON a.id = f.owner_id "
        "JOIN accounts_user b ON b.id = f.followee_id WHERE a.username = ? AND b.username = ?",
        follower,
        followee,
    )
    return str(found[0][0]) if found else None


def _counts(realms: Deployment, realm: str, name: str) -> tuple[int, int]:
    found = realms.rows(realm, "SELECT follower_count, following_count FROM accounts_user WHERE username = ?", name)
    return int(found[0][0]), int(found[0][1])


def test_following_across_realms_counts_tells_and_feeds_both_sides(deployment: Live, eu_video: str) -> None:
    server, realms = deployment
    bob = signed_in(server.base_url, "bob")
    made = bob.post("/api/users/anna/follow")
    assert made.status == 201 and made.json()["status"] == "accepted", made.body
    # The follow is bob's (us) and is kept, counted and told in anna's realm (eu) as well.
    wait_for(
        lambda: _follow_state(realms, "eu", "bob", "anna") == "accepted",
        timeout=30,
        interval=0.25,
        message="the follow did not reach anna's realm",
    )
    assert _follow_state(realms, "us", "bob", "anna") == "accepted"
    assert _follow_state(realms, "global", "bob", "anna") is None
    wait_for(
        lambda: all(_counts(realms, r, "anna")[0] == 1 and _counts(realms, r, "bob")[1] == 1 for r in REALMS),
        timeout=30,
        interval=0.25,
        message="the follow counts did not settle in every realm",
    )
    told = "SELECT count(*) FROM notifications_notification WHERE kind = 'follow'"
    wait_for(lambda: realms.rows("eu", told)[0][0] == 1, timeout=30, interval=0.25, message="anna was not told")
    assert realms.rows("us", told)[0][0] == 0 and realms.rows("global", told)[0][0] == 0
    # bob's Following feed (in us) has anna's video (a replica), and anna's followers list (in eu) has bob.
    following = bob.get("/api/feed/following").json()
    assert eu_video in [item["id"] for item in following["items"]], following
    anna = signed_in(server.base_url, "anna")
    assert [u["username"] for u in anna.get("/api/users/anna/followers").json()["items"]] == ["bob"]

    # Unfollowing undoes it on both sides.
    assert bob.request("DELETE", "/api/users/anna/follow").status in (200, 204)
    wait_for(
        lambda: (
            _follow_state(realms, "eu", "bob", "anna") is None
            and all(_counts(realms, r, "anna")[0] == 0 for r in REALMS)
        ),
        timeout=30,
        interval=0.25,
        message="the unfollow did not reach anna's realm",
    )


def test_a_private_account_approves_a_request_from_another_realm(deployment: Live) -> None:
    server, realms = deployment
    cleo = signed_in(server.base_url, "cleo")
    assert cleo.request("PATCH", "/api/me", json_body={"is_private": True}).status == 200
    wait_for(
        lambda: realms.rows("eu", "SELECT is_private FROM accounts_user WHERE username = 'cleo'")[0][0] in (1, True),
        timeout=30,
        interval=0.25,
        message="cleo's privacy did not reach eu",
    )
    anna = signed_in(server.base_url, "anna")
    asked = anna.post("/api/users/cleo/follow")
    assert asked.status == 201 and asked.json()["status"] == "pending", asked.body
    wait_for(
        lambda: len(cleo.get("/api/me/follow-requests").json()) == 1,
        timeout=30,
        interval=0.25,
        message="cleo never saw anna's request",
    )
    (request,) = cleo.get("/api/me/follow-requests").json()
    assert request["follower"]["username"] == "anna"
    asking = "SELECT count(*) FROM notifications_notification WHERE kind = 'follow_request'"
    assert realms.rows("global", asking)[0][0] == 1 and realms.rows("eu", asking)[0][0] == 0
    assert cleo.post(f"/api/me/follow-requests/{request['id']}/approve").status == 200
    wait_for(
        lambda: _follow_state(realms, "eu", "anna", "cleo") == "accepted",
        timeout=30,
        interval=0.25,
        message="the approval did not reach anna's realm",
    )
    wait_for(
        lambda: _counts(realms, "eu", "anna")[1] == 1 and _counts(realms, "global", "cleo")[0] == 1,
        timeout=30,
        interval=0.25,
        message="the approved follow was not counted on both sides",
    )


def _createadmin(realms: Deployment, realm: str, username: str) -> None:
    made = subprocess.run(
        [reelm_bin(), "createadmin", "--realm", realm, "--username", username, "--password-stdin"],
        input=PASSWORD + "\n",
        env=realms.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr


def test_staff_see_their_realm_and_cannot_change_another_realms_rows(deployment: Live) -> None:
    server, realms = deployment
    _createadmin(realms, "eu", "eu_admin")
    admin = Http(server.base_url)
    admin.login("eu_admin", PASSWORD)
    # Tokens are protected: eu's staff list eu's alone (anna's), never bob's (us).
    tokens = admin.get("/admin/accounts/accesstoken/")
    assert tokens.status == 200 and b"realm test" in tokens.body and b"bob test client" not in tokens.body
    # bob's public profile is here as a replica: it may be read, not changed or deleted.
    bob_id = uuid.UUID(str(realms.rows("eu", "SELECT id FROM accounts_user WHERE username = 'bob'")[0][0]))
    page = admin.get(f"/admin/accounts/user/{bob_id}/change/")
    assert page.status == 200 and b'name="_save"' not in page.body
    csrf = admin.cookie("csrftoken") or ""
    referer = {"Referer": f"{server.base_url}/admin/"}
    changed = admin.post(
        f"/admin/accounts/user/{bob_id}/change/",
        form={"username": "bobby", "csrfmiddlewaretoken": csrf},
        headers=referer,
    )
    deleted = admin.post(
        f"/admin/accounts/user/{bob_id}/delete/", form={"post": "yes", "csrfmiddlewaretoken": csrf}, headers=referer
    )
    assert changed.status == 403 and deleted.status == 403
    assert realms.rows("us", "SELECT username FROM accounts_user WHERE id = ?", realms.uuid_column(str(bob_id))) == [
        ("bob",)
    ]


def test_comments_cross_with_their_video_and_replies_find_their_thread(deployment: Live, eu_video: str) -> None:
    server, realms = deployment
    bob = signed_in(server.base_url, "bob")
    anna = signed_in(server.base_url, "anna")
    made = bob.post(f"/api/videos/{eu_video}/comments", json_body={"body": "Lovely light, @anna!"})
    assert made.status == 201, made.body
    comment_id = made.json()["id"]
    stored = realms.uuid_column(comment_id)
    # bob's comment is kept in us (his realm) and shown in every realm under the video.
    wait_for(
        lambda: all(
            realms.rows(r, "SELECT count(*) FROM social_comment WHERE id = ?", stored)[0][0] == 1 for r in REALMS
        ),
        timeout=30,
        interval=0.25,
        message="the comment did not reach every realm",
    )
    wait_for(
        lambda: all(_video_rows_comments(realms, r, eu_video) == 1 for r in REALMS),
        timeout=30,
        interval=0.25,
        message="the comment was not counted in every realm",
    )
    told = "SELECT count(*) FROM notifications_notification WHERE kind = 'comment'"
    wait_for(lambda: realms.rows("eu", told)[0][0] == 1, timeout=30, interval=0.25, message="anna was not told")
    assert realms.rows("us", told)[0][0] == 0
    # anna answers in eu; bob is told in us, and sees the thread there.
    reply = anna.post(f"/api/videos/{eu_video}/comments", json_body={"body": "Thank you!", "parent_id": comment_id})
    assert reply.status == 201, reply.body
    replied = "SELECT count(*) FROM notifications_notification WHERE kind = 'reply'"
    wait_for(lambda: realms.rows("us", replied)[0][0] == 1, timeout=30, interval=0.25, message="bob was not told")
    thread = bob.get(f"/api/videos/{eu_video}/comments").json()["items"]
    assert [c["body"] for c in thread] == ["Lovely light, @anna!"] and thread[0]["reply_count"] == 1
    # The video's author takes bob's comment down (with its reply): it goes everywhere, bob's own copy too.
    assert anna.request("DELETE", f"/api/comments/{comment_id}").status in (200, 204)
    wait_for(
        lambda: (
            all(realms.rows(r, "SELECT count(*) FROM social_comment")[0][0] == 0 for r in REALMS)
            and all(_video_rows_comments(realms, r, eu_video) == 0 for r in REALMS)
        ),
        timeout=30,
        interval=0.25,
        message="the comment taken down did not go from every realm",
    )


def _video_rows_comments(realms: Deployment, realm: str, video_id: str) -> int:
    found = realms.rows(realm, "SELECT comment_count FROM videos_video WHERE id = ?", realms.uuid_column(video_id))
    return int(found[0][0]) if found else -1


def _access_log(realms: Deployment, realm: str) -> list[tuple[Any, ...]]:
    return realms.rows(realm, "SELECT kind, staff_username, staff_realm, path FROM residency_staffaccess ORDER BY id")


def test_emergency_access_needs_a_reason_is_logged_where_it_reaches_and_expires(deployment: Live) -> None:
    server, realms = deployment
    staff = "us_admin"
    _createadmin(realms, "us", staff)
    admin = Http(server.base_url)
    admin.login(staff, PASSWORD)
    # Without a grant: refused, and the refusal is kept in eu (whose data was asked for), nowhere else.
    refused = admin.get("/admin/accounts/accesstoken/?realm=eu")
    assert refused.status == 403 and b"No access to realm eu" in refused.body
    assert [row[:3] for row in _access_log(realms, "eu")] == [("denied", staff, "us")]
    assert _access_log(realms, "us") == [] and _access_log(realms, "global") == []
    # Its own realm's tokens, as before: bob's, never anna's.
    own = admin.get("/admin/accounts/accesstoken/")
    assert b"bob test client" in own.body and b"realm test" not in own.body

    page = admin.get("/admin/realm-access/")
    assert page.status == 200
    csrf = admin.cookie("csrftoken") or ""
    referer = {"Referer": f"{server.base_url}/admin/realm-access/"}
    short = admin.post(
        "/admin/realm-access/",
        form={"realm": "eu", "reason": "because", "minutes": "10", "csrfmiddlewaretoken": csrf},
        headers=referer,
    )
    assert short.status == 200 and b"at least 20 characters" in short.body
    granted = admin.post(
        "/admin/realm-access/",
        form={
            "realm": "eu",
            "reason": "Notice 42: a court order about anna's tokens",
            "minutes": "10",
            "csrfmiddlewaretoken": csrf,
        },
        headers=referer,
    )
    assert granted.status == 200, granted.body[:500]  # followed to the admin of eu
    tokens = admin.get("/admin/accounts/accesstoken/")
    assert b"realm test" in tokens.body and b"bob test client" not in tokens.body  # eu's, while the grant holds
    kinds = [row[0] for row in _access_log(realms, "eu")]
    assert kinds[:2] == ["denied", "grant"] and kinds.count("use") >= 2
    grant = realms.rows("eu", "SELECT reason FROM residency_staffaccess WHERE kind = 'grant'")
    assert grant == [("Notice 42: a court order about anna's tokens",)]
    # The grant runs out: the next request is refused and logged, and the admin is back in us.
    realms.execute("eu", "UPDATE residency_staffaccess SET expires_at = '2000-01-01 00:00:00' WHERE kind = 'grant'")
    expired = admin.get("/admin/accounts/accesstoken/")
    assert expired.status == 403
    assert [row[0] for row in _access_log(realms, "eu")][-1] == "denied"
    back = admin.get("/admin/accounts/accesstoken/")
    assert back.status == 200 and b"bob test client" in back.body
    assert _access_log(realms, "us") == []
    shown = subprocess.run(
        [reelm_bin(), "realm", "access", "--json"], env=realms.env, capture_output=True, text=True, timeout=60
    )
    entries = json.loads(shown.stdout)
    assert {(e["realm"], e["kind"], e["staff"]) for e in entries} >= {
        ("eu", "grant", "us_admin"),
        ("eu", "denied", "us_admin"),
        ("eu", "use", "us_admin"),
    }


def _audit(realms: Deployment) -> tuple[int, dict[str, Any]]:
    ran = subprocess.run(
        [reelm_bin(), "realm", "audit", "--json"], env=realms.env, capture_output=True, text=True, timeout=120
    )
    return ran.returncode, json.loads(ran.stdout)


def test_the_audit_is_clean_and_finds_what_is_put_where_it_may_not_be(deployment: Live, eu_video: str) -> None:
    """Last in this module: everything above happened (sign-ups, sessions, tokens, uploads, replicas, likes,
    follows, requests, staff), and still every row and object is where it belongs."""
    _server, realms = deployment
    code, report = _audit(realms)
    assert code == 0 and report["clean"], report["findings"]
    assert all(row["rows"] > 0 for row in report["realms"])
    assert next(row for row in report["realms"] if row["realm"] == "eu")["objects"] > 0

    leak = realms.store("us") / "videos" / eu_video / "leak.ts"
    realms.execute("us", "UPDATE accounts_user SET email = 'anna@example.org' WHERE username = 'anna'")
    realms.execute("us", "INSERT INTO django_session VALUES ('eu-planted0000000000', 'x', '2099-01-01')")
    leak.parent.mkdir(parents=True, exist_ok=True)
    leak.write_bytes(b"a segment of a video of eu")
    try:
        code, report = _audit(realms)
        assert code == 1 and not report["clean"]
        found = {(f["realm"], f["kind"], f["where"]) for f in report["findings"]}
        assert ("us", "protected-outside", "accounts_user @anna") in found, found
        assert ("us", "protected-outside", "django_session") in found, found
        assert ("us", "object-outside", f"videos/{eu_video}/leak.ts") in found, found
        assert len(report["findings"]) == 3, report["findings"]
    finally:
        realms.execute("us", "UPDATE accounts_user SET email = '' WHERE username = 'anna'")
        realms.execute("us", "DELETE FROM django_session WHERE session_key = 'eu-planted0000000000'")
        leak.unlink()
    assert _audit(realms)[0] == 0
