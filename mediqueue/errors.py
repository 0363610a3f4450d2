"""The one error type that services raise; the API and the pages render it.

Each subclass fixes a stable machine ``code`` (part of the API contract, never renamed), the HTTP
status it maps to and a human message. Services raise these and nothing else for conditions a
client can cause; ``mediqueue.api.exception_handler`` turns them into DESIGN.md's envelope.
"""

from __future__ import annotations


class MediQueueError(Exception):
    code: str = "error"
    http_status: int = 400
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        """Extra response headers this error needs (``Retry-After`` for busy)."""
        return {}


class NotFoundError(MediQueueError):
    http_status = 404


class ConflictError(MediQueueError):
    http_status = 409
