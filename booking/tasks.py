"""The worker's tasks (procrastinate; ``python manage.py procrastinate worker``), found by
procrastinate's Django app in each app's ``tasks`` module.

Each task is a thin call into a service (booking.notices, booking.waitlist): the rules are
there. Several workers (one per app node) may run side by side: a notice's delivery holds a
lock of its own, and the periodic tasks are deferred once per period whoever's worker does it.
"""

from __future__ import annotations

from django.conf import settings
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from booking import notices, waitlist


@app.task(
    name=notices.DELIVER_TASK,
    queue="notices",
    pass_context=True,
    # Waits of 2, 4, 8, … seconds: a short SMTP outage costs seconds, a long one is not hammered.
    retry=RetryStrategy(max_attempts=settings.MEDIQUEUE_NOTICE_ATTEMPTS, exponential_wait=2),
)
def deliver_notice(context: JobContext, notice_id: int) -> None:
    # job.attempts counts the attempts before this one; the strategy retries while it is below
    # max_attempts, so this is the last one when it got there.
    last = context.job.attempts >= settings.MEDIQUEUE_NOTICE_ATTEMPTS
    notices.deliver(notice_id, last_attempt=last)


@app.periodic(cron="* * * * *")
@app.task(name="booking.tasks.requeue_pending_notices", queue="notices", queueing_lock="requeue")
def requeue_pending_notices(timestamp: int) -> None:
    notices.requeue_pending()


@app.periodic(cron="* * * * *")
@app.task(name="booking.tasks.expire_started_waitlists", queueing_lock="expire")
def expire_started_waitlists(timestamp: int) -> None:
    waitlist.expire_started()


@app.periodic(cron="17 * * * *")
@app.task(name="booking.tasks.erase_expired_addresses", queueing_lock="erase")
def erase_expired_addresses(timestamp: int) -> None:
    notices.erase_expired_addresses()
