from __future__ import annotations

from django.db import models

from reelm.core.ids import uuid7
from reelm.core.scopes import Scope, scoped


class AccessKind(models.TextChoices):
    GRANT = "grant", "Emergency access granted"
    USE = "use", "Request under emergency access"
    DENIED = "denied", "Access denied"


@scoped(Scope.PROTECTED, "staff of other realms who reached this realm's data, or tried: kept where the data lives")
class StaffAccess(models.Model):
    """One line of a realm's staff access log. The staff account lives in another realm: it is named by its id (no
    foreign key across realms) and its username as it was."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=10, choices=AccessKind.choices)
    staff_id = models.UUIDField(db_index=True)
    staff_username = models.CharField(max_length=30)
    staff_realm = models.CharField(max_length=12)
    reason = models.TextField(blank=True, help_text="the written reason of a grant; what was asked of a denial")
    expires_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "staff access"

    def __str__(self) -> str:
        return f"{self.kind} @{self.staff_username} ({self.staff_realm})"
