import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelm.settings")
application = get_wsgi_application()

if os.environ.get("REELM_INDEX_WARM", "1") != "0":
    from reelm.recommend.index import warm_in_background

    warm_in_background()
