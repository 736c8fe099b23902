"""Reactions to videos: likes, bookmarks, comments and comment likes. Every row is owned by the account that acted.

Relations between accounts (follows, blocks, mutes) live in ``reelm.relations``.
"""

from __future__ import annotations

from django.db import models

from reelm.core.models import OwnedModel
from reelm.core.scopes import Scope, scoped
from reelm.videos.models import Video


@scoped(Scope.PROTECTED, "who liked what is behaviour; only the count crosses")
class Like(OwnedModel):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="likes")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "video"], name="unique_like")]

    def __str__(self) -> str:
        return f"{self.owner_id} ♥ {self.video_id}"


@scoped(Scope.PROTECTED, "what an account saved")
class Bookmark(OwnedModel):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="bookmarks")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "video"], name="unique_bookmark")]
        indexes = [models.Index(fields=["owner", "-id"])]

    def __str__(self) -> str:
        return f"{self.owner_id} ⚑ {self.video_id}"


@scoped(Scope.PUBLIC, "a comment under a video", replicated_when="on a public video")
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


@scoped(Scope.PROTECTED, "who liked a comment; only the count crosses")
class CommentLike(OwnedModel):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "comment"], name="unique_comment_like")]
