"""The bookings of a slot or of a day as CSV, for the clinic's desk (linked from the slot's page
and the overview). Behind ``admin_site.admin_view`` (staff login) like the slots' own pages."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils import timezone

from booking import selectors
from booking.exports import write_bookings_csv
from slots import selectors as slot_selectors
from slots.errors import SlotNotFoundError


def slot_bookings_csv(model_admin, request, slot_id: int):
    _require_export_permission(model_admin, request)
    try:
        slot = slot_selectors.slot_get(slot_id=slot_id)
    except SlotNotFoundError as error:
        raise Http404(error.message) from error
    start = timezone.localtime(slot.start_time)
    return _csv_response(
        selectors.bookings_of_slot(slot_id=slot.pk),
        filename=f"bookings-slot-{slot.pk}-{start:%Y-%m-%d-%H%M}.csv",
    )


def day_bookings_csv(model_admin, request, day: str):
    _require_export_permission(model_admin, request)
    try:
        parsed = date.fromisoformat(day)
    except ValueError as error:
        raise Http404("Dates look like 2026-01-31.") from error
    if parsed.year >= 9999:  # the day's end would overflow; no booking is there anyway
        raise Http404("No bookings that far ahead.")
    return _csv_response(selectors.bookings_of_day(day=parsed), filename=f"bookings-{parsed}.csv")


def _require_export_permission(model_admin, request) -> None:
    # Bookings name patients: exporting them needs the right to see bookings, not only slots.
    if not (
        model_admin.has_view_permission(request) and request.user.has_perm("booking.view_booking")
    ):
        raise PermissionDenied


def _csv_response(bookings, *, filename: str) -> HttpResponse:
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    # A byte-order mark makes spreadsheet programs read the file as UTF-8 (names with accents).
    response.write("\ufeff")
    write_bookings_csv(bookings, response)
    return response
