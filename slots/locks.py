"""Every row lock on a slot is taken here (or, for a booking, by booking.queries.TAKE_SEAT,
whose UPDATE takes the same lock in the same way, capped by the same timeout).

A lock wait is capped with a transaction-local ``lock_timeout`` so that a request under a flash
crowd answers "busy, retry" within the timeout instead of hanging.
"""

from django.conf import settings
from django.db import connection

from mediqueue.db import busy_on_lock_timeout, set_lock_timeout
from slots.errors import SlotBusyError, SlotNotFoundError
from slots.models import Slot


def slot_lock_timeout() -> str:
    return f"{settings.MEDIQUEUE_LOCK_TIMEOUT_MS}ms"


def lock_slot(slot_id: int) -> Slot:
    """Lock one slot row for the rest of the current transaction and return it, fresh.

    FOR NO KEY UPDATE still serialises every change of the slot's seats, but does not block
    the inserts of bookings that reference the slot by foreign key.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_slot() must run inside transaction.atomic()")
    with busy_on_lock_timeout(SlotBusyError):
        set_lock_timeout(slot_lock_timeout())
        slot = (
            Slot.objects.select_for_update(no_key=True, of=("self",))
            .select_related("doctor")
            .filter(pk=slot_id)
            .first()
        )
    if slot is None:
        raise SlotNotFoundError()
    return slot
