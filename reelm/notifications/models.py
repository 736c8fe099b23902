"""Notifications: one row per thing that happened to an account. ``owner`` is the recipient."""

from __future__ import annotations

from django.db import models

from reelm.core.models import OwnedModel
from reelm.core.scopes import Scope, scoped


class NotificationKind(models.TextChoices):
    FOLLOW = "follow", "Follow"
    FOLLOW_REQUEST = "follow_request", "Follow request"
    LIKE = "like", "Like"
    COMMENT = "comment", "Comment"
    REPLY = "reply", "Reply"
    MENTION = "mention", "Mention"


@scoped(Scope.PROTECTED, "what an account is told, kept in its realm")
class Notification(OwnedModel):
    """``actor`` did ``kind`` to ``owner`` (on ``video``/``comment`` where it applies). Deleting the video or
    comment deletes the notification with it."""

    actor = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    video = models.ForeignKey("videos.Video", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey("social.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Liking, unliking and liking again never leaves more than one unread like per (actor, video).
            models.UniqueConstraint(
                fields=["owner", "actor", "video"],
                condition=models.Q(kind="like", read_at__isnull=True),
                name="one_unread_like_notification",
            ),
            models.CheckConstraint(condition=~models.Q(owner=models.F("actor")), name="no_self_notification"),
        ]
        indexes = [
            models.Index(fields=["owner", "-id"], name="notification_inbox"),
            # The header bell: one COUNT over this partial index.
            models.Index(fields=["owner"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.kind} → {self.owner_id}"


# --- watch events (the recommender's signal) -----------------------------------------------------------------
# Lives here only until it gets its own app; ``db_table`` is already the table such an "events" app would use,
# so the move is a state-only migration.
