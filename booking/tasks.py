"""The worker's tasks (procrastinate; ``python manage.py procrastinate worker``), found by
procrastinate's Django app in each app's ``tasks`` module.

Each task is a thin call into a service (booking.notices, booking.waitlist): the rules are
there. Several workers (one per app node) may run side by side: a notice's delivery holds a
lock of its own, and a periodic task is deferred once per period, whichever worker does it.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import connection
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from booking import notices, waitlist


def _own_connection(task):
    """Sync tasks run on the worker's pool of threads: each closes its database connection
    when done, so none is left open behind a job (nor behind a test's database)."""

    @functools.wraps(task)
    def run(*args, **kwargs):
        try:
            return task(*args, **kwargs)
        finally:
            connection.close()

    return run


@app.task(
    name=notices.DELIVER_TASK,
    queue="notices",
    pass_context=True,
    # Waits of 2, 4, 8, … seconds: a short SMTP outage costs seconds, a long one is not hammered.
    retry=RetryStrategy(max_attempts=settings.MEDIQUEUE_NOTICE_ATTEMPTS, exponential_wait=2),
)
@_own_connection
def deliver_notice(context: JobContext, notice_id: int) -> None:
    # job.attempts counts the attempts before this one; the strategy retries while it is below
    # max_attempts, so this is the last one when it got there.
    last = context.job.attempts >= settings.MEDIQUEUE_NOTICE_ATTEMPTS
    notices.deliver(notice_id, last_attempt=last)


@app.periodic(cron="* * * * * */10")  # every ten seconds
@app.task(
    name="booking.tasks.retry_stalled_jobs",
    queue="notices",
    queueing_lock="retry_stalled_jobs",
    pass_context=True,
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """A job whose worker died (killed, its machine lost) stays "doing", and its notice's lock
    with it, until it is retried here, once its worker has missed its heartbeats."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.MEDIQUEUE_STALLED_WORKER_SECONDS
    )
    for job in stalled:
        await manager.retry_job(job)


@app.periodic(cron="* * * * *")
@app.task(name="booking.tasks.expire_started_waitlists", queueing_lock="expire")
@_own_connection
def expire_started_waitlists(timestamp: int) -> None:
    waitlist.expire_started()


@app.periodic(cron="17 * * * *")
@app.task(name="booking.tasks.erase_expired_addresses", queueing_lock="erase")
@_own_connection
def erase_expired_addresses(timestamp: int) -> None:
    notices.erase_expired_addresses()
