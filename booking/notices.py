"""The patients' notices: a transactional outbox, and its delivery.

``record`` writes a Notice in the transaction of the change it tells of (a booking, a cancel, a
join, a promotion) and defers its delivery job in that same transaction: procrastinate's jobs
are rows of the same database, written through Django's connection. So either the change, its
notice and its job all commit, or none does: it is the one way a notice leaves. A job whose
worker died is retried (``booking.tasks.retry_stalled_jobs``).

Delivery is at least once: a worker killed after the SMTP server took a message but before
the notice was marked SENT sends it again, with the same Message-ID (the notice's key), which
mail clients show as one message. An address is personal data: it is never logged (the
errors recorded are scrubbed of it) and ``erase_expired_addresses`` forgets it once the
booking or entry is over and the retention has passed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from procrastinate.contrib.django import app

from booking.models import Booking, Notice, WaitlistEntry
from booking.notice_mail import compose

logger = logging.getLogger(__name__)

DELIVER_TASK = "booking.tasks.deliver_notice"


class NoticeNotSentError(Exception):
    """A delivery failed (to be retried); its message never carries the patient's address."""


def record(
    kind: str,
    *,
    recipient: str,
    booking: Booking | None = None,
    waitlist_entry: WaitlistEntry | None = None,
) -> Notice:
    """Write a notice and defer its delivery, both in the current transaction."""
    notice = Notice.objects.create(
        kind=kind, recipient=recipient, booking=booking, waitlist_entry=waitlist_entry
    )
    # A new notice has no job yet: no savepoint needed (this runs under the slot's lock).
    _delivery(notice.pk).defer(notice_id=notice.pk)
    return notice


def _delivery(notice_id: int):
    """The delivery task of one notice: one lock per notice, so that two workers never send it
    at once, and one queued job at most (its queueing lock)."""
    lock = _lock(notice_id)
    return app.configure_task(DELIVER_TASK, lock=lock, queueing_lock=lock)


def _lock(notice_id: int) -> str:
    return f"notice-{notice_id}"


def deliver(notice_id: int, *, last_attempt: bool) -> None:
    """Send one notice, once it is not SENT already; record the outcome. A failure is raised
    again for the task to be retried, and marks the notice FAILED on the ``last_attempt``."""
    notice = (
        Notice.objects.select_related(
            "booking__slot__doctor", "waitlist_entry__slot__doctor", "waitlist_entry__booking"
        )
        .filter(pk=notice_id)
        .first()
    )
    if notice is None or notice.status != Notice.Status.PENDING or not notice.recipient:
        return
    try:
        compose(notice).send()
    except Exception as error:
        scrubbed = _scrubbed(error, notice.recipient)
        Notice.objects.filter(pk=notice_id).update(
            attempts=F("attempts") + 1,
            last_error=scrubbed,
            status=Notice.Status.FAILED if last_attempt else Notice.Status.PENDING,
        )
        # The worker logs a failed job's exception: only this scrubbed one, without its cause.
        raise NoticeNotSentError(scrubbed) from None
    Notice.objects.filter(pk=notice_id).update(
        status=Notice.Status.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1
    )
    logger.info("notice sent", extra={"notice_id": notice_id, "kind": notice.kind})


def _scrubbed(error: Exception, recipient: str) -> str:
    """The error as staff may read it, without the patient's address (SMTP errors quote it)."""
    return f"{type(error).__name__}: {error}".replace(recipient, "<recipient>")[:1000]


def erase_expired_addresses(*, now=None) -> int:
    """Forget the addresses of bookings and entries over for longer than the retention: a
    booking once cancelled or its slot started, an entry once it stopped waiting."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MEDIQUEUE_EMAIL_RETENTION_DAYS)
    over_booking = Q(cancelled_at__lt=cutoff) | Q(slot__start_time__lt=cutoff)
    over_entry = Q(closed_at__lt=cutoff) | Q(slot__start_time__lt=cutoff)
    erased = Booking.objects.exclude(email="").filter(over_booking).update(email="")
    erased += WaitlistEntry.objects.exclude(email="").filter(over_entry).update(email="")
    Notice.objects.exclude(recipient="").exclude(status=Notice.Status.PENDING).filter(
        Q(booking__email="", booking__isnull=False)
        | Q(waitlist_entry__email="", waitlist_entry__isnull=False)
    ).update(recipient="")
    return erased
