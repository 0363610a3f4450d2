"""The error type every service raises for what a client can cause, and the codes shared by
every app. Each app adds its own errors and codes in its ``errors.py``.

An error fixes a stable machine ``code`` (part of the API contract, never renamed), the HTTP
status it maps to and a human message. ``mediqueue.error_handlers`` renders it as DESIGN.md's
envelope for the API; the pages show the same message.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings


class ErrorCode(StrEnum):
    """Codes any endpoint may answer, whatever it does."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    THROTTLED = "throttled"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    LENGTH_REQUIRED = "length_required"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    CSRF_FAILED = "csrf_failed"
    SERVER_ERROR = "server_error"


class MediQueueError(Exception):
    code: StrEnum = ErrorCode.INVALID
    http_status: int = 400
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        """Extra response headers this error needs (``Retry-After`` for busy)."""
        return {}


class InvalidError(MediQueueError):
    """The request breaks a rule: 400 ``invalid``, whatever the rule."""


NON_FIELD_ERRORS = "non_field_errors"


class InvalidRequestError(InvalidError):
    """Fields of the request break their rules: ``errors`` names each with its messages, and
    the message sums up the first ("userId: Must not be empty.")."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        field, messages = next(iter(errors.items()))
        super().__init__(messages[0] if field == NON_FIELD_ERRORS else f"{field}: {messages[0]}")


class NotFoundError(MediQueueError):
    code = ErrorCode.NOT_FOUND
    http_status = 404


class ConflictError(MediQueueError):
    http_status = 409


class BusyError(MediQueueError):
    """A lock could not be had within its timeout: the client should retry shortly."""

    code = ErrorCode.BUSY
    http_status = 503
    default_message = "This is in high demand right now. Please retry in a moment."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(settings.MEDIQUEUE_BUSY_RETRY_AFTER_SECONDS)}


class RateLimitedError(MediQueueError):
    code = ErrorCode.THROTTLED
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(
            f"Too many requests from here. Please wait {self.retry_after} seconds and retry."
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
