"""MediQueue settings: everything that differs between machines comes from the environment.

Importing them starts nothing and writes nothing. The defaults are production's: DEBUG off, no
public secret key. A deployment gives ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS`` and
``DATABASE_URL``; ``mediqueue.wsgi`` refuses to serve without the key and the database. The
project's own entry points (manage.py, the tests, ``make run``) set up a local database and key
first (``mediqueue.launcher``); ``make dev`` adds ``DJANGO_DEBUG=1``.
"""

import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from corsheaders.defaults import default_headers as default_cors_headers
from csp.constants import NONE, SELF
from django.core.management.utils import get_random_secret_key

from mediqueue.logs import logging_settings
from mediqueue.notice_settings import notice_settings
from mediqueue.oidc_settings import oidc_settings
from mediqueue.rates import rate_setting

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# Local state of make run: the embedded database, its secret key, the admin's credentials.
DATA_DIR = Path(env.str("MEDIQUEUE_DATA_DIR", default=str(BASE_DIR / ".mediqueue")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Without DJANGO_SECRET_KEY (a management command run by hand, say) a key made up for this
# process alone: never a key anyone else knows. Serving requires a real one (mediqueue.wsgi).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or get_random_secret_key()

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "procrastinate.contrib.django",
    "mediqueue",
    "slots",
    "booking",
    "pages",
]

MIDDLEWARE = [
    # Outermost: HEAD answers carry no body, whatever produced it (mediqueue/head_requests.py).
    "mediqueue.head_requests.HeadWithoutBodyMiddleware",
    "mediqueue.middleware.RequestMetricsMiddleware",
    "mediqueue.middleware.SafeRequestIDMiddleware",
    "mediqueue.middleware.RefuseChunkedBodiesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Page* middleware is Django's and csp's own, skipped by the patients' JSON endpoints,
    # which have no use for it: measured, it pays (mediqueue/middleware.py).
    "mediqueue.middleware.PageCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "mediqueue.middleware.PageSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "mediqueue.middleware.PageAuthenticationMiddleware",
    "mediqueue.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as its docs ask: it turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mediqueue.urls"
WSGI_APPLICATION = "mediqueue.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pages.identity.patient_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL, always: the project's entry points export the embedded server's when none is
# configured (mediqueue.launcher). Without one, any query fails with "settings.DATABASES is
# improperly configured", and nothing is started behind anyone's back.
DATABASE_URL = env.str("DATABASE_URL", default="")
USING_EMBEDDED_DATABASE = env.bool("MEDIQUEUE_EMBEDDED_DATABASE", default=False)


def _database(url: str, **extra) -> dict:
    config = env.db_url_config(url)
    # A Unix socket directory travels percent-encoded in the URL's host part.
    config["HOST"] = unquote(config.get("HOST", ""))
    return {
        **config,
        # PostgreSQL's own backend, with a health check that needs no round trip.
        "ENGINE": "mediqueue.db_backend",
        # Persistent connections: a booking should not pay for a new connection.
        "CONN_MAX_AGE": env.int("DJANGO_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        # Django turns psycopg's prepared statements off, and psycopg then ignores even an
        # explicit prepare=True: a threshold never reached prepares what asks for it (the
        # booking statement, mediqueue.db.run_as_own_transaction) and nothing else.
        "OPTIONS": {**config.get("OPTIONS", {}), "prepare_threshold": sys.maxsize},
        **extra,
    }


# Listings may be read from replicas (mediqueue/replicas.py): DATABASE_REPLICA_URL, in the
# cluster HAProxy's replica port. Every write, and every read inside a write, stays on default.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": _database(DATABASE_URL)}
    if DATABASE_REPLICA_URL:
        # Tests read the replica alias from the test database itself (Django's mirror).
        DATABASES["replica"] = _database(DATABASE_REPLICA_URL, TEST={"MIRROR": "default"})
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# How long opening a connection may keep being retried (mediqueue/db_backend): behind HAProxy
# and Patroni, a few seconds cover a switchover; 0 (one database server) fails at once.
MEDIQUEUE_DB_CONNECT_RETRY_SECONDS = env.float("MEDIQUEUE_DB_CONNECT_RETRY_SECONDS", default=0.0)

# --- Booking --------------------------------------------------------------------------------
# How long a booking waits for a slot's row lock before answering 503 busy: a seat is decided
# in about a millisecond, so two seconds of queueing means the database is overloaded.
MEDIQUEUE_LOCK_TIMEOUT_MS = env.int("MEDIQUEUE_LOCK_TIMEOUT_MS", default=2000)
MEDIQUEUE_BUSY_RETRY_AFTER_SECONDS = env.int("MEDIQUEUE_BUSY_RETRY_AFTER_SECONDS", default=1)

# Idempotency-Key: how long a stored answer is replayed, and how long a retry waits for the
# first request with the same key to finish before answering 409 idempotency_in_progress.
MEDIQUEUE_IDEMPOTENCY_TTL_HOURS = env.int("MEDIQUEUE_IDEMPOTENCY_TTL_HOURS", default=24)
MEDIQUEUE_IDEMPOTENCY_WAIT_MS = env.int("MEDIQUEUE_IDEMPOTENCY_WAIT_MS", default=2000)

# How long a process may keep a GET /api/slots page at most (slots.selectors.slot_list_json):
# every change made through the service makes it stale at once anyway; this bounds only what a
# change made by hand in the database could leave behind. 0 turns the cache off.
MEDIQUEUE_LISTING_CACHE_SECONDS = env.float("MEDIQUEUE_LISTING_CACHE_SECONDS", default=5.0)

# The patients' notices: mail through SMTP (EMAIL_URL) or into files, and their worker.
globals().update(notice_settings(env, data_dir=DATA_DIR))

# --- Patients: open or verified (mediqueue.patients, docs/security.md) ---------------------
# "open" (the original client's contract): userId is whatever the client says, and no answer
# tells whether a given userId holds a seat. "oidc": the patient is the subject of a bearer
# token from the clinic's OpenID Connect provider, and the pages log in through it.
MEDIQUEUE_PATIENT_AUTH = env.str("MEDIQUEUE_PATIENT_AUTH", default="open")
_patient_auth = oidc_settings(env, patient_auth=MEDIQUEUE_PATIENT_AUTH)
MEDIQUEUE_PATIENT_BACKENDS = _patient_auth.pop("MEDIQUEUE_PATIENT_BACKENDS")
globals().update(_patient_auth)

# --- Shared state (mediqueue.ratelimit, mediqueue.shared_version) ---------------------------
# With REDIS_URL the rate-limit counters and the listing's version live in Redis, shared by
# every app node; without, in PostgreSQL and in shared memory, shared by this machine's workers.
REDIS_URL = env.str("REDIS_URL", default="")

# The booking queue (issue 25, booking.queue): off unless an AMQP URL is given. With it,
# POST /api/book with "Prefer: respond-async" is queued in RabbitMQ and decided by
# `manage.py allocate`; without the header a booking takes the direct path as before.
MEDIQUEUE_BOOKING_QUEUE_URL = env.str("MEDIQUEUE_BOOKING_QUEUE_URL", default="")
# Quorum queues mediqueue.book.0 .. N-1, a slot's requests all in slot_id % N. Changing N while
# requests wait would split a slot's line in two: drain the queues first.
MEDIQUEUE_BOOKING_QUEUE_SHARDS = env.int("MEDIQUEUE_BOOKING_QUEUE_SHARDS", default=4)
# The longest "Prefer: wait=N" honoured on GET /api/book/requests/{ticket}: a waiting request
# holds a gunicorn thread.
MEDIQUEUE_BOOKING_WAIT_MAX_SECONDS = env.float("MEDIQUEUE_BOOKING_WAIT_MAX_SECONDS", default=10.0)
# Where `manage.py allocate` serves its Prometheus metrics ("0.0.0.0:9102"); unset: nowhere.
MEDIQUEUE_ALLOCATOR_METRICS_BIND = env.str("MEDIQUEUE_ALLOCATOR_METRICS_BIND", default="")

# --- Auth, i18n, static ---------------------------------------------------------------------
# django-axes first: it refuses a login attempt from a (username, address) pair that failed
# AXES_FAILURE_LIMIT times, before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    *MEDIQUEUE_PATIENT_BACKENDS,  # patients' OpenID Connect login, in oidc mode only
]
AXES_FAILURE_LIMIT = env.int("MEDIQUEUE_LOGIN_FAILURE_LIMIT", default=5)
# Per (username, address): a guesser is stopped, and cannot lock the real admin out from
# elsewhere. The lockout lifts by itself after the cool-off, or at once when staff unlock it
# (the admin's "Access attempts", or `python manage.py axes_reset_username <name>`).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=env.int("MEDIQUEUE_LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "mediqueue.ratelimit.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Straight from the apps under make dev; collected (collectstatic_if_changed) otherwise.
WHITENOISE_USE_FINDERS = DEBUG

# A booking request is a few dozen bytes; refuse anything large before parsing it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MEDIQUEUE_MAX_BODY_BYTES", default=64 * 1024)


# --- API ------------------------------------------------------------------------------------
# Booking and cancelling are rate-limited (booking.throttles), API and pages alike: per client
# address, and per client address and patient ("N/sec|min|hour|day"; "off" disables one).
MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = rate_setting("MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT", "600/min")
MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = rate_setting("MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT", "30/min")
# 0: the client address is REMOTE_ADDR, and X-Forwarded-For (which any client can forge) is
# ignored. Behind N trusted reverse proxies (nginx: 1), the Nth entry from the right is used.
MEDIQUEUE_NUM_PROXIES = env.int("MEDIQUEUE_NUM_PROXIES", default=0)
# How long a staff API token works after it was made (mediqueue.authentication).
MEDIQUEUE_STAFF_TOKEN_TTL_HOURS = env.int("MEDIQUEUE_STAFF_TOKEN_TTL_HOURS", default=24)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: DRF takes the WWW-Authenticate header from the first class, which
        # turns "no credentials" into a 401 instead of a 403.
        "mediqueue.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PARSER_CLASSES": ["mediqueue.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "mediqueue.error_handlers.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": MEDIQUEUE_NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MediQueue API",
    "DESCRIPTION": (
        "Doctor-appointment booking. Every seat of a slot is sold exactly once, even when "
        "thousands of patients book the same slot at the same moment.\n\n"
        "Field names: requests are camelCase (`userId`, `slotId`, `startTime`), as the original "
        "client sends them; answers are snake_case (`slot_id`, `start_time`, `booked_seats`), "
        "as it reads them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {"WaitlistStatusEnum": "booking.models.WaitlistEntry.Status"},
}

# Patients' browsers on other origins may read slots and book (the original React client
# does); no cookies are involved, so allowing any origin leaks nothing. The admin API stays
# same-origin.
CORS_URLS_REGEX = (
    r"^/api/(slots(/.*)?|doctors|book(/requests/.*)?|bookings/.*|waitlist/.*|me/bookings)$"
)
CORS_ALLOWED_ORIGINS = env.list("DJANGO_CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_ALL_ORIGINS = not CORS_ALLOWED_ORIGINS
CORS_ALLOW_CREDENTIALS = False
# A browser client retries safely with an Idempotency-Key, proves its patient with a bearer
# token (MEDIQUEUE_PATIENT_AUTH=oidc), asks for a queued booking with Prefer, and must be able
# to read when to retry and whether an answer was replayed.
CORS_ALLOW_HEADERS = (*default_cors_headers, "idempotency-key", "prefer")
CORS_EXPOSE_HEADERS = ["Retry-After", "Idempotent-Replayed", "Location", "Preference-Applied"]

# Content-Security-Policy on every answer: scripts, styles, images and fonts from our own origin
# only, nothing inline (the pages draw their seat bars in SVG rather than with inline styles),
# no framing, no plugins, forms posting only to us. The API docs relax styles alone (Swagger
# UI's page has a <style> block); their scripts stay as strict.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    },
}

# --- Production hardening (python manage.py check --deploy) --------------------------------
# A client can write X-Forwarded-Proto: only a proxy we were told of (MEDIQUEUE_NUM_PROXIES)
# says whether the request came over HTTPS.
if MEDIQUEUE_NUM_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Preloading HSTS is a commitment browsers keep for months after the header is gone, so it is
# the deployer's choice (DJANGO_SECURE_HSTS_PRELOAD=1), not a default; check --deploy would
# otherwise ask for it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if not DEBUG:
    # HTTPS comes from the TLS proxy in front: without one declared, a redirect to https://
    # would lead nowhere (make run, tests on loopback), so it is on by default only behind one.
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=MEDIQUEUE_NUM_PROXIES > 0)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# JSON lines, one per event, each with the request id (taken from an incoming X-Request-ID when
# it is at most 64 of [A-Za-z0-9._-], else made up; returned in the response's X-Request-ID).
# Set DJANGO_LOG_FORMAT=plain to read them as text in a terminal.
LOG_REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
GENERATE_REQUEST_ID_IF_NOT_IN_HEADER = True
REQUEST_ID_RESPONSE_HEADER = "X-Request-ID"
LOGGING = logging_settings(
    line_format=env.str("DJANGO_LOG_FORMAT", default="json"),
    level=env.str("DJANGO_LOG_LEVEL", default="INFO"),
)

CSRF_FAILURE_VIEW = "mediqueue.error_handlers.csrf_failure"
