"""The booking queue's page (issue 25): with the queue switched on, the booking form queues the
request and sends the patient here, "you are in line", until the allocator decided; then to the
booking, or the reason. It refreshes itself with a meta refresh: no script, so the strict
Content-Security-Policy stays as it is."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from booking import messages as booking_messages
from booking import selectors as booking_selectors
from booking.errors import BookingRequestNotFoundError, SlotFullError
from booking.models import BookingRequest
from pages import identity
from pages.views import error_page

# Seconds between two looks of a page in line: short enough to feel live, and each look is one
# indexed read.
REFRESH_SECONDS = 2


@never_cache  # the ticket in the URL is the key to the outcome, and so to the booking
@require_safe
def booking_request(request: HttpRequest, ticket: str) -> HttpResponse:
    try:
        outcome = booking_selectors.booking_request_outcome(ticket=ticket)
    except BookingRequestNotFoundError as error:
        return error_page(request, error)
    if outcome is not None and (
        denied := identity.holder_only(
            request,
            outcome.user_id,
            not_found=lambda: error_page(request, BookingRequestNotFoundError()),
        )
    ):
        return denied
    if outcome is not None and outcome.status == BookingRequest.Status.CONFIRMED:
        messages.success(request, f"{booking_messages.BOOKED} Keep the reference below.")
        return redirect("pages:booking", reference=outcome.booking.reference)
    refusal = None if outcome is None else booking_selectors.booking_request_refusal(outcome)
    return render(
        request,
        "pages/booking_request.html",
        {
            "ticket": ticket,
            "outcome": outcome,
            "refusal": refusal,
            "slot": outcome.slot if outcome is not None else None,
            "may_wait": isinstance(refusal, SlotFullError),
            "refresh_seconds": REFRESH_SECONDS,
            "queued_message": booking_messages.QUEUED,
        },
    )
