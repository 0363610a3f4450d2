"""The JSON error envelope of DESIGN.md, for every error a client can meet under /api/.

``{"status": "FAILED", "code": <stable snake_case>, "message": <human>, "errors"?: {field: [..]}}``

``envelope`` answers every error a view raises (domain errors and DRF's own): the DRF exception
handler renders it for the DRF views, ``mediqueue.api.LeanAPIView`` for the lean ones; the
Django-level handlers below cover what never reaches a view (unknown URLs, oversized bodies,
CSRF failures, crashes), answering JSON under /api/ and Django's usual pages elsewhere.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, InternalError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure
from psycopg import errors as pg_errors
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from mediqueue import metrics
from mediqueue.errors import NON_FIELD_ERRORS, ErrorCode, InvalidRequestError, MediQueueError
from mediqueue.parsers import PayloadTooLarge

logger = logging.getLogger(__name__)


def _database_unavailable(exc: Exception) -> bool:
    """The database could not be reached, dropped the connection, or was not the leader: a
    server in recovery refuses every write before doing anything (a failover's first moments,
    mediqueue/db_backend), so nothing of the request happened and a retry is safe."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, InternalError) and isinstance(
        exc.__cause__, pg_errors.ReadOnlySqlTransaction
    )


_DRF_CODES = {
    exceptions.ValidationError: ErrorCode.INVALID,
    exceptions.ParseError: ErrorCode.INVALID,
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.AUTHENTICATION_FAILED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: ErrorCode.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: ErrorCode.THROTTLED,
    PayloadTooLarge: ErrorCode.PAYLOAD_TOO_LARGE,
}


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    body = {"status": "FAILED", "code": code, "message": message}
    if errors:
        body["errors"] = errors
    return body


def _unavailable(exc: Exception) -> dict:
    # The database is down or restarting (lock timeouts were mapped to "busy" already).
    # Retrying is safe: a repeated booking is refused, never given a second seat.
    logger.warning("database unavailable: %s", exc)
    metrics.DATABASE_ERRORS.labels(type(exc).__name__).inc()
    return error_body(ErrorCode.UNAVAILABLE, "The service is briefly unavailable. Please retry.")


class Envelope(NamedTuple):
    status: int
    body: dict
    headers: dict[str, str]


def envelope(exc: Exception) -> Envelope | None:
    """The answer to an error a client can cause: our domain errors, DRF's own, Http404 and an
    unavailable database; None for anything else (a bug: let it become a 500)."""
    if isinstance(exc, MediQueueError):
        body = error_body(exc.code, exc.message, getattr(exc, "errors", None))
        return Envelope(exc.http_status, body, exc.headers())
    if _database_unavailable(exc):
        return Envelope(503, _unavailable(exc), {"Retry-After": "1"})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), ErrorCode.INVALID)
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        body = error_body(code, InvalidRequestError(errors).message, errors)
    elif isinstance(exc, exceptions.ParseError):
        body = error_body(code, f"The request body is not valid JSON: {exc.detail}")
    else:
        body = error_body(code, str(exc.detail))
    return Envelope(exc.status_code, body, headers)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: the envelope, for the DRF views (the admin API)."""
    found = envelope(exc)
    if found is None:
        return None
    set_rollback()
    return Response(found.body, status=found.status, headers=found.headers)


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            field: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            for field, messages in detail.items()
        }
    messages = detail if isinstance(detail, list) else [detail]
    return {NON_FIELD_ERRORS: [str(m) for m in messages]}


# --- Django-level handlers (wired in mediqueue/urls.py and settings.CSRF_FAILURE_VIEW) ---------


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(
                error_body(ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large."),
                status=413,
            )
        return JsonResponse(
            error_body(ErrorCode.INVALID, "The request could not be read."), status=400
        )
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            error_body(ErrorCode.PERMISSION_DENIED, "You do not have permission to do this."),
            status=403,
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            error_body(ErrorCode.NOT_FOUND, "There is nothing at this URL."), status=404
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            error_body(ErrorCode.SERVER_ERROR, "Something went wrong on our side. Please retry."),
            status=500,
        )
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    if _is_api(request):
        return JsonResponse(
            error_body(ErrorCode.CSRF_FAILED, f"CSRF verification failed: {reason}"), status=403
        )
    return django_csrf_failure(request, reason=reason)
