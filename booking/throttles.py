"""The rate limits on what patients write, the same for the API and the pages.

- per client address: every booking and cancel from one address (a script hammering us);
- per client address and patient: bookings for one patient from one address (one patient's
  retry loop). Keyed by the address too, so that nobody can spend a patient's allowance from
  elsewhere and lock the real patient out.

Both are counted in one round trip (``mediqueue.ratelimit``); for a booking on PostgreSQL, in
the booking statement's own round trip. Rates are read from settings on
each request, so an environment or a test can change them.
"""

from __future__ import annotations

from django.conf import settings

from mediqueue.ratelimit import Count, client_address, enforce


def check_booking(request, *, patient: str | None) -> None:
    """Count a booking request; ``patient`` is None when its userId was not valid (the request
    then still counts against its client's limit)."""
    enforce(booking_limits(request, patient=patient))


def booking_limits(request, *, patient: str | None) -> list[Count]:
    """The limits a booking request counts against: to count on their own (``check_booking``)
    or inside the booking statement (``booking.services.book(limits=…)``)."""
    address = client_address(request)
    counts = _per_client(address)
    if patient is not None and settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT:
        counts.append(
            Count(
                "per_patient",
                f"{address}\x00{patient}",
                settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT,
            )
        )
    return counts


def check_cancel(request) -> None:
    enforce(_per_client(client_address(request)))


def _per_client(address: str) -> list[Count]:
    rate = settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT
    return [Count("per_client", address, rate)] if rate else []
