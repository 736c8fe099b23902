import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelm.settings")
application = get_wsgi_application()

from reelm.core.heap import freeze_startup_heap  # noqa: E402 (needs the settings above)
from reelm.recommend.index import warm_in_background  # noqa: E402
from reelm.storage.presence import presence_start  # noqa: E402

freeze_startup_heap()
warm_in_background()
presence_start("web")
