"""Django settings for Reelm. Operators configure Reelm with REELM_* environment variables (see config.py)."""

from __future__ import annotations

import os

from django.utils.csp import CSP

from reelm.config import (
    REPO_DIR,
    cache_settings,
    data_dir,
    database_settings,
    env_bool,
    env_int,
    env_list,
    env_map,
    env_str,
    queue_settings,
    realms_settings,
    secret_key,
)

DATA_DIR = data_dir()
SECRET_KEY = secret_key(DATA_DIR)
DEBUG = env_bool("REELM_DEBUG", False)
ALLOWED_HOSTS = env_list("REELM_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("REELM_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs' assets locally instead of from a CDN
    "reelm.core",
    "reelm.directory",
    "reelm.gateway",
    "reelm.accounts",
    "reelm.relations",
    "reelm.storage",
    "reelm.transcode",
    "reelm.videos",
    "reelm.social",
    "reelm.feed",
    "reelm.search",
    "reelm.notifications",
    "reelm.events",
    "reelm.recommend",
    "reelm.residency",
    "reelm.site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "reelm.core.middleware.ApiErrorMiddleware",
]
#: Send each response's Django time and named phases as a ``Server-Timing`` header (``reelm.core.timing``).
SERVER_TIMING = env_bool("REELM_SERVER_TIMING", False)
if SERVER_TIMING:
    MIDDLEWARE.insert(0, "reelm.core.timing.ServerTimingMiddleware")

ROOT_URLCONF = "reelm.urls"
WSGI_APPLICATION = "reelm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [REPO_DIR / "reelm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

#: The database: sqlite:///reelm.sqlite3 in the data directory (embedded default) or postgresql://user:pass@host/db.
REELM_DATABASE_URL = env_str("REELM_DATABASE_URL", f"sqlite:///{DATA_DIR / 'reelm.sqlite3'}")
DATABASES = {"default": database_settings(REELM_DATABASE_URL, directory=DATA_DIR)}


def _test_database(alias: str, database: dict[str, object]) -> None:
    suffix = "" if alias == "default" else f"-{alias}"
    if str(database["ENGINE"]).endswith("sqlite3"):
        # Tests use a file (one per test process) rather than an in-memory database, so tests that run threads
        # get real, separate connections with WAL and the busy timeout, as the web server and worker do.
        named = os.environ.get("REELM_TEST_DB")
        path = f"{named.removesuffix('.sqlite3')}{suffix}.sqlite3" if named else str(DATA_DIR / f"test-{os.getpid()}")
        database["TEST"] = {"NAME": path if named else f"{path}{suffix}.sqlite3"}
    elif os.environ.get("REELM_TEST_DB"):
        # On PostgreSQL the test database is test_<name> unless named here (for test runs that must not share one).
        database["TEST"] = {"NAME": os.environ["REELM_TEST_DB"] + suffix.replace("-", "_")}


_test_database("default", DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# hls.js comes from npm (./dev installs it); it is served from node_modules, never committed.
STATICFILES_DIRS = [("vendor/hls.js", REPO_DIR / "node_modules" / "hls.js" / "dist")]
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploads stream to temporary files on disk, counted chunk by chunk, so an oversized body is refused while
# it arrives rather than after it has been buffered.
FILE_UPLOAD_HANDLERS = ["reelm.videos.uploads.LimitedTemporaryFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = None
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SECURE_CONTENT_TYPE_NOSNIFF = True
# Pages run only Reelm's own scripts; hls.js feeds the <video> element through blob: URLs (Media Source).
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "media-src": [CSP.SELF, "blob:"],
    "worker-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Sessions live in the database (Django's default, stated here because it matters): any web process on any
# machine can serve any request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

#: Object storage for every media byte: file:///path (default: the data directory's media folder).
REELM_STORAGE_URL = env_str("REELM_STORAGE_URL", (DATA_DIR / "media").as_uri())
#: Stores of other realms, as "realm=URL,realm=URL" (e.g. "eu=s3://...,us=file:///srv/us"); the realm "default"
#: uses REELM_STORAGE_URL. Once `reelm storage migrate --switch` has moved a realm, the database records its store.
REELM_REALM_STORAGE_URLS = env_map("REELM_REALM_STORAGE_URLS")
#: Origins of buckets that browsers may fetch media from directly (e.g. "https://videos.s3.eu-west-1.amazonaws.com"):
#: when set, and the store can sign URLs, segments, MP4s and posters are answered with a redirect to a short-lived
#: signed URL, so their bytes no longer pass through Reelm. Playlists and the access check stay with Reelm.
REELM_MEDIA_DIRECT_ORIGINS = env_list("REELM_MEDIA_DIRECT_ORIGINS", "")
#: Lifetime of those signed URLs in seconds.
REELM_MEDIA_URL_SECONDS = env_int("REELM_MEDIA_URL_SECONDS", 600)
for _directive in ("img-src", "media-src", "connect-src"):
    SECURE_CSP[_directive] = [*SECURE_CSP[_directive], *REELM_MEDIA_DIRECT_ORIGINS]
#: Largest accepted upload in bytes (default 512 MiB).
REELM_MAX_UPLOAD_BYTES = env_int("REELM_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)
#: Longest accepted video in seconds (default 10 minutes).
REELM_MAX_DURATION_SECONDS = env_int("REELM_MAX_DURATION_SECONDS", 600)
#: Largest accepted side of a video in pixels (default 4096).
REELM_MAX_DIMENSION = env_int("REELM_MAX_DIMENSION", 4096)
#: Seconds a worker holds a transcode before another worker may take it over.
REELM_TRANSCODE_LEASE_SECONDS = env_int("REELM_TRANSCODE_LEASE_SECONDS", 60)
#: Attempts before a video whose transcode keeps failing for transient reasons is marked failed.
REELM_TRANSCODE_MAX_ATTEMPTS = env_int("REELM_TRANSCODE_MAX_ATTEMPTS", 5)
#: x264 preset for the ladder: a trade of encode speed for size.
REELM_X264_PRESET = env_str("REELM_X264_PRESET", "veryfast")
#: Path to an ffmpeg binary; by default the one shipped by the imageio-ffmpeg package.
REELM_FFMPEG = env_str("REELM_FFMPEG", "")

#: The task queue: sqlite:///queue.sqlite3 in the data directory (embedded default) or redis://host:port/db, shared
#: by workers on any number of machines.
REELM_QUEUE_URL = env_str("REELM_QUEUE_URL", f"sqlite:///{DATA_DIR / 'queue.sqlite3'}")
#: The cache (For You rankings, shared anonymous pages): unset for a file cache in the data directory, shared by
#: the processes of one machine and free of database queries; redis://host:port/db (a database other than the
#: queue's) when web processes run on several machines.
REELM_CACHE_URL = env_str("REELM_CACHE_URL", "")
CACHES = {"default": cache_settings(REELM_CACHE_URL, directory=DATA_DIR, queue_url=REELM_QUEUE_URL)}
# Web processes and workers build their video index in a thread at start-up; off, the first request that needs it
# builds it (its cost is in the README's REELM_INDEX_WARM row).
RECOMMEND_INDEX_WARM = env_bool("REELM_INDEX_WARM", True)

#: huey's storage for REELM_QUEUE_URL; every named queue of ``reelm.core.queues`` lives in it, keyed by its name.
QUEUE_STORAGE = queue_settings(REELM_QUEUE_URL, directory=DATA_DIR)
#: Tests only: a gateway drain kills its own process after this many messages took effect (0: never).
REELM_TEST_GATEWAY_KILL_AT = env_int("REELM_TEST_GATEWAY_KILL_AT", 0)
#: Tests only: with the above, only a drain of this realm's outbox counts (empty: any realm's).
REELM_TEST_GATEWAY_KILL_FROM = env_str("REELM_TEST_GATEWAY_KILL_FROM", "")
#: Every queue runs its tasks inline, in the process that queues them (tests, debugging).
QUEUE_IMMEDIATE = env_bool("REELM_QUEUE_IMMEDIATE", False)

#: Realms (docs/realms.md): unset, one realm on the database, store and queue above; set (inline JSON, or the path
#: of a TOML or JSON file), each realm names its own, and REELM_DATABASE_URL keeps only the directory.
REELM_REALMS = realms_settings(
    env_str("REELM_REALMS", ""),
    directory=DATA_DIR,
    database_url=REELM_DATABASE_URL,
    storage_url=REELM_STORAGE_URL,
    queue_url=REELM_QUEUE_URL,
)
#: The key of the directory's e-mail hashes; unset, one derived from the secret key (set it before changing that).
REELM_DIRECTORY_KEY = env_str("REELM_DIRECTORY_KEY", "")
if REELM_REALMS.configured:
    DATABASE_ROUTERS = ["reelm.core.realms.RealmRouter"]
    SESSION_ENGINE = "reelm.accounts.sessions"
    AUTHENTICATION_BACKENDS = ["reelm.accounts.backends.RealmBackend"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "reelm.accounts.middleware.RealmMiddleware",
    )
    # Staff under emergency access work for another realm in the admin (docs/realms.md, "Staff").
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
        "reelm.residency.middleware.StaffRealmMiddleware",
    )
    for _realm in REELM_REALMS.realms.values():
        DATABASES[_realm.alias] = database_settings(
            _realm.database_url, directory=DATA_DIR, name=f"the database of realm {_realm.name!r}"
        )
        _test_database(_realm.alias, DATABASES[_realm.alias])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("REELM_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # faiss says at INFO which CPU build it could not load before loading the one that works: not news.
        "faiss.loader": {"level": "WARNING"},
        # huey's consumer adds its own handler unless the logger has one: give it ours, once.
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
