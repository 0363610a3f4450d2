"""The production entry point: gunicorn serves ``application``.

It starts nothing of its own (``make run`` prepares the embedded database first) and refuses to
start without the two things a deployment must give it.
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

for required, why in (
    ("DJANGO_SECRET_KEY", "sessions and CSRF tokens are signed with it"),
    ("DATABASE_URL", "e.g. postgres://user:password@host:5432/mediqueue"),
):
    if not os.environ.get(required, "").strip():
        raise ImproperlyConfigured(
            f"{required} must be set to serve MediQueue ({why}); `make run` sets up both locally."
        )

# Keys anyone can read: the one this repository once shipped for development, and any key
# Django's startproject made for development (it marks them so). Sessions, CSRF tokens and
# password-reset links signed with a known key can be forged.
PUBLISHED_SECRET_KEYS = {"django-insecure-mediqueue-development-only"}
_secret_key = os.environ["DJANGO_SECRET_KEY"]
if _secret_key in PUBLISHED_SECRET_KEYS or _secret_key.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is a published development key: set a secret one "
        "(e.g. `openssl rand -hex 32`)."
    )

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediqueue.settings")

application = get_wsgi_application()
