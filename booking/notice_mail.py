"""What a notice says: its subject, its text and, for a seat, a calendar file (.ics).

The booking reference is written only into the patient's own notice of that booking (a
confirmation or a promotion); the Message-ID is the notice's key, so a notice sent twice is
one message to a mail client.

What staff typed (a doctor's name) is written as text, never as structure: control characters
become spaces in the mail's body, and the calendar file is written by icalendar, which escapes
line breaks, commas and semicolons and folds long lines as RFC 5545 asks. The admin refuses such
characters where they are typed; this holds for anything already in the database as well.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from icalendar import Calendar, Event

from booking.models import Booking, Notice, WaitlistEntry
from slots.models import Slot

SUBJECTS = {
    Notice.Kind.BOOKING_CONFIRMED: "Your appointment is booked",
    Notice.Kind.BOOKING_CANCELLED: "Your appointment is cancelled",
    Notice.Kind.WAITLIST_JOINED: "You are on the waiting list",
    Notice.Kind.WAITLIST_PROMOTED: "A seat was freed for you: your appointment is booked",
}


def message_id(notice: Notice) -> str:
    return f"<notice-{notice.key}@mediqueue>"


def compose(notice: Notice) -> EmailMessage:
    booking, entry = notice.booking, notice.waitlist_entry
    slot = booking.slot if booking is not None else entry.slot
    message = EmailMessage(
        subject=SUBJECTS[notice.kind],
        body=_body(notice, slot=slot, booking=booking, entry=entry),
        to=[notice.recipient],
        headers={"Message-ID": message_id(notice)},
    )
    if notice.kind in (Notice.Kind.BOOKING_CONFIRMED, Notice.Kind.WAITLIST_PROMOTED):
        message.attach("appointment.ics", calendar_file(slot, booking), "text/calendar")
    return message


# Control characters (line breaks included) and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """``text`` as one line of plain text: nothing it holds can start a line of its own."""
    return _CONTROL.sub(" ", text)


def _when(slot: Slot) -> str:
    start = timezone.localtime(slot.start_time)
    doctor = one_line(slot.doctor.name)
    return f"{doctor}, {start:%A %d %B %Y at %H:%M} ({slot.duration_minutes} minutes)"


def _booking_lines(booking: Booking) -> list[str]:
    link = _public_url(f"/bookings/{booking.reference}")
    return [
        f"Your booking reference: {booking.reference}",
        "Keep it: it is the only key to your booking.",
        f"To see or cancel it: {link}",
    ]


def _body(
    notice: Notice, *, slot: Slot, booking: Booking | None, entry: WaitlistEntry | None
) -> str:
    kind = notice.kind
    if kind == Notice.Kind.BOOKING_CONFIRMED:
        lines = ["Your appointment is booked:", _when(slot), "", *_booking_lines(booking)]
    elif kind == Notice.Kind.WAITLIST_PROMOTED:
        lines = [
            "A seat was freed and it is yours: your appointment is booked.",
            _when(slot),
            "",
            *_booking_lines(booking),
        ]
    elif kind == Notice.Kind.BOOKING_CANCELLED:
        lines = ["Your appointment was cancelled and its seat given up:", _when(slot)]
    else:
        lines = [
            "You are on the waiting list for this full appointment:",
            _when(slot),
            "",
            "A freed seat goes to the earliest patient waiting; when that is you, you are "
            "booked at once and we write again with your booking reference.",
            f"Your waiting list reference: {entry.reference}",
            f"To see your place or leave the list: {_public_url(f'/waitlist/{entry.reference}')}",
        ]
    return "\n".join([*lines, "", "MediQueue"]) + "\n"


def _public_url(path: str) -> str:
    return settings.MEDIQUEUE_PUBLIC_URL.rstrip("/") + path


def calendar_file(slot: Slot, booking: Booking) -> str:
    """One event (RFC 5545), with the booking's id in its UID so that a calendar that gets it
    twice keeps one event."""
    event = Event()
    event.add("uid", f"booking-{booking.pk}@mediqueue")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", slot.start_time)
    event.add("dtend", slot.start_time + timedelta(minutes=slot.duration_minutes))
    # Line breaks are kept, escaped as text ("\\n"); other control characters are not text
    # RFC 5545 allows at all.
    summary = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", " ", slot.doctor.name)
    event.add("summary", f"Appointment with {summary}")
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", "-//MediQueue//Appointments//EN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    return calendar.to_ical().decode()
