from __future__ import annotations

from django.db import models

from reelm.core.ids import uuid7
from reelm.core.scopes import Scope, scoped


@scoped(Scope.PROTECTED, "what this realm sent to other realms, kept as the gateway's log")
class OutboxMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=60)
    target = models.CharField(max_length=12, help_text="the realm it goes to")
    payload = models.JSONField()
    size = models.PositiveIntegerField(help_text="bytes of the payload as JSON")
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["target", "delivered_at", "id"], name="outbox_waiting")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.target} ({'delivered' if self.delivered_at else 'waiting'})"


@scoped(Scope.PROTECTED, "what this realm received from others: each message takes effect once")
class InboxReceipt(models.Model):
    message_id = models.UUIDField(primary_key=True)
    source = models.CharField(max_length=12, help_text="the realm it came from")
    kind = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} from {self.source}"
