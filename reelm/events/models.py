"""Watch events: the append-only stream of what viewers saw and watched, the recommender's signal."""

from __future__ import annotations

from django.db import models

from reelm.core.models import OwnedModel
from reelm.core.scopes import Scope, scoped


class WatchEventKind(models.TextChoices):
    IMPRESSION = "impression", "Impression"
    WATCH = "watch", "Watch"
    COMPLETE = "complete", "Complete"
    REPLAY = "replay", "Replay"
    SKIP = "skip", "Skip"
    SHARE = "share", "Share"


@scoped(Scope.PROTECTED, "watch behaviour")
class WatchEvent(OwnedModel):
    """Append-only: ``owner`` (the viewer) did ``kind`` on ``video``. Times are milliseconds as the client
    measured them; ``client_at`` is the client's clock, ``created_at`` the server's."""

    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=WatchEventKind.choices)
    watched_ms = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    position_ms = models.PositiveIntegerField(default=0)
    session_id = models.CharField(max_length=64, blank=True)
    client_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "created_at"], name="watchevent_owner_time"),
            models.Index(fields=["video", "kind"], name="watchevent_video_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.kind} {self.video_id}"
