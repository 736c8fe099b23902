"""A person's data: download all of it, or delete all of it.

Deletion goes through the social services one row at a time, so every counter on other people's videos and
profiles stays right, and every media object of the account is removed from the store.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import PurePosixPath
from typing import IO, Any

from django.contrib.auth.hashers import check_password
from django.http import FileResponse

from reelm.accounts.models import AccessToken, User
from reelm.core import realms
from reelm.core.errors import Forbidden
from reelm.directory.services import entry_release
from reelm.relations import services as relations
from reelm.relations.models import Follow
from reelm.social import services as social
from reelm.social.models import Bookmark, Comment, CommentLike, Like
from reelm.storage.registry import media_store
from reelm.videos.models import Video
from reelm.videos.services import video_delete

EXPORT_FORMAT = 1


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _profile(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "bio": user.bio,
        "is_private": user.is_private,
        "date_joined": _iso(user.date_joined),
        "avatar": "avatar.jpg" if user.avatar_key else None,
    }


def _videos(user: User) -> list[dict[str, Any]]:
    return [
        {
            "id": str(video.id),
            "caption": video.caption,
            "hashtags": [link.hashtag.name for link in video.hashtag_links.all()],
            "visibility": video.visibility,
            "language": video.language,
            "state": video.state,
            "duration": video.duration,
            "width": video.width,
            "height": video.height,
            "created_at": _iso(video.created_at),
            "original": f"videos/{video.id}/{PurePosixPath(video.source_key).name}",
            "original_sha256": video.source_sha256,
        }
        for video in Video.objects.filter(owner=user).prefetch_related("hashtag_links__hashtag").order_by("id")
    ]


def _rows(user: User) -> dict[str, list[dict[str, Any]]]:
    return {
        "comments": [
            {
                "id": str(c.id),
                "video": str(c.video_id),
                "parent": str(c.parent_id) if c.parent_id else None,
                "body": c.body,
                "created_at": _iso(c.created_at),
            }
            for c in Comment.objects.filter(owner=user).order_by("id")
        ],
        "likes": [
            {"video": str(v), "created_at": _iso(t)}
            for v, t in Like.objects.filter(owner=user).values_list("video_id", "created_at")
        ],
        "bookmarks": [
            {"video": str(v), "created_at": _iso(t)}
            for v, t in Bookmark.objects.filter(owner=user).values_list("video_id", "created_at")
        ],
        "following": [
            {"username": f.followee.username, "status": f.status, "created_at": _iso(f.created_at)}
            for f in Follow.objects.filter(owner=user).select_related("followee")
        ],
        "followers": [
            {"username": f.owner.username, "status": f.status, "created_at": _iso(f.created_at)}
            for f in Follow.objects.filter(followee=user).select_related("owner")
        ],
    }


def account_export(*, user: User, out: IO[bytes]) -> None:
    """Write a ZIP of everything the account holds: JSON for its rows, and its original uploads and avatar."""
    store = media_store()
    videos = _videos(user)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt", "Your Reelm data. JSON files hold your rows; videos/ holds your original uploads.\n"
        )
        archive.writestr("profile.json", json.dumps({"format": EXPORT_FORMAT, **_profile(user)}, indent=2))
        archive.writestr("videos.json", json.dumps(videos, indent=2))
        for name, rows in _rows(user).items():
            archive.writestr(f"{name}.json", json.dumps(rows, indent=2))
        if user.avatar_key:
            archive.writestr("avatar.jpg", store.read_bytes(user.avatar_key))
        for video, meta in zip(Video.objects.filter(owner=user).order_by("id"), videos, strict=True):
            # Stored media is already compressed; streaming keeps memory flat for big originals.
            with archive.open(zipfile.ZipInfo(meta["original"]), "w", force_zip64=True) as entry:
                for chunk in store.stream(video.source_key):
                    entry.write(chunk)


def account_export_response(*, user: User) -> FileResponse:
    """The export as a download, spooled to disk past 32 MiB so big accounts don't sit in memory."""
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
    account_export(user=user, out=spool)
    spool.seek(0)
    return FileResponse(
        spool, as_attachment=True, filename=f"reelm-{user.username}.zip", content_type="application/zip"
    )


def account_delete(*, user: User, password: str) -> None:
    """Delete the account, everything it made and every media object it owns. Needs the password."""
    if not check_password(password, user.password):
        raise Forbidden("The password is not right.", code="wrong_password")
    store = media_store()
    avatar_prefix = f"avatars/{user.id}/"  # taken now: deleting the row clears user.id
    with realms.atomic():
        _undo_reactions(user)
        for video in Video.objects.filter(owner=user):
            video_delete(video=video, actor=user)
        AccessToken.objects.filter(owner=user).delete()
        account_id = user.id
        user.delete()
        realms.on_commit(lambda: store.delete_prefix(avatar_prefix))
        # Its handle and e-mail address are free again once the account is gone.
        realms.on_commit(lambda: entry_release(account_id))


def _undo_reactions(user: User) -> None:
    """Remove the account's marks on other people's things through the services that keep counts right."""
    for comment_like in CommentLike.objects.filter(owner=user).select_related("comment"):
        social.comment_like_delete(user=user, comment=comment_like.comment)
    for comment in (
        Comment.objects.filter(owner=user, parent__isnull=True).exclude(video__owner=user).select_related("video")
    ):
        social.comment_delete(actor=user, comment=comment)
    for reply in Comment.objects.filter(owner=user).exclude(video__owner=user).select_related("video"):
        social.comment_delete(actor=user, comment=reply)
    for like in Like.objects.filter(owner=user).exclude(video__owner=user).select_related("video"):
        social.like_delete(user=user, video=like.video)
    for bookmark in Bookmark.objects.filter(owner=user).exclude(video__owner=user).select_related("video"):
        social.bookmark_delete(user=user, video=bookmark.video)
    for follow in Follow.objects.filter(owner=user).select_related("followee"):
        relations.follow_delete(follower=user, followee=follow.followee)
    for follow in Follow.objects.filter(followee=user).select_related("owner"):
        relations.follow_delete(follower=follow.owner, followee=user)
