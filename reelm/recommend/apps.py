from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class RecommendConfig(AppConfig):
    name = "reelm.recommend"
    label = "recommend"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from reelm.recommend.services import languages_infer_at_sign_in

        # An account that never chose its languages gets them guessed from the browser it signs in with.
        user_logged_in.connect(languages_infer_at_sign_in, dispatch_uid="recommend-languages-infer")
