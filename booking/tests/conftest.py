"""Helpers shared by the booking tests."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

# Threads that book at once: each has its own connection, so this stays well under
# PostgreSQL's default max_connections (100).
CONCURRENCY = 40


@pytest.fixture(scope="session")
def run_together():
    """``run_together(jobs, threads=CONCURRENCY)``: run callables on ``threads`` threads
    released together by a barrier; return what each returned, or the exception it raised."""

    def run(jobs: list, threads: int = CONCURRENCY) -> list:
        threads = min(threads, len(jobs))
        barrier = threading.Barrier(threads)
        chunks = [jobs[i::threads] for i in range(threads)]

        def worker(chunk):
            results = []
            try:
                barrier.wait(timeout=30)
                for job in chunk:
                    try:
                        results.append(job())
                    except Exception as error:  # the outcome under test, kept for asserting
                        results.append(error)
            finally:
                connection.close()
            return results

        with ThreadPoolExecutor(max_workers=threads) as pool:
            return [result for chunk in pool.map(worker, chunks) for result in chunk]

    return run


@pytest.fixture
def make_full_slot(make_slot):
    """``make_full_slot(seats=1)``: a slot whose every seat is booked, by holder-0, holder-1, …;
    returns the slot (counts current) and the holders' booking references, in that order."""
    from booking import services

    def make(seats: int = 1, **slot_options):
        slot = make_slot(seats=seats, **slot_options)
        references = [
            services.book(slot_id=slot.pk, user_id=f"holder-{n}").reference for n in range(seats)
        ]
        slot.refresh_from_db()
        return slot, references

    return make


class _Mailbox:
    """What a real SMTP server (aiosmtpd) on 127.0.0.1 received, parsed; ``stop()`` and
    ``start()`` it to play an outage. ``reply_after`` holds its answer to a message back, the
    message already received, as a slow server or a lost connection would."""

    def __init__(self, port: int):
        self.port = port
        self.messages = []
        self.received = threading.Event()
        self.reply_after = 0.0
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        import email

        self.messages.append(email.message_from_bytes(envelope.content))
        self.received.set()
        if self.reply_after:
            await asyncio.sleep(self.reply_after)
        return "250 Message accepted for delivery"

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture
def smtp_server(settings):
    """A running SMTP server that Django's mail goes to (its outbox, ``.messages``)."""
    from loadtests.harness import free_port

    mailbox = _Mailbox(free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mailbox.port
    settings.EMAIL_TIMEOUT = 5
    mailbox.start()
    yield mailbox
    if mailbox.controller is not None and mailbox.controller._thread is not None:
        mailbox.stop()


@pytest.fixture
def run_worker(transactional_db, monkeypatch):
    """``run_worker()``: a procrastinate worker on the test database, in this process, until
    it has run every job that is due (time moves on for retries with ``make_jobs_due``).
    Without the periodic tasks: their deferrer holds a connection of Django's on a thread of
    its own that would outlive the test's database (the subprocess test runs them)."""
    from procrastinate.contrib.django import app

    def run():
        worker_app = app.with_connector(app.connector.get_worker_connector())
        monkeypatch.setattr(worker_app.periodic_registry, "periodic_tasks", {})
        worker_app.run_worker(
            queues=["notices"], wait=False, install_signal_handlers=False, listen_notify=False
        )

    return run


@pytest.fixture
def make_jobs_due(transactional_db):
    """Make every queued job due now, as if its backoff had passed."""

    def due():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'"
            )

    return due
