from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class RelationsConfig(AppConfig):
    name = "reelm.relations"
    label = "relations"
    verbose_name = "Relations"

    def ready(self) -> None:
        from reelm.relations import replication  # noqa: F401  (declares its gateway kind)
        from reelm.relations.models import Block, Follow, Mute
        from reelm.relations.selectors import relation_saved_or_deleted

        # Whoever writes a follow, block or mute, the cached relations of the accounts it concerns retire.
        for model in (Follow, Block, Mute):
            uid = f"relations-{model.__name__}"
            post_save.connect(relation_saved_or_deleted, sender=model, dispatch_uid=f"{uid}-save")
            post_delete.connect(relation_saved_or_deleted, sender=model, dispatch_uid=f"{uid}-delete")
