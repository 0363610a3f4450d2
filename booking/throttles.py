"""Rate limits on POST /api/book, counted in the shared cache (database, or Redis with
REDIS_URL) so that every gunicorn worker sees the same counts.

Rates are read from settings on each request (not frozen at import as DRF's own are), so that
an environment or a test can change them."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from mediqueue.fields import PatientIdField


class BookPerClientThrottle(SimpleRateThrottle):
    """Per client address: one machine hammering the endpoint."""

    scope = "book_per_client"

    def get_rate(self):
        return settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class BookPerPatientThrottle(SimpleRateThrottle):
    """Per patient (userId): one patient retrying in a loop, from however many addresses."""

    scope = "book_per_patient"

    def get_rate(self):
        return settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT

    def get_cache_key(self, request, view):
        raw = request.data.get("userId") if isinstance(request.data, dict) else None
        try:
            patient = PatientIdField().to_internal_value(raw)
        except Exception:  # an invalid userId is answered 400 by the view, not counted here
            return None
        return self.cache_format % {"scope": self.scope, "ident": patient}
