"""Read-only lookups for the feed pages: trending hashtags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from reelm.videos.models import Hashtag, Visibility
from reelm.videos.states import VideoState


@dataclass(frozen=True)
class TrendingTag:
    name: str
    count: int


def trending_hashtags(*, now: datetime | None = None, limit: int = 10) -> list[TrendingTag]:
    """Hashtags on the most public videos created in the last 7 days, most first (ties by name): one query."""
    since = (now or timezone.now()) - timedelta(days=7)
    recent = Q(
        video_links__video__visibility=Visibility.PUBLIC,
        video_links__video__state=VideoState.READY,
        video_links__video__owner__is_private=False,
        video_links__video__created_at__gte=since,
    )
    rows = (
        Hashtag.objects.annotate(n=Count("video_links", filter=recent))
        .filter(n__gt=0)
        .order_by("-n", "name")
        .values_list("name", "n")[:limit]
    )
    return [TrendingTag(name=name, count=n) for name, n in rows]
