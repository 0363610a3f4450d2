"""How staff prove who they are to the admin API: DRF's tokens, with an age limit.

A token that never expires is a password that cannot be rotated by waiting: one copied from a
shell history or a CI log works for ever. Each token here lives
``MEDIQUEUE_STAFF_TOKEN_TTL_HOURS`` from its creation; ``python manage.py drf_create_token -r
<user>`` makes a new one (and the old one stops working at once).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        lifetime = timedelta(hours=settings.MEDIQUEUE_STAFF_TOKEN_TTL_HOURS)
        if token.created < timezone.now() - lifetime:
            raise AuthenticationFailed(
                "This token has expired; make a new one with "
                "`python manage.py drf_create_token -r <username>`."
            )
        return user, token
