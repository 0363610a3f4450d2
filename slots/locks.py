"""Every row lock on a slot is taken here, with one exception: a booking.

A lock wait is capped with a transaction-local ``lock_timeout`` so that a request under a flash
crowd answers "busy, retry" within the timeout instead of hanging.

The exception: ``booking.services.book`` takes the same lock, on the same row, capped by the same
timeout (``slot_lock_timeout``), in the UPDATE of its one statement (``booking.queries``), which
PostgreSQL commits before it answers. Through ``lock_slot`` inside ``transaction.atomic()`` the
lock is held across five round trips and any pause of the worker: measured (docs/performance.md,
the ablation), the hot slot then ran at 0.33x its rate, the flash crowd at 0.39x, and refusals
at 0.27x. Cancels, the waiting list and the admin change a slot far less often and lock here.
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
