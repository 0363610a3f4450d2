"""The notices, end to end: written to the outbox with the change, delivered by a procrastinate
worker to a real SMTP server (aiosmtpd), retried while it is down, each sent once."""

import pytest

from booking import notices, services, waitlist
from booking.models import Notice

pytestmark = pytest.mark.django_db(transaction=True)


def by_subject(messages) -> dict:
    return {message["Subject"]: message for message in messages}


def text_of(message) -> str:
    part = message.get_payload()[0] if message.is_multipart() else message
    return part.get_payload(decode=True).decode()


def test_each_notice_arrives_once_with_what_the_patient_needs(make_slot, smtp_server, run_worker):
    slot = make_slot(seats=1)
    held = services.book(slot_id=slot.pk, user_id="ada", email="ada@example.org")
    waiting = waitlist.waitlist_join(slot_id=slot.pk, user_id="bob", email="bob@example.org")
    services.cancel(reference=held.reference)  # Bob is promoted

    run_worker()
    run_worker()  # nothing is left to send: nothing more arrives

    mail = by_subject(smtp_server.messages)
    assert len(smtp_server.messages) == 4
    confirmed = mail["Your appointment is booked"]
    assert confirmed["To"] == "ada@example.org"
    assert held.reference in text_of(confirmed)
    assert f"/bookings/{held.reference}" in text_of(confirmed)  # the link to see or cancel it
    assert slot.doctor.name in text_of(confirmed)
    (calendar,) = [p for p in confirmed.walk() if p.get_content_type() == "text/calendar"]
    assert "BEGIN:VEVENT" in calendar.get_payload(decode=True).decode()
    cancelled = mail["Your appointment is cancelled"]
    assert cancelled["To"] == "ada@example.org"
    assert held.reference not in text_of(cancelled)
    joined = mail["You are on the waiting list"]
    assert (joined["To"], waiting.entry.reference in text_of(joined)) == ("bob@example.org", True)
    promoted = mail["A seat was freed for you: your appointment is booked"]
    bob_booking = waiting.entry.notices.get(kind=Notice.Kind.WAITLIST_PROMOTED).booking
    assert promoted["To"] == "bob@example.org"
    assert bob_booking.reference in text_of(promoted)
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 4
    assert set(Notice.objects.values_list("status", flat=True)) == {Notice.Status.SENT}


def test_with_the_smtp_server_down_notices_wait_and_arrive_once_it_is_back(
    make_slot, smtp_server, run_worker, make_jobs_due
):
    smtp_server.stop()
    slot = make_slot(seats=2)
    booked = services.book(slot_id=slot.pk, user_id="ada", email="ada@example.org")
    assert booked.booking.pk  # the booking itself never waits for mail

    run_worker()

    notice = Notice.objects.get()
    assert (notice.status, notice.attempts) == (Notice.Status.PENDING, 1)
    assert notice.last_error and "ada@example.org" not in notice.last_error
    smtp_server.start()
    run_worker()
    assert smtp_server.messages == []  # the retry waits for its backoff
    make_jobs_due()
    run_worker()

    assert [m["To"] for m in smtp_server.messages] == ["ada@example.org"]
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == (Notice.Status.SENT, 2)


def test_the_last_failed_attempt_marks_the_notice_failed_with_the_error(make_slot, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    slot = make_slot(seats=1)
    services.book(slot_id=slot.pk, user_id="ada", email="ada@example.org")
    notice = Notice.objects.get()

    with pytest.raises(notices.NoticeNotSentError) as failed:
        notices.deliver(notice.pk, last_attempt=True)

    notice.refresh_from_db()
    assert notice.status == Notice.Status.FAILED
    assert "ConnectionRefusedError" in notice.last_error
    assert failed.value.__cause__ is None and failed.value.__suppress_context__


def test_the_patient_s_address_never_reaches_the_error_nor_the_log(
    make_slot, smtp_server, run_worker, caplog
):
    async def refuse(server, session, envelope, address, rcpt_options):
        return f"550 No such user {address}"

    smtp_server.handle_RCPT = refuse
    slot = make_slot(seats=1)
    services.book(slot_id=slot.pk, user_id="ada", email="ada@example.org")

    run_worker()

    notice = Notice.objects.get()
    assert "SMTPRecipientsRefused" in notice.last_error
    assert "ada@example.org" not in notice.last_error
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # not the server's
    assert ours and not any("ada@example.org" in caplog.handler.format(r) for r in ours)


def test_addresses_are_erased_once_the_booking_is_over_and_the_retention_passed(
    make_slot, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from booking.models import Booking

    settings.MEDIQUEUE_EMAIL_RETENTION_DAYS = 30
    slot = make_slot(seats=2)
    over = services.book(slot_id=slot.pk, user_id="over", email="over@example.org")
    services.book(slot_id=slot.pk, user_id="live", email="live@example.org")
    services.cancel(reference=over.reference)
    Notice.objects.update(status=Notice.Status.SENT)

    assert notices.erase_expired_addresses() == 0  # cancelled today: kept for the retention
    erased = notices.erase_expired_addresses(now=timezone.now() + timedelta(days=31))

    assert erased == 1
    assert Booking.objects.get(user_id="over").email == ""
    assert Booking.objects.get(user_id="live").email == "live@example.org"
    assert set(
        Notice.objects.filter(booking__user_id="over").values_list("recipient", flat=True)
    ) == {""}
    assert not Notice.objects.filter(booking__user_id="live", recipient="").exists()
