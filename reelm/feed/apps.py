from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class FeedConfig(AppConfig):
    name = "reelm.feed"
    label = "feed"

    def ready(self) -> None:
        from reelm.accounts.models import User
        from reelm.feed.anonymous import listing_changed
        from reelm.videos.models import Video

        for model in (Video, User):
            post_save.connect(listing_changed, sender=model, dispatch_uid=f"feed-anonymous-{model.__name__}-save")
            post_delete.connect(listing_changed, sender=model, dispatch_uid=f"feed-anonymous-{model.__name__}-del")
