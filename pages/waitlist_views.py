"""The waiting list's pages: join a full slot's list, and the entry's page (its place in the
line, then the booking it got)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking import messages as booking_messages
from booking import throttles, waitlist
from booking.errors import SeatsAvailableError, SlotClosedError, WaitlistEntryNotFoundError
from mediqueue.errors import MediQueueError
from pages import identity
from pages.forms import BookingForm
from pages.mail import sent_mail
from pages.views import error_page, slot_form_page, slot_form_response, with_error_headers
from slots.models import Slot


@require_http_methods(["GET", "HEAD", "POST"])
def join_waitlist(request: HttpRequest, slot_id: int) -> HttpResponse:
    def join(slot: Slot, fields: dict) -> HttpResponse:
        waiting = waitlist.waitlist_join(
            slot_id=slot.pk, user_id=fields["patient"], email=fields["email"]
        )
        messages.success(request, booking_messages.WAITING)
        return redirect("pages:waitlist-entry", reference=waiting.entry.reference)

    return slot_form_page(request, slot_id, show=_join_form, act=join)


def _join_form(request, slot: Slot, form: BookingForm, error: MediQueueError | None = None):
    # The answers joining would give, for a slot seen with a free seat or started; the service
    # stays the authority for every form that is sent.
    unavailable = None
    if slot.has_started:
        unavailable = SlotClosedError()
    elif not slot.is_full:
        unavailable = SeatsAvailableError()
    return slot_form_response(
        request,
        "pages/join_waitlist.html",
        slot=slot,
        form=form,
        error=error,
        unavailable=unavailable,
    )


@never_cache  # the reference in the URL is the key to the entry
@require_safe
def waitlist_entry(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        waiting = waitlist.waitlist_entry_get(reference=reference)
    except WaitlistEntryNotFoundError as error:
        return error_page(request, error)
    if denied := identity.holder_only(request, waiting.entry.user_id, not_found=_no_such(request)):
        return denied
    return _entry_page(request, waiting)


def _no_such(request: HttpRequest):
    return lambda: error_page(request, WaitlistEntryNotFoundError())


@never_cache
@require_POST
def leave_waitlist(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        throttles.check_cancel(request)
        holder = waitlist.waitlist_entry_get(reference=reference).entry.user_id
        if denied := identity.holder_only(request, holder, not_found=_no_such(request)):
            return denied
        waitlist.waitlist_leave(reference=reference)
    except WaitlistEntryNotFoundError as error:
        return error_page(request, error)
    except MediQueueError as error:
        waiting = waitlist.waitlist_entry_get(reference=reference)
        return with_error_headers(_entry_page(request, waiting, error=error), error)
    return redirect("pages:waitlist-entry", reference=reference)


_MESSAGES = {
    waitlist.Status.WAITING: booking_messages.WAITING,
    waitlist.Status.BOOKED: booking_messages.PROMOTED,
    waitlist.Status.LEFT: booking_messages.LEFT,
    waitlist.Status.EXPIRED: booking_messages.EXPIRED,
    waitlist.Status.PASSED: booking_messages.PASSED_OVER,
}


def _entry_page(request, waiting: waitlist.Waiting, error: MediQueueError | None = None):
    entry = waiting.entry
    return render(
        request,
        "pages/waitlist_entry.html",
        {
            "entry": entry,
            "status": waiting.status,
            "position": waiting.position,
            "slot": entry.slot,
            "message": _MESSAGES[waiting.status],
            "error": error,
            "mail": sent_mail(entry.notices.all()),
        },
        status=error.http_status if error else 200,
    )
