"""Relations between two accounts: follows (with requests for private accounts), blocks and mutes.

Every row is owned by the account that acted. The tables keep the names they had in ``social``, where these
models lived first, so moving them moved no data.
"""

from __future__ import annotations

from django.db import models

from reelm.core.models import OwnedModel
from reelm.core.scopes import Scope, scoped


class FollowStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    PENDING = "pending", "Pending"


@scoped(
    Scope.PUBLIC,
    "who follows whom is shown on profiles",
    replicated_when="to the followed account's realm",
)
class Follow(OwnedModel):
    """``owner`` follows ``followee``. A follow of a private account waits as ``pending`` until approved."""

    followee = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="follower_links")
    status = models.CharField(max_length=10, choices=FollowStatus.choices, default=FollowStatus.ACCEPTED)

    class Meta:
        db_table = "social_follow"
        constraints = [
            models.UniqueConstraint(fields=["owner", "followee"], name="unique_follow"),
            models.CheckConstraint(condition=~models.Q(owner=models.F("followee")), name="no_self_follow"),
        ]
        indexes = [
            models.Index(fields=["followee", "status", "-id"], name="social_foll_followe_76b0e3_idx"),
            models.Index(fields=["owner", "status", "-id"], name="social_foll_owner_i_1d26f2_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} → {self.followee_id} ({self.status})"


@scoped(Scope.PROTECTED, "whom an account blocked")
class Block(OwnedModel):
    """``owner`` blocked ``blocked``: the two see nothing of each other, whoever blocked whom."""

    blocked = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="blocked_by_links")

    class Meta:
        db_table = "social_block"
        constraints = [
            models.UniqueConstraint(fields=["owner", "blocked"], name="unique_block"),
            models.CheckConstraint(condition=~models.Q(owner=models.F("blocked")), name="no_self_block"),
        ]
        indexes = [models.Index(fields=["blocked", "owner"], name="social_bloc_blocked_a03d23_idx")]

    def __str__(self) -> str:
        return f"{self.owner_id} ⊘ {self.blocked_id}"


@scoped(Scope.PROTECTED, "whom an account muted")
class Mute(OwnedModel):
    """``owner`` muted ``muted``: its videos leave the owner's feeds and it sends the owner no notifications."""

    muted = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="muted_by_links")

    class Meta:
        db_table = "social_mute"
        constraints = [
            models.UniqueConstraint(fields=["owner", "muted"], name="unique_mute"),
            models.CheckConstraint(condition=~models.Q(owner=models.F("muted")), name="no_self_mute"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} ◌ {self.muted_id}"
