"""Public videos, replicated read-only into every other realm through the gateway, so their feeds, search and pages
can show them; the media stay in the home realm's store and are served from there. A video that is private,
followers-only, not ready or by a private account is protected: it is never sent, and a replica of it is withdrawn.

A like or a bookmark of a replica is the viewer's (it stays in the viewer's realm); the count it changes travels
to the video's home realm as ``video.reaction``, which then sends every realm the new counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.utils.dateparse import parse_datetime

from reelm.accounts.models import User
from reelm.core import bus, realms
from reelm.gateway.kinds import Delivery, GatewayRefused, kind
from reelm.gateway.services import send
from reelm.videos.models import Hashtag, Mention, Video, VideoHashtag, Visibility
from reelm.videos.states import VideoState

#: What a replica holds of a video: enough to list, rank, search and play it, nothing of its upload or processing.
VIDEO_FIELDS = (
    "id",
    "owner",
    "caption",
    "language",
    "duration",
    "width",
    "height",
    "media_prefix",
    "renditions",
    "preview_count",
    "playable_at",
    "ready_at",
    "created_at",
    "like_count",
    "comment_count",
    "bookmark_count",
)
COUNTERS = {"like": "like_count", "bookmark": "bookmark_count"}


def _replicable(video: Video) -> bool:
    return video.visibility == Visibility.PUBLIC and video.state == VideoState.READY and not video.owner.is_private


def video_replicate(video_ids: Iterable[uuid.UUID]) -> None:
    """Send every other realm the current state of each video at home here that may leave its realm; withdraw the
    replicas of one that may no longer (it went private, or its account did). In the transaction that changed it."""
    if not realms.configured():
        return
    here = realms.current_realm()
    for video in Video.objects.select_related("owner").filter(id__in=list(video_ids), owner__home_realm=here):
        if _replicable(video):
            row = {name: getattr(video, "owner_id" if name == "owner" else name) for name in VIDEO_FIELDS}
            tags = list(video.hashtag_links.values_list("hashtag__name", flat=True))
            mentions = [str(m) for m in video.mentions.values_list("mentioned_id", flat=True)]
            send("video.public", **row, hashtags=sorted(tags), mentioned=mentions)
            if not video.replicated:
                Video.objects.filter(id=video.id).update(replicated=True)
        elif video.replicated:
            send("video.gone", id=str(video.id))
            Video.objects.filter(id=video.id).update(replicated=False)


def _video_deleted(instance: Video, **_: Any) -> None:
    if realms.configured() and instance.replicated:
        send("video.gone", id=str(instance.id))


def _at_home(video_id: uuid.UUID) -> bool:
    return Video.objects.filter(id=video_id, owner__home_realm=realms.current_realm()).exists()


@kind(
    "video.public",
    why="a public video: other realms list, rank, search and play it (its media from its home realm's store)",
    fields={
        **{name: f"videos.Video.{name}" for name in VIDEO_FIELDS},
        "hashtags": "json",
        "mentioned": "json",
    },
)
def video_public_apply(delivery: Delivery, payload: dict[str, Any]) -> None:
    video_id = uuid.UUID(payload["id"])
    owner = User.objects.filter(id=uuid.UUID(payload["owner"])).first()
    if owner is None:
        raise GatewayRefused(f"video {video_id}: its account's profile has not arrived yet")
    if owner.home_realm != delivery.source:
        raise GatewayRefused(f"realm {delivery.source!r} sent a video of an account of {owner.home_realm!r}")
    values: dict[str, Any] = {name: payload[name] for name in VIDEO_FIELDS if name not in ("id", "owner")}
    for name in ("playable_at", "ready_at", "created_at"):
        values[name] = parse_datetime(values[name]) if values[name] else None
    replica = Video.objects.filter(id=video_id).first() or Video(id=video_id, owner=owner)
    for name, value in values.items():
        setattr(replica, name, value)
    replica.visibility, replica.state, replica.source_key = Visibility.PUBLIC, VideoState.READY, ""
    replica.save()
    Video.objects.filter(id=video_id).update(created_at=values["created_at"])  # not the arrival's time
    tags = [Hashtag.objects.get_or_create(name=name)[0] for name in payload["hashtags"]]
    VideoHashtag.objects.filter(video=replica).exclude(hashtag__in=tags).delete()
    for tag in tags:
        VideoHashtag.objects.get_or_create(video=replica, hashtag=tag, defaults={"owner": owner})
    here = set(User.objects.filter(id__in=payload["mentioned"]).values_list("id", flat=True))
    Mention.objects.filter(video=replica).exclude(mentioned_id__in=here).delete()
    for mentioned in here:
        Mention.objects.get_or_create(video=replica, mentioned_id=mentioned, defaults={"owner": owner})


@kind("video.gone", why="a video was deleted or is no longer public: its replicas go", fields={"id": "videos.Video.id"})
def video_gone_apply(delivery: Delivery, payload: dict[str, Any]) -> None:
    replica = Video.objects.select_related("owner").filter(id=uuid.UUID(payload["id"])).first()
    if replica is None:
        return
    if replica.owner.home_realm != delivery.source:
        raise GatewayRefused(
            f"realm {delivery.source!r} withdrew a video of an account of {replica.owner.home_realm!r}"
        )
    replica.delete()


@kind(
    "video.reaction",
    why="someone in another realm liked or bookmarked a video (or took it back): its home realm counts it",
    fields={"video": "videos.Video.id", "account": "accounts.User.id", "reaction": "str", "added": "bool"},
)
def video_reaction_apply(delivery: Delivery, payload: dict[str, Any]) -> None:
    counter = COUNTERS.get(payload["reaction"])
    if counter is None:
        raise GatewayRefused(f"no reaction is called {payload['reaction']!r}")
    video = Video.objects.filter(id=uuid.UUID(payload["video"]), owner__home_realm=realms.current_realm()).first()
    actor = User.objects.filter(id=uuid.UUID(payload["account"]), home_realm=delivery.source).first()
    if video is None or actor is None:
        return  # the video is gone, or its viewer's account: nothing left to count
    delta = 1 if payload["added"] else -1
    Video.objects.filter(id=video.id).update(**{counter: F(counter) + delta})
    # As a like made here: the owner is told, and every realm gets the new counts (video_reacted below).
    bus.emit(
        bus.Reacted(
            account_id=actor.id,
            video_id=video.id,
            video_owner_id=video.owner_id,
            kind=payload["reaction"],
            added=payload["added"],
        )
    )


# --- in the transaction of each change (a signal or an in-transaction subscriber) ----------------------------


def _video_saved(instance: Video, **_: Any) -> None:
    video_replicate([instance.id])


def _video_ready(event: bus.VideoReady) -> None:
    video_replicate([event.video_id])


def _reacted(event: bus.Reacted) -> None:
    if not realms.configured():
        return
    if _at_home(event.video_id):
        video_replicate([event.video_id])  # the new counts
        return
    owner_realm = User.objects.filter(id=event.video_owner_id).values_list("home_realm", flat=True).first()
    if owner_realm and owner_realm != realms.current_realm():
        send(
            "video.reaction",
            to=[owner_realm],
            video=str(event.video_id),
            account=str(event.account_id),
            reaction=event.kind,
            added=event.added,
        )


def _privacy_changed(event: bus.AccountPrivacyChanged) -> None:
    if realms.configured():
        video_replicate(Video.objects.filter(owner_id=event.account_id).values_list("id", flat=True))


def subscribe() -> None:
    post_save.connect(_video_saved, sender=Video, dispatch_uid="videos-replicate-save")
    post_delete.connect(_video_deleted, sender=Video, dispatch_uid="videos-replicate-delete")
    bus.subscribe_in_transaction(bus.VideoReady, _video_ready)
    bus.subscribe_in_transaction(bus.Reacted, _reacted)
    bus.subscribe_in_transaction(bus.AccountPrivacyChanged, _privacy_changed)
