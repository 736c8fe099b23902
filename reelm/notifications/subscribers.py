"""What notifies whom: the events of lower apps, turned into notifications once their cause has committed."""

from __future__ import annotations

from django.db.models import Q

from reelm.core import bus
from reelm.notifications.models import Notification, NotificationKind
from reelm.notifications.services import notification_create, notification_withdraw
from reelm.videos.models import Video
from reelm.videos.selectors import can_view


def on_mentions_changed(event: bus.MentionsChanged) -> None:
    # Only accounts that could see the video once it is ready hear of a mention.
    video = Video.objects.select_related("owner").filter(id=event.video_id).first()
    if video is not None and event.added:
        for mention in video.mentions.filter(mentioned_id__in=event.added).select_related("mentioned"):
            if can_view(video, mention.mentioned, once_ready=True):
                notification_create(
                    recipient_id=mention.mentioned_id,
                    actor_id=event.owner_id,
                    kind=NotificationKind.MENTION,
                    video_id=event.video_id,
                )
    for gone in event.removed:
        notification_withdraw(
            recipient_id=gone, actor_id=event.owner_id, kinds=[NotificationKind.MENTION], video_id=event.video_id
        )


def on_follow_added(event: bus.FollowAdded) -> None:
    notification_create(
        recipient_id=event.followee_id,
        actor_id=event.follower_id,
        kind=NotificationKind.FOLLOW_REQUEST if event.pending else NotificationKind.FOLLOW,
    )


def on_follow_removed(event: bus.FollowRemoved) -> None:
    notification_withdraw(
        recipient_id=event.followee_id,
        actor_id=event.follower_id,
        kinds=[NotificationKind.FOLLOW, NotificationKind.FOLLOW_REQUEST],
    )


def on_follow_answered(event: bus.FollowApproved | bus.FollowDeclined) -> None:
    # The account answered the request itself: it needs no reminder of it.
    notification_withdraw(
        recipient_id=event.followee_id, actor_id=event.follower_id, kinds=[NotificationKind.FOLLOW_REQUEST]
    )


def on_privacy_changed(event: bus.AccountPrivacyChanged) -> None:
    # Going public accepted every pending request: the unanswered ones are now follows.
    if event.approved:
        Notification.objects.filter(
            owner_id=event.account_id,
            actor_id__in=event.approved,
            kind=NotificationKind.FOLLOW_REQUEST,
            read_at__isnull=True,
        ).update(kind=NotificationKind.FOLLOW)


def on_block_added(event: bus.BlockAdded) -> None:
    # Blocking deletes what the two had already sent each other, read or not.
    a, b = event.blocker_id, event.blocked_id
    Notification.objects.filter(Q(owner_id=a, actor_id=b) | Q(owner_id=b, actor_id=a)).delete()


def on_reacted(event: bus.Reacted) -> None:
    if event.kind != "like":
        return
    if event.added:
        notification_create(
            recipient_id=event.video_owner_id,
            actor_id=event.account_id,
            kind=NotificationKind.LIKE,
            video_id=event.video_id,
        )
    else:
        notification_withdraw(
            recipient_id=event.video_owner_id,
            actor_id=event.account_id,
            kinds=[NotificationKind.LIKE],
            video_id=event.video_id,
        )


def on_comment_added(event: bus.CommentAdded) -> None:
    if event.parent_author_id is not None:
        notification_create(
            recipient_id=event.parent_author_id,
            actor_id=event.author_id,
            kind=NotificationKind.REPLY,
            video_id=event.video_id,
            comment_id=event.comment_id,
        )
    if event.parent_author_id is None or event.parent_author_id != event.video_owner_id:
        notification_create(
            recipient_id=event.video_owner_id,
            actor_id=event.author_id,
            kind=NotificationKind.COMMENT,
            video_id=event.video_id,
            comment_id=event.comment_id,
        )


def subscribe() -> None:
    bus.subscribe(bus.MentionsChanged, on_mentions_changed)
    bus.subscribe(bus.FollowAdded, on_follow_added)
    bus.subscribe(bus.FollowRemoved, on_follow_removed)
    bus.subscribe(bus.FollowApproved, on_follow_answered)
    bus.subscribe(bus.FollowDeclined, on_follow_answered)
    bus.subscribe(bus.AccountPrivacyChanged, on_privacy_changed)
    bus.subscribe(bus.BlockAdded, on_block_added)
    bus.subscribe(bus.Reacted, on_reacted)
    bus.subscribe(bus.CommentAdded, on_comment_added)
