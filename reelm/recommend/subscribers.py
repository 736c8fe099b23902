"""What the recommender learns from the rest of the site: events of lower apps, once their cause has committed."""

from __future__ import annotations

import uuid

from reelm.accounts.models import User
from reelm.core import bus, realms
from reelm.recommend.learning import learn_action, learn_follow, learn_from_events, video_signal_ensure
from reelm.recommend.selectors import preferred_languages
from reelm.videos.services import preferred_languages_register


def _account(account_id: uuid.UUID) -> User | None:
    """The account, if it lives in this realm: what another realm's account does here (a like that crossed) is
    counted, but its taste is learnt in its own realm only."""
    return User.objects.filter(id=account_id, home_realm=realms.current_realm()).first()


def on_video_ready(event: bus.VideoReady) -> None:
    # Its first vector, so every process's recommender can find the new video at once.
    video_signal_ensure(event.video_id)


def on_watched(event: bus.WatchEventsRecorded) -> None:
    # The viewer's vector moves as soon as the events are stored, so the next page already reflects them.
    viewer = _account(event.viewer_id)
    if viewer is not None:
        learn_from_events(viewer, event.events)


def on_reacted(event: bus.Reacted) -> None:
    account = _account(event.account_id) if event.added else None
    if account is not None:
        learn_action(account, event.video_id, event.kind)


def on_comment_added(event: bus.CommentAdded) -> None:
    author = _account(event.author_id)
    if author is not None:
        learn_action(author, event.video_id, "comment")


def on_follow_added(event: bus.FollowAdded) -> None:
    follower = _account(event.follower_id)
    if follower is not None:
        learn_follow(follower, event.followee_id)


def subscribe() -> None:
    bus.subscribe(bus.VideoReady, on_video_ready)
    bus.subscribe(bus.WatchEventsRecorded, on_watched)
    bus.subscribe(bus.Reacted, on_reacted)
    bus.subscribe(bus.CommentAdded, on_comment_added)
    bus.subscribe(bus.FollowAdded, on_follow_added)
    # A new upload's language defaults to the first the uploader watches in.
    preferred_languages_register(preferred_languages)
