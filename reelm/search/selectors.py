"""Search reads: one ``search`` over accounts, videos and hashtags, and a hashtag's videos, visibility enforced
in SQL with the rules of ``reelm.videos.selectors.can_view``."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

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
    account_keys: list[str] = []
    if "accounts" in types or "videos" in types:
        # Accounts blocked either way are not found; muted ones still are.
        accounts = User.objects.filter(not_hidden(viewer, "id"), is_active=True)
        account_keys = engine.match("account", terms, within=accounts, limit=limit)
    if "accounts" in types:
        results.accounts = _in_order(User.objects.filter(id__in=account_keys), account_keys)
    if "videos" in types:
        keys = engine.match("video", terms, within=visible_videos(viewer), limit=limit)
        ids = [uuid.UUID(key) for key in keys]
        if len(ids) < limit and account_keys:
            ids += _videos_by_authors(account_keys, terms, viewer, exclude=ids, limit=limit - len(ids))
        results.videos = video_cards(ids, viewer)
    if "hashtags" in types:
        # Only tags with a video this viewer can see, so a tag used only privately never shows up.
        tagged = Hashtag.objects.filter(video_links__video__in=visible_videos(viewer))
        keys = engine.match("hashtag", terms, within=tagged, limit=limit)
        results.hashtags = _in_order(_with_counts(Hashtag.objects.filter(id__in=keys), viewer), keys)
    return results


def _videos_by_authors(
    account_keys: list[str], terms: list[str], viewer: Any, *, exclude: list[uuid.UUID], limit: int
) -> list[uuid.UUID]:
    """Visible videos by the accounts whose username or display name matched (not only their bio): a search for
    a creator's name finds their videos too, after the caption matches. Best-matching creator first, then newest.

    The full-text match is the backend's (the same on SQLite and PostgreSQL); this only checks which words hit the
    name, in Python, with the backends' rule (each word a prefix of a word of the name, without regard to case)."""
    authors = [uuid.UUID(key) for key in account_keys]
    names = {
        row[0]: row[1:] for row in User.objects.filter(id__in=authors).values_list("id", "username", "display_name")
    }
    by_name = [a for a in authors if a in names and _name_matches(terms, *names[a])]
    if not by_name:
        return []
    creator_rank = Case(*(When(owner_id=a, then=Value(n)) for n, a in enumerate(by_name)), output_field=IntegerField())
    found = visible_videos(viewer).filter(owner_id__in=by_name).exclude(id__in=exclude)
    return list(found.order_by(creator_rank, "-id").values_list("id", flat=True)[:limit])


def _folded_words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain)


def _name_matches(terms: list[str], username: str, display_name: str) -> bool:
    """Every search word is a prefix of a word of the username or the display name (accents and case folded)."""
    words = _folded_words(username) + _folded_words(display_name)
    for term in terms:
        parts = _folded_words(term)
        if not parts or not all(any(w.startswith(p) for w in words) for p in parts):
            return False
    return True


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
