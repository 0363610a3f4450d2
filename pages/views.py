"""Patient pages: the same services and selectors as the API, rendered as HTML.

Each view parses its input, calls one service or selector and renders. Domain errors become a
clear message on the page, with the HTTP status the API would give for the same error.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking import messages as booking_messages
from booking import queue as booking_queue
from booking import selectors as booking_selectors
from booking import services as booking_services
from booking import throttles
from booking.errors import BookingNotFoundError, SlotClosedError, SlotFullError
from mediqueue.errors import MediQueueError
from pages import identity
from pages.forms import BookingForm, SlotFilterForm
from pages.mail import sent_mail
from slots import selectors as slot_selectors
from slots.errors import SlotNotFoundError
from slots.models import Slot

# One page of the board; narrower filters show the rest.
BOARD_SIZE = 200


@require_safe
def slot_board(request: HttpRequest) -> HttpResponse:
    form = SlotFilterForm(request.GET or None)
    slots, has_more = slot_selectors.slot_board(filters=form.slot_filters(), limit=BOARD_SIZE)
    return render(
        request,
        "pages/slot_board.html",
        {
            "form": form,
            "days": slot_selectors.slots_by_day_and_doctor(slots),
            "has_more": has_more,
            "board_size": BOARD_SIZE,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def book_slot(request: HttpRequest, slot_id: int) -> HttpResponse:
    def book(slot: Slot, fields: dict) -> HttpResponse:
        if booking_queue.enabled():
            # In queue mode a page's booking waits in line with the API's (pages/queue_views).
            queued = booking_queue.accept(
                slot_id=slot.pk, user_id=fields["patient"], email=fields["email"]
            )
            return redirect("pages:booking-request", ticket=queued.ticket)
        outcome = booking_services.book(
            slot_id=slot.pk, user_id=fields["patient"], email=fields["email"]
        )
        messages.success(request, f"{booking_messages.BOOKED} Keep the reference below.")
        return redirect("pages:booking", reference=outcome.booking.reference)

    return slot_form_page(request, slot_id, show=_booking_form, act=book)


def slot_form_page(request: HttpRequest, slot_id: int, *, show, act) -> HttpResponse:
    """A patient's form about one slot (book it, join its waiting list): ``show(request, slot,
    form, error=None)`` renders it, ``act(slot, fields)`` does what it asks once it is valid and
    within the rate limits, and answers."""
    if (sign_in := identity.sign_in_first(request)) is not None:
        return sign_in
    try:
        slot = slot_selectors.slot_get(slot_id=slot_id)
    except SlotNotFoundError as error:
        return error_page(request, error)

    form = BookingForm(request.POST or None, verified_patient=identity.signed_in_patient(request))
    if request.method != "POST":
        return show(request, slot, form)
    valid = form.is_valid()
    try:
        throttles.check_booking(request, patient=form.cleaned_data.get("patient"))
    except MediQueueError as error:
        return error_page(request, error)
    if not valid:
        return show(request, slot, form)
    try:
        return act(slot, form.cleaned_data)
    except SlotNotFoundError as error:  # removed by the clinic since the form was shown
        return error_page(request, error)
    except MediQueueError as error:
        # Show the slot as it is now (it may just have filled up), with the reason.
        return show(request, slot_selectors.slot_get(slot_id=slot.pk), form, error=error)


def _booking_form(request, slot: Slot, form: BookingForm, error: MediQueueError | None = None):
    # A slot seen full or started gets the answer booking would give, without a form to fill
    # in; booking.services stays the authority for every form that is sent.
    unavailable = None
    if slot.has_started:
        unavailable = SlotClosedError()
    elif slot.is_full:
        unavailable = SlotFullError()
    return slot_form_response(
        request, "pages/book_slot.html", slot=slot, form=form, error=error, unavailable=unavailable
    )


def slot_form_response(
    request,
    template: str,
    *,
    slot: Slot,
    form: BookingForm,
    error: MediQueueError | None,
    unavailable: MediQueueError | None,
) -> HttpResponse:
    """A slot's form page (booking, joining its waiting list): with the error of the form just
    sent, answered with that error's status and headers, or ``unavailable`` instead of a form
    when the slot, as seen now, would refuse it."""
    response = render(
        request,
        template,
        {"slot": slot, "form": form, "error": error, "unavailable": unavailable},
        status=error.http_status if error else 200,
    )
    return with_error_headers(response, error) if error else response


@never_cache  # the reference in the URL is the key to the booking: keep the page out of caches
@require_safe
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        booking = booking_selectors.booking_get(reference=reference)
    except BookingNotFoundError as error:
        return error_page(request, error)
    if denied := identity.holder_only(
        request, booking.user_id, not_found=_no_such_booking(request)
    ):
        return denied
    return render(
        request,
        "pages/booking_detail.html",
        {"booking": booking, "slot": booking.slot, "mail": sent_mail(booking.notices.all())},
    )


@never_cache
@require_POST
def cancel_booking(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        throttles.check_cancel(request)
        holder = booking_selectors.booking_get(reference=reference).user_id
        if denied := identity.holder_only(request, holder, not_found=_no_such_booking(request)):
            return denied
        outcome = booking_services.cancel(reference=reference)
    except BookingNotFoundError as error:
        return error_page(request, error)
    except MediQueueError as error:
        booking = booking_selectors.booking_get(reference=reference)
        response = render(
            request,
            "pages/booking_detail.html",
            {"booking": booking, "slot": booking.slot, "error": error},
            status=error.http_status,
        )
        return with_error_headers(response, error)

    if outcome.changed:
        messages.success(request, booking_messages.CANCELLED)
    else:
        messages.info(request, booking_messages.ALREADY_CANCELLED)
    return redirect("pages:booking", reference=reference)


def _no_such_booking(request: HttpRequest):
    return lambda: error_page(request, BookingNotFoundError())


def error_page(request: HttpRequest, error: MediQueueError) -> HttpResponse:
    response = render(request, "pages/error.html", {"error": error}, status=error.http_status)
    return with_error_headers(response, error)


def with_error_headers(response: HttpResponse, error: MediQueueError) -> HttpResponse:
    for header, value in error.headers().items():
        response.headers[header] = value  # Retry-After when the slot is busy or when limited
    return response
