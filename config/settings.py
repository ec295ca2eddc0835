"""PiPo settings, read from environment variables with safe defaults.

With no DATABASE_URL the server uses SQLite under DATA_DIR and with no
REDIS_URL the in-memory channel layer: the embedded default that lets
`make run` work on a bare machine. Production and the test suite set both
(PostgreSQL and Redis). docs/OPERATIONS.md lists every variable.
"""

import re
from pathlib import Path

import dj_database_url

from config.environment import env_bool, env_int, env_list, env_str, secret_key_from

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

SECRET_KEY = secret_key_from(DATA_DIR)
DEBUG = env_bool("DEBUG", False)

# Tenants live on <slug>.<PIPO_DOMAIN>; one may also be served on the bare domain.
PIPO_DOMAIN = env_str("PIPO_DOMAIN", "localhost").lower()
ALLOWED_HOSTS = [PIPO_DOMAIN, f".{PIPO_DOMAIN}", *env_list("ALLOWED_HOSTS")]
if PIPO_DOMAIN == "localhost":
    ALLOWED_HOSTS += ["127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "daphne",
    "accounts.apps.PipoAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "accounts.apps.AccountsConfig",
    "rooms",
    "relay",
    "files",
    "frontend",
]

MIDDLEWARE = [
    # Outermost, so that every response (static files and errors included)
    # carries the Content-Security-Policy and the other security headers.
    "config.security_headers.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: resolves the tenant and ends sessions outside it.
    "accounts.tenancy.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# Database: PostgreSQL from DATABASE_URL; SQLite under DATA_DIR otherwise.
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Fixed so that a live server started by the test suite can find it
    # (and so channels' live-server helper does not prefix it twice).
    DATABASES["default"]["TEST"] = {"NAME": env_str("PIPO_TEST_DATABASE_NAME", "test_pipo")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "pipo.sqlite3"),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer: Redis from REDIS_URL; in-memory (one process only) otherwise.
REDIS_URL = env_str("REDIS_URL", "")
# Pub/sub (one PUBLISH per group send, MACHINE_NOTES.md lever 2): it has no
# persistence or backpressure, which is fine because PostgreSQL is the source
# of truth and clients catch up by sequence number (`sync`).
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# People and their auth keys (docs/PROTOCOL.md §5). Passwords never reach the
# server; Django hashes the client-derived auth_key like a password.
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.TenantBackend"]
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LOGIN_URL = "/login"
# Usernames are unique per tenant, not globally; accounts.actions.check_login
# always looks people up within the request's tenant.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
# The browser client reads the CSRF cookie and sends it back as X-CSRFToken.
CSRF_COOKIE_HTTPONLY = False
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Email: printed to the console in development; a directory of .eml files
# (EMAIL_FILE_PATH) in tests; SMTP in production (EMAIL_HOST and friends).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(DATA_DIR / "outbox"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"PiPo <noreply@{PIPO_DOMAIN}>")

# Where people reach tenants, for links in emails and command output:
# <scheme>://<slug>.<PIPO_DOMAIN>[:port].
PIPO_PUBLIC_SCHEME = env_str(
    "PIPO_PUBLIC_SCHEME", "http" if PIPO_DOMAIN == "localhost" else "https"
)
PIPO_PUBLIC_PORT = env_str(
    "PIPO_PUBLIC_PORT", env_str("PORT", "8000") if PIPO_DOMAIN == "localhost" else ""
)

# The server refuses chain links stamped more than 5 minutes from its clock
# (docs/PROTOCOL.md §6.1). Only tests replaying fixed-time vectors turn it off.
PIPO_CHAIN_CHECK_CLOCK = env_bool("PIPO_CHAIN_CHECK_CLOCK", True)

# Test hooks in the web client (window.__pipoTest): only ever for the test suite.
PIPO_TEST_HOOKS = env_bool("PIPO_TEST_HOOKS", False)
# The bare websocket pipe /ws/bench/pipe/ (bench/pipe.py): only ever for `make bench`.
PIPO_BENCH_PIPE = env_bool("PIPO_BENCH_PIPE", False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root
# In development WhiteNoise serves straight from the apps' static folders; in
# production `collectstatic` fills STATIC_ROOT and nginx serves it.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
WHITENOISE_AUTOREFRESH = DEBUG
_HASHED_ASSET = re.compile(r"^/static/frontend/dist/assets/.+-[0-9A-Za-z_-]{8}\.\w+$")


def _is_immutable_asset(path: str, url: str) -> bool:
    # Vite puts a content hash in every asset name: such files never change.
    return _HASHED_ASSET.match(url) is not None


WHITENOISE_IMMUTABLE_FILE_TEST = _is_immutable_asset

# Security headers. The Content-Security-Policy is set by
# config.security_headers, with a fresh nonce per response.
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": with no-referrer Chromium sends `Origin: null`
# on form posts, which Django's CSRF check rightly refuses (the admin panel).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Served over HTTPS (PIPO_PUBLIC_SCHEME, "https" for every PIPO_DOMAIN but
# localhost): secure cookies, plain-HTTP requests redirected, and HSTS, unless
# the environment says otherwise. nginx (deploy/nginx/pipo.conf) redirects and
# sends HSTS itself; these keep a worker safe on its own and `manage.py check
# --deploy` clean. /healthz is exempt: monitors ask workers directly, on
# loopback, over plain HTTP.
_SERVED_OVER_HTTPS = PIPO_PUBLIC_SCHEME == "https"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", _SERVED_OVER_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _SERVED_OVER_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 63072000 if _SERVED_OVER_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # every tenant is a subdomain
# Preloading commits the whole registrable domain, for every browser, for
# months: the operator's decision (docs/DECISIONS.md), so off unless asked for,
# and Django's reminder about it (security.W021) is silenced while it is off.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
# Behind a reverse proxy (nginx, deploy/nginx/pipo.conf): it terminates TLS and
# sets X-Forwarded-Proto, -For and -Port (overwriting whatever the client
# sent). Daphne then runs with --proxy-headers (config/serve.py): the scheme
# and the client address (the relay's rate limits) come from those headers.
# Workers must then listen only where nothing but the proxy reaches them.
PIPO_BEHIND_PROXY = env_bool("PIPO_BEHIND_PROXY", False)
if PIPO_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The relay's limits. Daphne itself refuses websocket messages over
# PIPO_WEBSOCKET_TRANSPORT_MAX_BYTES (closing that one connection, code 1009);
# below that, the relay answers an oversized frame with an error frame and
# keeps the connection open.
PIPO_MAX_TEXT_FRAME_BYTES = env_int("PIPO_MAX_TEXT_FRAME_BYTES", 256 * 1024)
PIPO_MAX_BINARY_FRAME_BYTES = env_int("PIPO_MAX_BINARY_FRAME_BYTES", 1024 * 1024 + 4096)
PIPO_WEBSOCKET_TRANSPORT_MAX_BYTES = env_int("PIPO_WEBSOCKET_TRANSPORT_MAX_BYTES", 8 * 1024 * 1024)

# Rooms (docs/PROTOCOL.md §7.5): the server's clock window for envelopes,
# epoch records and shares, and when an epoch is due for replacement.
PIPO_CLOCK_SKEW_MS = env_int("PIPO_CLOCK_SKEW_MS", 5 * 60 * 1000)
PIPO_EPOCH_MAX_MESSAGES = env_int("PIPO_EPOCH_MAX_MESSAGES", 1000)
PIPO_EPOCH_MAX_AGE_MS = env_int("PIPO_EPOCH_MAX_AGE_MS", 7 * 24 * 60 * 60 * 1000)
# At most this many messages per room answer one `sync` frame (`synced` says
# how far it got; the client asks again from there).
PIPO_SYNC_PAGE = env_int("PIPO_SYNC_PAGE", 500)

# Relay rate limits, token buckets kept per server process (so N workers
# allow up to N times as much; nginx's limit_req is the global backstop).
# Frames that act (send, epoch, share, sync, typing, read; not ping): a
# sustained rate per user with a burst. New websockets: per client address
# per minute with a burst (the address is Daphne's peer, or X-Forwarded-For
# with PIPO_BEHIND_PROXY).
PIPO_RELAY_FRAMES_PER_SECOND = env_int("PIPO_RELAY_FRAMES_PER_SECOND", 20)
PIPO_RELAY_FRAME_BURST = env_int("PIPO_RELAY_FRAME_BURST", 60)
PIPO_RELAY_CONNECTIONS_PER_MINUTE = env_int("PIPO_RELAY_CONNECTIONS_PER_MINUTE", 60)
PIPO_RELAY_CONNECTION_BURST = env_int("PIPO_RELAY_CONNECTION_BURST", 120)

# Encrypted files (docs/PROTOCOL.md §8, files/README.md). An upload is
# written to DATA_DIR/uploads/<id>.part as its chunks arrive, then moved into
# the "pipo_files" storage below (DATA_DIR/files/<tenant id>/<id>).
# - PIPO_MAX_FILE_BYTES: the largest file, in plaintext bytes (default 4 GiB).
# - PIPO_TENANT_QUOTA_BYTES: the stream bytes one tenant may keep, stored and
#   in progress together (default 100 GiB).
# - PIPO_UPLOAD_MAX_AGE_S: an upload not finished this long after it started
#   is gone (refused, then deleted with its .part file by gc_uploads).
# - PIPO_UPLOAD_GC_INTERVAL_S: how often each server process runs gc_uploads
#   itself (from its first upload socket on; 0: never, use cron).
# - PIPO_FILES_X_ACCEL_REDIRECT: an internal nginx location (e.g.
#   "/_pipo_files/" aliased to DATA_DIR/files/): downloads are then answered
#   with X-Accel-Redirect and nginx sends the bytes. Empty: Daphne streams.
PIPO_MAX_FILE_BYTES = env_int("PIPO_MAX_FILE_BYTES", 4 * 1024**3)
PIPO_TENANT_QUOTA_BYTES = env_int("PIPO_TENANT_QUOTA_BYTES", 100 * 1024**3)
PIPO_UPLOAD_MAX_AGE_S = env_int("PIPO_UPLOAD_MAX_AGE_S", 24 * 60 * 60)
PIPO_UPLOAD_GC_INTERVAL_S = env_int("PIPO_UPLOAD_GC_INTERVAL_S", 60 * 60)
PIPO_FILES_X_ACCEL_REDIRECT = env_str("PIPO_FILES_X_ACCEL_REDIRECT", "")
PIPO_UPLOADS_DIR = DATA_DIR / "uploads"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Completed files. Another backend (django-storages' S3) may replace it:
    # files.store then copies each finished .part file into it instead of
    # renaming, and downloads read through the storage API.
    "pipo_files": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "files")},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["config.api_authentication.CsrfSessionAuthentication"],
    "EXCEPTION_HANDLER": "config.api.api_exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PiPo API",
    "DESCRIPTION": "The REST API of PiPo's blind server: ciphertext, public keys, signed records.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema's completeness is documentation, not deployment safety: keep
    # its warnings out of `manage.py check --deploy` (`manage.py spectacular
    # --validate` shows them).
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Never log request bodies: they may hold key material in transit.
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
    },
}
