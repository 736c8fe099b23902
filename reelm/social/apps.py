from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class SocialConfig(AppConfig):
    name = "reelm.social"
    label = "social"
    verbose_name = "Social"

    def ready(self) -> None:
        from reelm.social.blocks import relation_saved_or_deleted
        from reelm.social.models import Block, Follow, Mute

        for model in (Follow, Block, Mute):
            uid = f"social-relations-{model.__name__}"
            post_save.connect(relation_saved_or_deleted, sender=model, dispatch_uid=f"{uid}-save")
            post_delete.connect(relation_saved_or_deleted, sender=model, dispatch_uid=f"{uid}-delete")
