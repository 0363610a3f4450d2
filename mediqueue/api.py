"""What the API views of every app share: the public views, and the lean way through them.

The patient endpoints are ``LeanAPIView``s. DRF describes them (drf-spectacular reads their
``extend_schema`` and serializers for the OpenAPI document) and its pieces do the work: the JSON
parser of every DRF view reads the body, the endpoint's serializer parses it (``parse``), and
the one exception handler's envelope (``mediqueue.error_handlers.envelope``) answers every
error. What they skip is DRF's request machinery around those pieces (the Request wrapper,
content negotiation, renderer classes): measured (docs/performance.md, the ablation), plain
DRF views ran the refusals at 0.61x and the flash crowd at 0.67x their rate, at +46 % and +34 %
CPU per answer.
"""

from __future__ import annotations

import functools
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from mediqueue import error_handlers
from mediqueue.parsers import BoundedJSONParser


class PublicAPIView(APIView):
    """Anyone may call it; no session is read, so no CSRF token is needed."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class LeanAPIView(PublicAPIView):
    """A public endpoint described by DRF and served without its request machinery."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.request, self.args, self.kwargs = request, args, kwargs
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        try:
            if handler is None:
                raise exceptions.MethodNotAllowed(request.method)
            return handler(request, *args, **kwargs)
        except Exception as error:
            found = error_handlers.envelope(error)
            if found is None:
                raise  # a bug: Django logs it and handler500 answers
            response = JsonResponse(found.body, status=found.status, headers=found.headers)
            if isinstance(error, exceptions.MethodNotAllowed):
                response["Allow"] = ", ".join(self._allowed_methods())
            response.error_code = found.body["code"]  # for the metrics
            return response

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # CORS preflights are answered by corsheaders before they get here.
        return HttpResponse(headers={"Allow": ", ".join(self._allowed_methods())})


_JSON_PARSER = BoundedJSONParser()


def read_json(request: HttpRequest):
    """The request's JSON body, read by the DRF views' own parser (415 unless it says it is
    JSON, 413 over the body limit, 400 when it is not JSON). An empty body reads as an empty
    object, so that the serializer names each missing field."""
    content_type = request.content_type or ""
    if content_type != _JSON_PARSER.media_type:
        raise exceptions.UnsupportedMediaType(content_type)
    if request.META.get("CONTENT_LENGTH", "0") in ("", "0"):
        return {}
    return _JSON_PARSER.parse(request, content_type, {"request": request})


@functools.cache
def _bound(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    return serializer_class()


def parse(serializer_class: type[serializers.Serializer], data) -> dict:
    """``data`` parsed by the endpoint's serializer (the contract the schema publishes), or its
    ValidationError. One instance per class and process: building a serializer's fields anew
    costs more than a request's whole validation, and parsing keeps no state on it."""
    return _bound(serializer_class).run_validation(data)


def json_answer(body: dict, *, status: int = 200, never_store: bool = False) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, separators=(",", ":")), status=status, content_type="application/json"
    )
    if never_store:
        # It carries a booking reference, the key to the booking: no cache may keep it.
        response["Cache-Control"] = "no-store"
    return response


def preferences(request: HttpRequest) -> dict[str, str]:
    """The request's ``Prefer`` preferences (RFC 7240), by lower-case name: ``respond-async``
    maps to "", ``wait=10`` to "10". Parameters after ";" are ignored, and so is a preference
    named twice after its first (the RFC's rule)."""
    found: dict[str, str] = {}
    for item in request.headers.get("Prefer", "").split(","):
        name, _, value = item.split(";", 1)[0].strip().partition("=")
        name = name.strip().lower()
        if name and name not in found:
            found[name] = value.strip().strip('"')
    return found
