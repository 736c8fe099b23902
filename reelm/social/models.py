"""The follow graph, reactions and comments. Every row is owned by the account that acted."""

from __future__ import annotations

from django.db import models

from reelm.core.models import OwnedModel
from reelm.videos.models import Video


class FollowStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    PENDING = "pending", "Pending"


class Follow(OwnedModel):
    """``owner`` follows ``followee``. A follow of a private account waits as ``pending`` until approved."""

    followee = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="follower_links")
    status = models.CharField(max_length=10, choices=FollowStatus.choices, default=FollowStatus.ACCEPTED)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "followee"], name="unique_follow"),
            models.CheckConstraint(condition=~models.Q(owner=models.F("followee")), name="no_self_follow"),
        ]
        indexes = [models.Index(fields=["followee", "status", "-id"]), models.Index(fields=["owner", "status", "-id"])]

    def __str__(self) -> str:
        return f"{self.owner_id} → {self.followee_id} ({self.status})"


class Like(OwnedModel):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="likes")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "video"], name="unique_like")]

    def __str__(self) -> str:
        return f"{self.owner_id} ♥ {self.video_id}"


class Bookmark(OwnedModel):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="bookmarks")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "video"], name="unique_bookmark")]
        indexes = [models.Index(fields=["owner", "-id"])]

    def __str__(self) -> str:
        return f"{self.owner_id} ⚑ {self.video_id}"


class Comment(OwnedModel):
    """``owner`` wrote it. Replies are one level deep: ``parent`` is always a top-level comment."""

    MAX_LENGTH = 1000

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    body = models.TextField(max_length=MAX_LENGTH)
    pinned = models.BooleanField(default=False)
    like_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["video"], condition=models.Q(pinned=True), name="one_pinned_comment_per_video"
            ),
        ]
        indexes = [models.Index(fields=["video", "parent", "-id"])]

    def __str__(self) -> str:
        return self.body[:60]


class CommentLike(OwnedModel):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "comment"], name="unique_comment_like")]


class Block(OwnedModel):
    """``owner`` blocked ``blocked``: the two see nothing of each other, whoever blocked whom."""

    blocked = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="blocked_by_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "blocked"], name="unique_block"),
            models.CheckConstraint(condition=~models.Q(owner=models.F("blocked")), name="no_self_block"),
        ]
        indexes = [models.Index(fields=["blocked", "owner"])]

    def __str__(self) -> str:
        return f"{self.owner_id} ⊘ {self.blocked_id}"


class Mute(OwnedModel):
    """``owner`` muted ``muted``: its videos leave the owner's feeds and it sends the owner no notifications."""

    muted = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="muted_by_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "muted"], name="unique_mute"),
            models.CheckConstraint(condition=~models.Q(owner=models.F("muted")), name="no_self_mute"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} ◌ {self.muted_id}"
