import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelm.settings")
application = get_wsgi_application()

from reelm.recommend.index import warm_in_background  # noqa: E402 (needs the settings above)

warm_in_background()
