"""Liveness and readiness probes.

Two tiny views rather than django-health-check: the contract wants a plain 503 JSON when the
database is down, and that library answers 500 with an HTML page by default.
"""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any failure to reach the database means "not ready"
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable"},
            status=503,
            headers={"Retry-After": "1"},
        )
    return JsonResponse({"status": "ok", "database": "ok"})
