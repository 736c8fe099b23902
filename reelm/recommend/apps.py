from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class RecommendConfig(AppConfig):
    name = "reelm.recommend"
    label = "recommend"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        # Imported here, not above: they import models, which are not loaded when this module is.
        from reelm.feed.feeds import feed_register
        from reelm.recommend import subscribers
        from reelm.recommend.ranking import recommended_feed
        from reelm.recommend.selectors import for_you_page_context
        from reelm.recommend.taste import languages_infer_at_sign_in

        # For You is the recommender (which falls back on the transparent ranking); the feed app finds it by name.
        feed_register("for-you", recommended_feed, page_context=for_you_page_context)
        # An account that never chose its languages gets them guessed from the browser it signs in with.
        user_logged_in.connect(languages_infer_at_sign_in, dispatch_uid="recommend-languages-infer")
        subscribers.subscribe()
