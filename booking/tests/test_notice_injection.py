"""What the clinic types reaches patients' mail and calendar files: control characters are
refused where staff type them, and the writers escape whatever they write anyway (security
review 2, finding 8: a doctor named with CR/LF injected DESCRIPTION: and URL: lines)."""

import pytest
from django.urls import reverse

from booking import notice_mail, services
from booking.models import Notice
from slots.models import Doctor

pytestmark = pytest.mark.django_db

INJECTED = "Dr. Evil\r\nDESCRIPTION:Pay at https://evil.example\r\nURL:https://evil.example"


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", INJECTED),
        ("name", "Dr. Tab\tbed"),
        ("name", "Dr. Bell\x07"),
        ("specialty", "Psychiatry\nURL:https://evil.example"),
    ],
)
def test_the_admin_form_refuses_control_characters_in_a_doctor(admin_browser, field, value):
    form = {"name": "Dr. Fine", "specialty": "General practice", field: value}

    response = admin_browser.post(reverse("admin:slots_doctor_add"), form)

    assert response.status_code == 200  # the form again, with its error
    assert "control characters" in response.content.decode()
    assert not Doctor.objects.exists()


def test_the_admin_form_still_takes_an_ordinary_doctor(admin_browser):
    form = {"name": "Dr. Zoë O'Brien-Núñez", "specialty": "Ear, nose & throat"}

    response = admin_browser.post(reverse("admin:slots_doctor_add"), form)

    assert response.status_code == 302
    assert Doctor.objects.get().name == "Dr. Zoë O'Brien-Núñez"


def confirmation_of(slot, *, email="ada@example.org"):
    booked = services.book(slot_id=slot.pk, user_id="ada", email=email)
    notice = Notice.objects.get(booking__reference=booked.reference)
    return notice_mail.compose(notice), booked


def test_the_calendar_file_escapes_a_doctor_name_written_around_the_admin(make_slot, make_doctor):
    # Straight into the database, as a migration or an older version might have left it.
    slot = make_slot(seats=2, doctor=make_doctor(name=INJECTED))

    message, _ = confirmation_of(slot)
    (_, calendar, mimetype) = message.attachments[0]
    lines = calendar.split("\r\n")

    assert mimetype == "text/calendar"
    assert not any(line.startswith(("DESCRIPTION", "URL")) for line in lines)
    summary = next(line for line in lines if line.startswith("SUMMARY:"))
    assert "\\n" in summary  # the line breaks are escaped text, as RFC 5545 writes them
    assert all(len(line.encode()) <= 75 for line in lines)  # folded as RFC 5545 asks


def test_the_email_body_writes_a_doctor_name_on_one_line(make_slot, make_doctor):
    slot = make_slot(seats=2, doctor=make_doctor(name=INJECTED))

    message, booked = confirmation_of(slot)
    lines = message.body.splitlines()

    assert not any(line.startswith(("DESCRIPTION", "URL")) for line in lines)
    assert sum("evil.example" in line for line in lines) == 1
    link = f"/bookings/{booked.reference}"
    assert [line for line in lines if "http" in line and link in line]  # the real link stays
