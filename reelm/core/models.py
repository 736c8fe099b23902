"""Shared model building blocks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from reelm.core.ids import uuid7


class UUIDModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True


class OwnedModel(UUIDModel):
    """A row that belongs to one account. The owner is stored on the row itself, so a router can place the
    row in its owner's realm without joining through other tables."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True

    @property
    def owner_ref(self) -> Any:
        return self.owner_id
