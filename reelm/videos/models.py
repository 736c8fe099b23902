from __future__ import annotations

from django.db import models

from reelm.core.languages import VIDEO_LANGUAGE_CHOICES
from reelm.core.models import OwnedModel, UUIDModel
from reelm.core.scopes import Scope, scoped
from reelm.videos.states import VideoState


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    FOLLOWERS = "followers", "Followers"
    PRIVATE = "private", "Private"


@scoped(
    Scope.PUBLIC,
    "a video and its media; private and followers-only ones stay home",
    protected_fields=(
        "source_key",
        "source_size",
        "source_sha256",
        "source_container",
        "source_codecs",
        "failure_reason",
        "attempt_prefix",
        "attempt_token",
        "attempts",
        "lease_until",
        "replicated",
    ),
    replicated_when="public and ready, by a public account",
)
class Video(OwnedModel):
    caption = models.TextField(max_length=2200, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    language = models.CharField(
        max_length=8, choices=VIDEO_LANGUAGE_CHOICES, blank=True, help_text="spoken, ISO 639-1; blank: unknown"
    )
    state = models.CharField(max_length=12, choices=VideoState.choices, default=VideoState.UPLOADED)
    failure_reason = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The original upload, as Reelm named and stored it.
    source_key = models.CharField(max_length=200, editable=False)
    source_size = models.BigIntegerField(default=0)
    source_sha256 = models.CharField(max_length=64, blank=True)
    source_container = models.CharField(max_length=40, blank=True)
    source_codecs = models.CharField(max_length=60, blank=True)

    duration = models.FloatField(null=True, blank=True, help_text="seconds")
    width = models.PositiveIntegerField(null=True, blank=True, help_text="as displayed")
    height = models.PositiveIntegerField(null=True, blank=True, help_text="as displayed")

    # Each transcode attempt writes under its own prefix; ``media_prefix`` points at the published one, so a
    # killed attempt's files are never served as the video.
    media_prefix = models.CharField(max_length=200, blank=True, editable=False)
    attempt_prefix = models.CharField(max_length=200, blank=True, editable=False)
    attempt_token = models.UUIDField(null=True, blank=True, editable=False)
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    playable_at = models.DateTimeField(null=True, blank=True, help_text="lowest rendition first playable")
    ready_at = models.DateTimeField(null=True, blank=True)
    renditions = models.JSONField(default=list, blank=True)
    preview_count = models.PositiveSmallIntegerField(default=0)

    #: Whether other realms hold a replica (so that a change that makes it protected withdraws them).
    replicated = models.BooleanField(default=False, editable=False)
    # Kept by reelm.social's services with F() updates in the transaction that adds or removes the row.
    like_count = models.PositiveIntegerField(default=0, editable=False)
    comment_count = models.PositiveIntegerField(default=0, editable=False)
    bookmark_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["owner", "-id"]),
            models.Index(fields=["state", "lease_until"]),
            models.Index(fields=["visibility", "state", "-id"]),
            # A language's newest public videos (trending in a language) without walking every other language's.
            models.Index(fields=["language", "visibility", "state", "-id"], name="video_language_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"

    @property
    def is_ready(self) -> bool:
        return self.state == VideoState.READY


@scoped(Scope.PUBLIC, "a hashtag's name", replicated_when="with a video that carries it (matched by name)")
class Hashtag(UUIDModel):
    """Shared across accounts: not owned by anyone."""

    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return f"#{self.name}"


@scoped(Scope.PUBLIC, "a video's hashtags", replicated_when="with its video")
class VideoHashtag(OwnedModel):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="hashtag_links")
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="video_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["video", "hashtag"], name="unique_video_hashtag")]
        # A hashtag's newest videos (hashtag pages, the recommender's hashtag source) without a sort.
        indexes = [models.Index(fields=["hashtag", "-video"], name="videohashtag_tag_newest")]


@scoped(Scope.PUBLIC, "an account named in a caption", replicated_when="with its video")
class Mention(OwnedModel):
    """``owner`` wrote the caption; ``mentioned`` is the account named in it."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="mentions")
    mentioned = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="mentioned_in")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["video", "mentioned"], name="unique_video_mention")]
