from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from reelm.core import realms
from reelm.core.ids import uuid7
from reelm.core.models import OwnedModel
from reelm.core.scopes import Scope, scoped

username_validator = RegexValidator(
    r"^[A-Za-z0-9_.]{2,30}$", "Use 2–30 letters, digits, underscores or dots.", code="invalid_username"
)


@scoped(
    Scope.PUBLIC,
    "an account's public profile; its credentials and e-mail stay home",
    protected_fields=(
        "password",
        "email",
        "last_login",
        "first_name",
        "last_name",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
        "date_joined",
        "replicated_at",
    ),
    replicated_when="always (a private account's videos stay home all the same)",
)
class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    username = models.CharField(
        max_length=30,
        unique=True,
        validators=[username_validator],
        help_text="2–30 letters, digits, underscores or dots; used in @mentions and profile URLs.",
        error_messages={"unique": "That username is taken."},
    )
    display_name = models.CharField(max_length=60, blank=True)
    bio = models.TextField(max_length=500, blank=True)
    avatar_key = models.CharField(max_length=200, blank=True, editable=False)
    is_private = models.BooleanField(
        default=False, help_text="Only approved followers see a private account's videos and follow lists."
    )
    #: The realm that holds the account; a row of another realm here is a read-only replica of its public profile.
    home_realm = models.CharField(max_length=12, default=realms.current_realm, editable=False, db_index=True)
    #: When the replicated state was sent (None on the home realm's own row): older messages are ignored.
    replicated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Kept by reelm.social's services with F() updates; accepted follows only.
    follower_count = models.PositiveIntegerField(default=0, editable=False)
    following_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        indexes = [models.Index(fields=["username"])]

    def clean(self) -> None:
        """Handles and e-mail addresses are unique across every realm, whatever their case: the directory says."""
        super().clean()
        from reelm.directory.selectors import entry_for_email, entry_for_handle

        errors = {}
        holder = entry_for_handle(self.username) if self.username else None
        if holder is not None and holder.account_id != self.id:
            errors["username"] = "That username is taken."
        holder = entry_for_email(self.email) if self.email else None
        if holder is not None and holder.account_id != self.id:
            errors["email"] = "That e-mail address is already used by another account."
        if errors:
            raise ValidationError(errors)

    @property
    def owner_ref(self) -> Any:
        """Accounts own themselves."""
        return self.id

    @property
    def is_replica(self) -> bool:
        """A read-only copy of an account at home in another realm."""
        return self.home_realm != realms.current_realm()

    @property
    def name(self) -> str:
        return self.display_name or self.username


@scoped(Scope.PROTECTED, "API credentials")
class AccessToken(OwnedModel):
    """A personal access token for API clients. Only a hash is stored; the secret is shown once."""

    name = models.CharField(max_length=60)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
