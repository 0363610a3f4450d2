"""The allocator: takes queued booking requests off RabbitMQ in batches and decides them
(``manage.py allocate``; booking.queue says how requests get there).

A batch is what the broker delivered within a short gathering window, up to ``batch_size``
per queue (the prefetch). Its requests are grouped by slot, keeping the broker's order within
each slot (a slot's requests all sit in one queue, which has a single active consumer, so that
order is the order of arrival). Each slot's group is decided in one transaction under one lock
of its row (booking.services.allocate), slots in id order; the group's messages are acked only
after that transaction committed. So:

- the allocator killed before a commit: nothing of that group was recorded; the broker gives
  its unacked messages to the next consumer, in their order;
- killed after a commit, before the ack: the messages come again, their tickets already have
  outcomes, and allocate() skips them: nothing changes twice;
- the database or the lock unavailable (a failover, a lock held past the timeout): the
  connection to the broker is closed, which hands every unacked message back, and the
  allocator reconnects after a pause.

One allocator per node is safe: each queue's single active consumer is one of them at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import DatabaseError, connection

from booking import queue, services
from booking.models import BookingRequest
from mediqueue import metrics
from mediqueue.errors import MediQueueError

logger = logging.getLogger(__name__)

DEPTH_EVERY_SECONDS = 2.0
RECONNECT_PAUSE_SECONDS = 1.0


class Allocator:
    def __init__(
        self,
        *,
        url: str | None = None,
        batch_size: int = 200,
        gather_seconds: float = 0.02,
        after_commit: Callable[[list[BookingRequest]], None] | None = None,
    ) -> None:
        self.url = url
        self.batch_size = batch_size
        self.gather_seconds = gather_seconds
        # A seam for the chaos run's "killed after the commit, before the ack".
        self.after_commit = after_commit
        self.stopping = threading.Event()
        self._depth_at = 0.0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Allocate until ``stop()``; survive the broker's and the database's outages."""
        while not self.stopping.is_set():
            try:
                self._consume()
            except (*queue.BROKER_ERRORS, DatabaseError, MediQueueError) as error:
                # Closing the connection hands back every unacked message, in order.
                logger.warning("allocator interrupted, reconnecting: %s", error)
                connection.close()  # Django's: a fresh one for the next batch
                self.stopping.wait(RECONNECT_PAUSE_SECONDS)

    def _consume(self) -> None:
        broker = queue.connect(self.url)
        try:
            channel = broker.channel()
            channel.basic_qos(prefetch_count=self.batch_size)
            queue.declare_queues(channel)
            delivered: list[tuple[int, bytes]] = []

            def on_message(_channel, method, _properties, body: bytes) -> None:
                delivered.append((method.delivery_tag, body))

            for name in queue.queue_names():
                channel.basic_consume(name, on_message_callback=on_message)
            while not self.stopping.is_set():
                self._report_depth(channel)
                broker.process_data_events(time_limit=0.5)
                if not delivered:
                    continue
                deadline = time.monotonic() + self.gather_seconds
                while (
                    len(delivered) < self.batch_size and (left := deadline - time.monotonic()) > 0
                ):
                    broker.process_data_events(time_limit=left)
                batch = delivered[:]
                delivered.clear()
                self.decide(channel, batch)
        finally:
            if broker.is_open:
                broker.close()

    def decide(self, channel, batch: list[tuple[int, bytes]]) -> None:
        """Decide one batch, slot by slot, acking each slot's messages after its commit."""
        metrics.ALLOCATOR_BATCH_SIZE.observe(len(batch))
        by_slot: dict[int, list[tuple[int, queue.QueuedBooking]]] = {}
        for tag, body in batch:
            try:
                request = queue.QueuedBooking.from_message(body)
            except (ValueError, KeyError, TypeError):
                # Not a request this service made: kept out of the line for good.
                logger.error("booking queue: dropped a malformed message")
                metrics.QUEUE_OUTCOMES.labels("malformed").inc()
                channel.basic_reject(tag, requeue=False)
                continue
            by_slot.setdefault(request.slot_id, []).append((tag, request))
        for slot_id in sorted(by_slot):  # locks in id order, one at a time
            group = by_slot[slot_id]
            outcomes = services.allocate(
                slot_id=slot_id, requests=[request for _, request in group]
            )
            if self.after_commit is not None:
                self.after_commit(outcomes)
            for tag, _ in group:
                channel.basic_ack(tag)
            _count(outcomes)

    def _report_depth(self, channel) -> None:
        if time.monotonic() - self._depth_at < DEPTH_EVERY_SECONDS:
            return
        self._depth_at = time.monotonic()
        for name in queue.queue_names():
            declared = channel.queue_declare(name, passive=True)
            metrics.QUEUE_DEPTH.labels(name).set(declared.method.message_count)


def _count(outcomes: list[BookingRequest]) -> None:
    now = datetime.now(tz=UTC)
    for outcome in outcomes:
        metrics.QUEUE_OUTCOMES.labels(outcome.reason or "confirmed").inc()
        metrics.QUEUE_WAIT_SECONDS.observe(max(0.0, (now - outcome.accepted_at).total_seconds()))
