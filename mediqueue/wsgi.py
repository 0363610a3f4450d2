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
    if not os.environ.get(required):
        raise ImproperlyConfigured(
            f"{required} must be set to serve MediQueue ({why}); `make run` sets up both locally."
        )

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediqueue.settings")

application = get_wsgi_application()
