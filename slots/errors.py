from django.conf import settings

from mediqueue.errors import ConflictError, MediQueueError, NotFoundError


class SlotNotFoundError(NotFoundError):
    code = "slot_not_found"
    default_message = "No slot with this id exists."


class DoctorNotFoundError(NotFoundError):
    code = "doctor_not_found"
    default_message = "No doctor with this id exists."


class SlotExistsError(ConflictError):
    code = "slot_exists"
    default_message = "This doctor already has a slot starting at that time."


class SlotBusyError(MediQueueError):
    """The slot's row lock could not be had within the lock timeout."""

    code = "busy"
    http_status = 503
    default_message = "This slot is in high demand right now. Please retry in a moment."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(settings.MEDIQUEUE_BUSY_RETRY_AFTER_SECONDS)}
