"""The framework floor: the cheapest JSON answer Django can give, through the service's own
settings, middleware and gunicorn configuration, served at ``/__bench__/floor`` by a gunicorn of
its own (``application``). Bench-only: the product's URLconf has no such URL.
"""

from django.conf import settings
from django.http import JsonResponse
from django.urls import include, path

from loadtests.bench.passes import FLOOR_PATH
from mediqueue.wsgi import application  # sets Django up: the product's URLs can be included


def floor(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [path(FLOOR_PATH.lstrip("/"), floor), path("", include("mediqueue.urls"))]
settings.ROOT_URLCONF = __name__  # read by Django's handler on every request

__all__ = ["application"]
