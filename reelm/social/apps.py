from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "reelm.social"
    label = "social"
    verbose_name = "Social"

    def ready(self) -> None:
        from reelm.social import replication  # noqa: F401  (declares its gateway kinds)
        from reelm.social.models import Bookmark, Like
        from reelm.videos.cards import viewer_marks_register

        # A video card's ``liked`` and ``bookmarked``: videos sits below social, so it reads them through here.
        viewer_marks_register("liked", lambda ids, viewer_id: Like.objects.filter(owner_id=viewer_id, video_id__in=ids))
        viewer_marks_register(
            "bookmarked", lambda ids, viewer_id: Bookmark.objects.filter(owner_id=viewer_id, video_id__in=ids)
        )
