"""What can go wrong with doctors and slots, for the API, the admin and the pages."""

from enum import StrEnum

from mediqueue.errors import (
    BusyError,
    ConflictError,
    InvalidError,
    InvalidRequestError,
    NotFoundError,
)


class SlotErrorCode(StrEnum):
    SLOT_NOT_FOUND = "slot_not_found"
    DOCTOR_NOT_FOUND = "doctor_not_found"
    SLOT_EXISTS = "slot_exists"
    SLOT_CHANGE_REFUSED = "slot_change_refused"


class SlotNotFoundError(NotFoundError):
    code = SlotErrorCode.SLOT_NOT_FOUND
    default_message = "No slot with this id exists."


class DoctorNotFoundError(NotFoundError):
    code = SlotErrorCode.DOCTOR_NOT_FOUND
    default_message = "No doctor with this id exists."


class SlotExistsError(ConflictError):
    code = SlotErrorCode.SLOT_EXISTS
    default_message = "This doctor already has a slot starting at that time."


class SlotChangeRefusedError(ConflictError):
    code = SlotErrorCode.SLOT_CHANGE_REFUSED
    default_message = "This change would break the slot's bookings."


class SlotBusyError(BusyError):
    """The slot's row lock could not be had within the lock timeout."""

    default_message = "This slot is in high demand right now. Please retry in a moment."


class SlotInPastError(InvalidRequestError):
    """A rule of one field, so its answer names the field in ``errors`` like any other."""

    def __init__(self) -> None:
        super().__init__({"startTime": ["Must be in the future."]})


class SlotTooFarAheadError(InvalidRequestError):
    def __init__(self) -> None:
        super().__init__({"startTime": ["Must be within ten years from now."]})


class SlotGenerationError(InvalidError):
    default_message = "These settings do not describe any slot."
