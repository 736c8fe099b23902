"""Account writes: sign-up, profile edits, avatars and personal access tokens."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from reelm.accounts.models import AccessToken, User
from reelm.core import realms
from reelm.core.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMedia
from reelm.core.ids import uuid7
from reelm.core.prepared import PreparedInstances
from reelm.core.timing import phase
from reelm.directory.services import Taken, entry_release, entry_reserve
from reelm.storage.registry import media_store

TOKEN_PREFIX = "reelm_"
AVATAR_MAX_BYTES = 10 * 1024 * 1024
AVATAR_SIZE = 400
AVATAR_FORMATS = {"JPEG", "PNG", "WEBP"}


def _validation_message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def user_create(
    *, username: str, password: str, email: str = "", display_name: str = "", country: str = "", realm: str = ""
) -> User:
    """A new account, at home in ``realm`` or else in the realm the operator gives ``country`` (two letters).

    The directory reserves its handle and e-mail first, across every realm; its rows are then written in its
    realm, and a failure there gives the reservation back."""
    home = realm or realms.realm_for_country(country)
    email = email.strip()
    user = User(id=uuid7(), username=username, email=email, display_name=display_name or username, home_realm=home)
    try:
        realms.realm(home)
        user.full_clean(exclude=["password"])
        validate_password(password, user)
    except realms.RealmError as exc:
        raise InvalidInput(str(exc), code="invalid_account") from exc
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), code="invalid_account") from exc
    user.set_password(password)
    try:
        entry_reserve(account_id=user.id, handle=username, email=email, realm=home)
    except Taken as exc:
        raise InvalidInput(str(exc), code="invalid_account") from exc
    try:
        with realms.working_for(home), realms.atomic():
            user.save(force_insert=True)
    except BaseException:
        entry_release(user.id)
        raise
    return user


def profile_update(*, user: User, display_name: str | None = None, bio: str | None = None) -> User:
    if display_name is not None:
        user.display_name = display_name.strip()
    if bio is not None:
        user.bio = bio.strip()
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc)) from exc
    user.save(update_fields=["display_name", "bio"])
    return user


def avatar_set(*, user: User, upload: BinaryIO | File) -> User:
    """Decode the image (JPEG/PNG/WebP only), crop it square and re-encode it, which drops EXIF/GPS."""
    data = upload.read(AVATAR_MAX_BYTES + 1)
    if len(data) > AVATAR_MAX_BYTES:
        raise PayloadTooLarge("Avatars are limited to 10 MiB.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in AVATAR_FORMATS:
                raise UnsupportedMedia("Avatars must be JPEG, PNG or WebP images.")
            if probe.width * probe.height > 40_000_000:
                raise UnsupportedMedia("The image is too large.")
            image = probe.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise UnsupportedMedia("The file is not a readable image.") from exc
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((AVATAR_SIZE, AVATAR_SIZE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    old_key = user.avatar_key
    key = f"avatars/{user.id}/{uuid7()}.jpg"
    media_store().put(key, out.getvalue())
    user.avatar_key = key
    user.save(update_fields=["avatar_key"])
    if old_key:
        realms.on_commit(lambda: media_store().delete(old_key))
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    secret: str  # shown once, never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str) -> IssuedToken:
    name = name.strip()
    if not name or len(name) > 60:
        raise InvalidInput("Give the token a name of 1–60 characters.")
    # With realms, the secret names its realm (never a dot in a urlsafe token): the request it comes with is then
    # looked up in that realm alone.
    realm = f"{realms.current_realm()}." if realms.configured() else ""
    secret = TOKEN_PREFIX + realm + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        owner=user, name=name, prefix=secret[: len(TOKEN_PREFIX) + 6], token_hash=hash_token(secret)
    )
    return IssuedToken(token=token, secret=secret)


def token_revoke(*, user: User, token_id: uuid.UUID | str) -> AccessToken:
    token = AccessToken.objects.filter(owner=user, id=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_realm(secret: str) -> str | None:
    """The configured realm a token's secret names, if any."""
    name, dot, _rest = secret.removeprefix(TOKEN_PREFIX).partition(".")
    return name if secret.startswith(TOKEN_PREFIX) and dot and name in realms.config().realms else None


def token_authenticate(secret: str) -> User | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    with phase("auth"):
        return _token_owner(secret)


def _token_owner(secret: str) -> User | None:
    token = next(iter(_live_token_with_owner(hash_token(secret))), None)
    if token is None or not token.owner.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RECORDED_EVERY:
        AccessToken.objects.filter(id=token.id).update(last_used_at=now)
    return token.owner


#: How often a token's use is written down. Every API request authenticates: once a minute meant a write per active
#: client and minute (and now and then SQLite's checkpoint, in whichever request commits it), for a date that is
#: there to spot tokens nobody uses, where the hour is precise enough.
TOKEN_USE_RECORDED_EVERY = timedelta(hours=1)


#: Every API request asks, so the query is prepared; no ORDER BY (the hash is unique).
_live_token_with_owner = PreparedInstances(
    lambda token_hash: AccessToken.objects.order_by().filter(token_hash=token_hash, revoked_at__isnull=True)[:1],
    related=["owner"],
)
