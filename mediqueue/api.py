"""What the API views of every app share: the public views, and the lean way through them.

The patient endpoints are ``LeanAPIView``s. DRF still describes them (drf-spectacular reads
their ``extend_schema`` and serializers for the OpenAPI document), but a request does not go
through DRF's machinery: no Request wrapper, content negotiation, parser or renderer classes,
which cost more than the booking itself (see the README's Performance section). The handler
gets Django's HttpRequest, reads its JSON with ``read_json_object``, checks it with the plain
rules of ``mediqueue.validation`` and answers a Django response; whatever it raises becomes the
same envelope as everywhere else (``mediqueue.error_handlers.error_response``).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from mediqueue import error_handlers
from mediqueue.errors import (
    NON_FIELD_ERRORS,
    InvalidError,
    InvalidRequestError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)


class PublicAPIView(APIView):
    """Anyone may call it; no session is read, so no CSRF token is needed."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class LeanAPIView(PublicAPIView):
    """A public endpoint described by DRF and served without it (see the module docstring)."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.request, self.args, self.kwargs = request, args, kwargs
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        try:
            if handler is None:
                raise MethodNotAllowedError(request.method, self._allowed_methods())
            return handler(request, *args, **kwargs)
        except Exception as error:
            response = error_handlers.error_response(error)
            if response is None:
                raise  # a bug: Django logs it and handler500 answers
            return response

    def options(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # CORS preflights are answered by corsheaders before they get here.
        return HttpResponse(headers={"Allow": ", ".join(self._allowed_methods())})


def read_json_object(request: HttpRequest) -> dict:
    """The request's body as a JSON object: 415 unless it says it is JSON, 413 over the body
    limit, 400 for anything but one object (an empty body reads as an empty object, so that
    each missing field is named)."""
    content_type = request.content_type or ""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaTypeError(f'Unsupported media type "{content_type}" in request.')
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and _declared_length(request) > limit:
        raise PayloadTooLargeError()
    body = request.body
    if not body:
        return {}
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        # RecursionError: a few kilobytes of "[[[[..." are too deep for json to read.
        raise InvalidError(f"The request body is not valid JSON: {_json_problem(error)}") from error
    if not isinstance(data, dict):
        raise InvalidRequestError({NON_FIELD_ERRORS: ["Expected a JSON object."]})
    return data


def json_answer(body: dict, *, status: int = 200, never_store: bool = False) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, separators=(",", ":")), status=status, content_type="application/json"
    )
    if never_store:
        # It carries a booking reference, the key to the booking: no cache may keep it.
        response["Cache-Control"] = "no-store"
    return response


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _json_problem(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply."
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8."
    return str(error)
