"""Read-only lookups for the recommender's pages and API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from reelm.accounts.models import User
from reelm.recommend.models import NotInterested, NotInterestedScope, Taste
from reelm.videos.models import Video

CHOICES_SHOWN = 200


def needs_interests(user: Any) -> bool:
    """A signed-in viewer the recommender knows nothing about yet: no impressions learned, no interests picked.
    Reads without creating a taste, so a page view writes nothing."""
    if not getattr(user, "is_authenticated", False):
        return False
    taste = Taste.objects.filter(owner_id=user.id).only("impressions", "interests").first()
    return taste is None or (taste.impressions == 0 and not taste.interests)


def for_you_page_context(viewer: Any) -> dict[str, Any]:
    """What the For You web page adds to its template: whether to ask the viewer for interests first."""
    return {"needs_interests": needs_interests(viewer)}


def preferred_languages(user: Any) -> list[str]:
    """The languages the account watches in, first preferred (none before it has a taste)."""
    found = Taste.objects.filter(owner_id=user.id).values_list("languages", flat=True)[:1]
    return list(next(iter(found), []))


@dataclass
class NotInterestedRow:
    id: uuid.UUID
    scope: str
    target: str
    kind: str  # "This video", "This creator", "This hashtag"
    label: str
    url: str | None


def not_interested_rows(user: Any, choices: list[NotInterested] | None = None) -> list[NotInterestedRow]:
    """The viewer's choices (all, newest first, unless given), named in one query per kind."""
    if choices is None:
        choices = list(NotInterested.objects.filter(owner_id=user.id).order_by("-id")[:CHOICES_SHOWN])
    targets = {scope: [_uuid(c.target) for c in choices if c.scope == scope] for scope in ("author", "video")}
    usernames = dict(User.objects.filter(id__in=[i for i in targets["author"] if i]).values_list("id", "username"))
    captions = dict(Video.objects.filter(id__in=[i for i in targets["video"] if i]).values_list("id", "caption"))
    return [_row(c, usernames, captions) for c in choices]


def _row(choice: NotInterested, usernames: dict[uuid.UUID, str], captions: dict[uuid.UUID, str]) -> NotInterestedRow:
    kind = NotInterestedScope(choice.scope).label
    if choice.scope == NotInterestedScope.HASHTAG:
        return NotInterestedRow(
            choice.id, choice.scope, choice.target, kind, f"#{choice.target}", reverse("hashtag", args=[choice.target])
        )
    target = _uuid(choice.target)
    if choice.scope == NotInterestedScope.AUTHOR:
        name = usernames.get(target) if target else None
        if name is None:
            return NotInterestedRow(choice.id, choice.scope, choice.target, kind, "a removed account", None)
        return NotInterestedRow(
            choice.id, choice.scope, choice.target, kind, f"@{name}", reverse("profile", args=[name])
        )
    caption = captions.get(target) if target else None
    if caption is None:
        return NotInterestedRow(choice.id, choice.scope, choice.target, kind, "a removed video", None)
    label = caption[:60] or "a video without a caption"
    return NotInterestedRow(choice.id, choice.scope, choice.target, kind, label, reverse("video", args=[str(target)]))


def _uuid(hex_text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(hex=hex_text)
    except ValueError:
        return None
