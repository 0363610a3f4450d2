"""Structured events: bookings, cancels and admin changes, one JSON log line each.

Events are written once the change is committed (``transaction.on_commit``), so the log never
tells of a booking that was rolled back. Only ids go in: the patient's userId, never more.
"""

import logging

from django.contrib.admin.options import ModelAdmin
from django.db import transaction

logger = logging.getLogger("mediqueue.events")


def record_event(event: str, **fields) -> None:
    transaction.on_commit(lambda: logger.info(event, extra={"event": event, **fields}))


class AuditedAdmin(ModelAdmin):
    """A ModelAdmin whose additions, changes and deletions also become log events."""

    def log_addition(self, request, obj, message):
        record_event("admin_change", action="add", **_describe(request, obj))
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        record_event("admin_change", action="change", **_describe(request, obj))
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            record_event("admin_change", action="delete", **_describe(request, obj))
        return super().log_deletions(request, queryset)


def _describe(request, obj) -> dict:
    return {"model": obj._meta.label_lower, "object_id": obj.pk, "staff_id": request.user.pk}
