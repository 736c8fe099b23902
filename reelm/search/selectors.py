"""Search reads: one ``search`` over accounts, videos and hashtags, and a hashtag's videos, visibility enforced
in SQL with the rules of ``reelm.videos.selectors.can_view``."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from reelm.accounts.models import User
from reelm.core.errors import InvalidInput, NotFound
from reelm.relations.models import Follow, FollowStatus
from reelm.relations.selectors import not_hidden
from reelm.search.backends import backend
from reelm.videos.cards import video_cards
from reelm.videos.models import Hashtag, Video, Visibility
from reelm.videos.states import VideoState

QUERY_MAX = 200
MAX_TERMS = 12
TYPES = ("accounts", "videos", "hashtags")
_TERM_RE = re.compile(r"\w+", re.UNICODE)


@dataclass
class SearchResults:
    accounts: list[User] = field(default_factory=list)
    videos: list[dict[str, Any]] = field(default_factory=list)  # cards, for the viewer searching
    hashtags: list[Hashtag] = field(default_factory=list)


def clean_query(query: str | None) -> str:
    query = (query or "").strip()
    if not query:
        raise InvalidInput("Type something to search for.", code="empty_query")
    if len(query) > QUERY_MAX:
        raise InvalidInput(f"Searches are limited to {QUERY_MAX} characters.", code="query_too_long")
    return query


def query_terms(query: str) -> list[str]:
    """The user's words, without punctuation or operators; the search backend turns them into its own expression."""
    return _TERM_RE.findall(query)[:MAX_TERMS]


def _signed_in(viewer: Any) -> bool:
    return viewer is not None and bool(getattr(viewer, "is_authenticated", False))


def visible_videos(viewer: Any) -> QuerySet[Video]:
    """Videos this viewer may see, as one SQL condition mirroring ``can_view``: the author sees all; nobody sees
    the videos of an account they block or are blocked by; staff see all others; others only ready, non-private
    videos, and followers-only videos or a private account's videos only with an approved follow."""
    if _signed_in(viewer) and viewer.is_staff:
        return Video.objects.filter(Q(owner_id=viewer.id) | not_hidden(viewer))
    shown = Q(state=VideoState.READY) & ~Q(visibility=Visibility.PRIVATE)
    public = Q(visibility=Visibility.PUBLIC, owner__is_private=False)
    if not _signed_in(viewer):
        return Video.objects.filter(shown & public)
    approved = Exists(
        Follow.objects.filter(owner_id=viewer.id, followee_id=OuterRef("owner_id"), status=FollowStatus.ACCEPTED)
    )
    return Video.objects.filter(Q(owner_id=viewer.id) | (shown & (public | approved) & not_hidden(viewer)))


def _in_order(rows: QuerySet[Any], keys: list[str]) -> list[Any]:
    by_id = {row.id: row for row in rows}
    ordered = (by_id.get(uuid.UUID(key)) for key in keys)
    return [row for row in ordered if row is not None]


def search(*, query: str, viewer: Any, types: tuple[str, ...] = TYPES, limit: int = 20) -> SearchResults:
    """Accounts, videos and hashtags matching ``query`` (already cleaned), best match first by bm25."""
    results = SearchResults()
    terms = query_terms(query)
    if not terms:
        return results
    engine = backend()
    if "accounts" in types:
        # Accounts blocked either way are not found; muted ones still are.
        accounts = User.objects.filter(not_hidden(viewer, "id"), is_active=True)
        keys = engine.match("account", terms, within=accounts, limit=limit)
        results.accounts = _in_order(User.objects.filter(id__in=keys), keys)
    if "videos" in types:
        keys = engine.match("video", terms, within=visible_videos(viewer), limit=limit)
        results.videos = video_cards([uuid.UUID(key) for key in keys], viewer)
    if "hashtags" in types:
        # Only tags with a video this viewer can see, so a tag used only privately never shows up.
        tagged = Hashtag.objects.filter(video_links__video__in=visible_videos(viewer))
        keys = engine.match("hashtag", terms, within=tagged, limit=limit)
        results.hashtags = _in_order(_with_counts(Hashtag.objects.filter(id__in=keys), viewer), keys)
    return results


def _with_counts(hashtags: QuerySet[Hashtag], viewer: Any) -> QuerySet[Hashtag]:
    visible = visible_videos(viewer).values("id")
    return hashtags.annotate(video_count=Count("video_links", filter=Q(video_links__video_id__in=visible)))


def hashtag_get(name: str, viewer: Any) -> Hashtag:
    """The hashtag with ``video_count``: how many of its videos this viewer can see."""
    hashtag = _with_counts(Hashtag.objects.filter(name=name.lstrip("#").lower()), viewer).first()
    if hashtag is None:
        raise NotFound("No such hashtag.")
    return hashtag


def hashtag_videos(
    hashtag: Hashtag, viewer: Any, *, before: uuid.UUID | None = None, limit: int = 24
) -> tuple[list[dict[str, Any]], uuid.UUID | None]:
    """A page of the tag's visible videos as cards, newest first; ``before`` is the last id of the previous page
    (ids are time-ordered), never an offset. Returns the page and the next cursor."""
    queryset = visible_videos(viewer).filter(hashtag_links__hashtag=hashtag).select_related("owner")
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    videos = list(queryset.order_by("-id")[: limit + 1])
    next_cursor = videos[limit - 1].id if len(videos) > limit else None
    return video_cards(videos[:limit], viewer), next_cursor
