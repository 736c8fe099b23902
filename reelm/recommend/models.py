"""What the recommender keeps between requests: each viewer's taste, each video's vector and counters, the
"not interested" choices, co-engagement neighbours and the ranker's weights. Vectors are ``DIM`` float32s in a
binary column (see ``reelm.recommend.ranker``)."""

from __future__ import annotations

from django.db import models

from reelm.core.models import OwnedModel, UUIDModel
from reelm.core.scopes import Scope, scoped


@scoped(Scope.PROTECTED, "a viewer's taste vector and feed settings")
class Taste(OwnedModel):
    """One per account: the vector the feed is ranked for, the account's feed settings and what it engages with."""

    vector = models.BinaryField(null=True, blank=True)
    personalised = models.BooleanField(
        default=True, help_text="Off: For You shows the same transparent ranking as to signed-out visitors."
    )
    more_following = models.PositiveSmallIntegerField(
        default=50, help_text="0–100: how much to favour accounts the viewer follows (50 is neutral)."
    )
    more_new_creators = models.PositiveSmallIntegerField(
        default=50, help_text="0–100: how much of each page goes to fresh uploads (50 is the default budget)."
    )
    interests = models.JSONField(default=list, blank=True, help_text="Hashtags picked to start with.")
    # A database default as well, so rows written without the ORM (the benchmark's seeding) get an empty list.
    languages = models.JSONField(
        default=list,
        db_default=[],
        blank=True,
        help_text="ISO 639-1 codes of the languages the viewer watches in, first preferred.",
    )
    # Tells "never chose" (languages are guessed from the browser at each sign-in) from "chose none" (kept).
    languages_chosen = models.BooleanField(
        default=False,
        db_default=False,
        help_text="On: the viewer saved these languages (perhaps none). Off: guessed from the browser's "
        "Accept-Language at sign-in, and guessed again when it changes.",
    )
    # Running averages of the viewer's labels, the strongest few kept (bounded memory).
    tag_affinity = models.JSONField(default=dict, blank=True)
    author_affinity = models.JSONField(default=dict, blank=True)
    impressions = models.PositiveIntegerField(default=0, help_text="Impressions learned from.")
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner"], name="taste_one_per_account")]

    def __str__(self) -> str:
        return f"taste of {self.owner_id}"


@scoped(Scope.PROTECTED, "a video's vector and counters, learnt from this realm's watch events", derived=True)
class VideoSignal(OwnedModel):
    """One per video that has a vector (``owner`` is the video's author): its vector and what viewers did with
    it. ``updated_at`` lets every process pull just the vectors that moved into its nearest-neighbour index."""

    video = models.OneToOneField("videos.Video", on_delete=models.CASCADE, related_name="signal")
    vector = models.BinaryField()
    impressions = models.PositiveIntegerField(default=0)
    completions = models.PositiveIntegerField(default=0)
    skips = models.PositiveIntegerField(default=0)
    watched_ms = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return f"signal of {self.video_id}"


class NotInterestedScope(models.TextChoices):
    VIDEO = "video", "This video"
    AUTHOR = "author", "This creator"
    HASHTAG = "hashtag", "This hashtag"


@scoped(Scope.PROTECTED, 'a viewer\'s "not interested" choices')
class NotInterested(OwnedModel):
    """``owner`` asked not to see ``target`` (a video id, an account id, or a hashtag name) in For You again."""

    scope = models.CharField(max_length=8, choices=NotInterestedScope.choices)
    target = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "scope", "target"], name="not_interested_once"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} not interested in {self.scope} {self.target}"


@scoped(Scope.PROTECTED, "pairs of videos watched together, learnt from this realm's events")
class CoEngagement(UUIDModel):
    """Viewers who finished ``video`` also finished ``neighbour`` (cosine over completions, from the last
    rebuild). Derived from many accounts' events, so owned by none."""

    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="+")
    neighbour = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["video", "neighbour"], name="co_engagement_pair")]

    def __str__(self) -> str:
        return f"{self.video_id} ~ {self.neighbour_id}"


@scoped(Scope.PROTECTED, "the ranker's weights, learnt from this realm's events")
class ModelState(UUIDModel):
    """A learned model's weights (``name`` = "ranker"), saved after every online update so a restart loses
    nothing; ``version`` tells each process when to reload."""

    name = models.CharField(max_length=32, unique=True)
    data = models.BinaryField()
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
