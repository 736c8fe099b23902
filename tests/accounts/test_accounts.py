from __future__ import annotations

import io
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from reelm.accounts.models import AccessToken, User
from reelm.accounts.services import TOKEN_USE_RECORDED_EVERY, token_authenticate, token_create
from reelm.storage.base import ObjectStore
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _image(fmt: str = "PNG", size: tuple[int, int] = (300, 200), exif: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 90))
    out = io.BytesIO()
    if exif:
        info = Image.Exif()
        info[0x010F] = "AcmePhone"  # Make
        image.save(out, fmt, exif=info)
    else:
        image.save(out, fmt)
    return out.getvalue()


def test_signup_logs_in_and_redirects_to_upload(client: Client) -> None:
    response = client.post(
        "/signup",
        {
            "username": "carol",
            "email": "c@example.org",
            "display_name": "Carol",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/upload"
    assert client.get("/upload").status_code == 200
    assert User.objects.get(username="carol").display_name == "Carol"


def test_signup_rejects_weak_password_and_bad_username(client: Client) -> None:
    response = client.post("/signup", {"username": "bad name!", "password1": "123", "password2": "123"})
    assert response.status_code == 200
    assert not User.objects.exists()
    assert b"too short" in response.content or b"too common" in response.content


def test_login_logout_and_password_change(client: Client, user: User) -> None:
    assert client.post("/login", {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 302
    response = client.post(
        "/settings/password",
        {
            "old_password": PASSWORD,
            "new_password1": "another fine passphrase",
            "new_password2": "another fine passphrase",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another fine passphrase")
    assert client.post("/logout").status_code == 302
    assert client.get("/settings").status_code == 302  # back to the login page


def test_api_signup_and_errors(client: Client) -> None:
    ok = client.post("/api/accounts", {"username": "dora", "password": PASSWORD}, content_type="application/json")
    assert ok.status_code == 201
    assert ok.json()["profile_url"] == "/@dora"
    taken = client.post("/api/accounts", {"username": "dora", "password": PASSWORD}, content_type="application/json")
    assert taken.status_code == 400
    assert taken.json()["error"]["code"] == "invalid_account"
    assert "taken" in taken.json()["error"]["message"]
    malformed = client.post("/api/accounts", "{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"
    missing = client.post("/api/accounts", {"username": "x"}, content_type="application/json")
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "validation_error"


def test_profile_edit_through_api(api: Client) -> None:
    response = api.patch(
        "/api/me", {"display_name": "  Alice A.  ", "bio": "I film cats"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Alice A."
    assert Client().get("/api/users/alice").json()["bio"] == "I film cats"
    assert Client().get("/api/users/nobody").status_code == 404


def test_avatar_is_reencoded_square_without_metadata(
    api: Client, user: User, media_store: ObjectStore, django_capture_on_commit_callbacks: Any
) -> None:
    upload = io.BytesIO(_image("JPEG", (640, 480), exif=True))
    upload.name = "../../evil.jpg"
    response = api.post("/api/me/avatar", {"file": upload})
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.avatar_key.startswith(f"avatars/{user.id}/") and "evil" not in user.avatar_key
    served = Client().get(response.json()["avatar_url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(b"".join(served.streaming_content)))
    assert image.size == (400, 400)
    assert not image.getexif()
    # Replacing the avatar removes the old object.
    old_key = user.avatar_key
    second = io.BytesIO(_image("PNG"))
    second.name = "b.png"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/me/avatar", {"file": second}).status_code == 200
    assert not media_store.exists(old_key)


@pytest.mark.parametrize(
    "payload", [b"", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", b"GIF89a" + b"\0" * 20]
)
def test_avatar_rejects_non_images(api: Client, user: User, media_store: ObjectStore, payload: bytes) -> None:
    upload = io.BytesIO(payload)
    upload.name = "a.png"
    response = api.post("/api/me/avatar", {"file": upload})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media"
    assert list(media_store.list()) == []


def test_tokens_create_use_and_revoke_from_settings_page(client: Client, user: User) -> None:
    client.force_login(user)
    page = client.post("/settings/tokens", {"name": "my script"})
    assert page.status_code == 200
    secret = page.context["new_secret"]
    assert secret.startswith("reelm_") and secret.encode() in page.content
    token = AccessToken.objects.get(owner=user)
    assert token.token_hash != secret and secret not in token.token_hash  # only a hash is stored
    bearer = Client(headers={"Authorization": f"Bearer {secret}"})
    assert bearer.get("/api/me").json()["username"] == "alice"
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert client.post(f"/settings/tokens/{token.id}/revoke").status_code == 302
    revoked = bearer.get("/api/me")
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "unauthenticated"


def test_a_tokens_use_is_written_down_at_most_once_an_hour(user: User) -> None:
    issued = token_create(user=user, name="phone")
    assert token_authenticate(issued.secret) == user
    first = AccessToken.objects.get(id=issued.token.id).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        assert token_authenticate(issued.secret) == user
    assert len(queries) == 1 and queries[0]["sql"].lstrip().upper().startswith("SELECT")  # a read, no write
    assert AccessToken.objects.get(id=issued.token.id).last_used_at == first
    an_hour_ago = first - TOKEN_USE_RECORDED_EVERY
    AccessToken.objects.filter(id=issued.token.id).update(last_used_at=an_hour_ago)
    assert token_authenticate(issued.secret) == user
    assert AccessToken.objects.get(id=issued.token.id).last_used_at > first


def test_tokens_through_api(api: Client, other_api: Client) -> None:
    created = api.post("/api/tokens", {"name": "ci"}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("reelm_")
    listed = api.get("/api/tokens").json()
    assert {t["name"] for t in listed} == {"tests", "ci"}
    assert all("secret" not in t for t in listed)
    # Another account cannot revoke it.
    assert other_api.delete(f"/api/tokens/{body['id']}").status_code == 404
    assert api.delete(f"/api/tokens/{body['id']}").status_code == 204
    assert Client(headers={"Authorization": f"Bearer {body['secret']}"}).get("/api/me").status_code == 401


def test_session_api_requires_csrf(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/me").status_code == 200
    response = client.patch("/api/me", {"bio": "x"}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_profile_page_escapes_and_lists_public_videos_only(client: Client, user: User) -> None:
    user.bio = "<script>alert(1)</script>"
    user.save()
    page = client.get("/@alice")
    assert page.status_code == 200
    assert b"<script>alert(1)" not in page.content
    assert b"&lt;script&gt;" in page.content
    assert client.get("/@nobody").status_code == 404


def test_admin_console_lists_accounts(admin_client: Any, user: User) -> None:
    page = admin_client.get("/admin/accounts/user/")
    assert page.status_code == 200 and b"alice" in page.content
