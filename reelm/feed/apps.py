from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "reelm.feed"
    label = "feed"

    def ready(self) -> None:
        from reelm.core import bus
        from reelm.feed.anonymous import listing_changed
        from reelm.feed.feeds import FollowingFeed, feed_register

        # Feeds of apps above this one (For You) register from their own ready().
        feed_register(FollowingFeed.name, FollowingFeed)
        # A changed video or account may change what anonymous pages list: retire the shared ones.
        for kind in (bus.VideoChanged, bus.AccountChanged, bus.AccountPrivacyChanged):
            bus.subscribe(kind, listing_changed)
