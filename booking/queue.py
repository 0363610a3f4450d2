"""The booking queue's broker side (issue 25): tickets, the queues, publishing a request.

``POST /api/book`` with ``Prefer: respond-async`` publishes the request here and answers 202
only once RabbitMQ has confirmed it (publisher confirms): a quorum queue has then written it to
a majority of its nodes, so an accepted request survives a broker restart or the loss of a
node. ``manage.py allocate`` (booking.allocator) takes the requests in the broker's order and
decides them (booking.services.allocate).

- **Sharded by slot**: a slot's requests all go to ``mediqueue.book.<slot_id % N>``, so they
  sit in one queue, in one order. Each queue has a single active consumer
  (``x-single-active-consumer``): with an allocator on every node, one of them takes a queue at
  a time, in order, and another takes over when it dies.
- **Client**: pika, RabbitMQ's own Python client, pure Python with no dependencies. A
  ``BlockingConnection`` with ``confirm_delivery()`` makes ``basic_publish`` return only once
  the broker confirmed the message (and raise when it refused it), which is the whole contract a
  Django view needs, synchronously, without an event loop (aio-pika) or a task framework's
  abstractions over it (kombu). One connection per thread: a BlockingConnection is not
  thread-safe, and gunicorn's workers run threads.
- **Tickets** are secrets like references: 128 random bits, then an HMAC of them under the
  secret key. The HMAC lets a node tell a ticket it minted (QUEUED until decided) from a made-up
  one (404) without writing anything at accept time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import pika
import pika.exceptions
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from booking.errors import QueueUnavailableError
from slots.errors import SlotNotFoundError
from slots.models import Slot

logger = logging.getLogger(__name__)

QUEUE_PREFIX = "mediqueue.book"
QUEUE_ARGUMENTS = {"x-queue-type": "quorum", "x-single-active-consumer": True}
_TICKET_SHAPE = re.compile(r"([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{16})")
# What a broker that went away looks like to pika, on connecting or on publishing.
BROKER_ERRORS = (
    pika.exceptions.AMQPError,
    OSError,
)


def enabled() -> bool:
    return bool(settings.MEDIQUEUE_BOOKING_QUEUE_URL)


def queue_names() -> list[str]:
    return [f"{QUEUE_PREFIX}.{shard}" for shard in range(settings.MEDIQUEUE_BOOKING_QUEUE_SHARDS)]


def queue_of(slot_id: int) -> str:
    return f"{QUEUE_PREFIX}.{slot_id % settings.MEDIQUEUE_BOOKING_QUEUE_SHARDS}"


# --- tickets --------------------------------------------------------------------------------


def _signature(nonce: str) -> str:
    return salted_hmac("mediqueue.booking-ticket", nonce, algorithm="sha256").hexdigest()[:16]


def mint_ticket() -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_signature(nonce)}"


def is_genuine_ticket(ticket: str) -> bool:
    """Whether ``ticket`` was minted by this service (by any node sharing its secret key)."""
    match = _TICKET_SHAPE.fullmatch(ticket)
    return match is not None and constant_time_compare(match.group(2), _signature(match.group(1)))


# --- the request, as a message --------------------------------------------------------------


@dataclass(frozen=True)
class QueuedBooking:
    """One queued request, as the allocator reads it off the queue."""

    ticket: str
    slot_id: int
    user_id: str
    email: str
    accepted_at: datetime

    def to_message(self) -> bytes:
        return json.dumps(
            {
                "ticket": self.ticket,
                "slot_id": self.slot_id,
                "user_id": self.user_id,
                "email": self.email,
                "accepted_at": self.accepted_at.timestamp(),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_message(cls, body: bytes) -> QueuedBooking:
        """The request in ``body``; ValueError (or a KeyError, TypeError) when it is not one."""
        fields = json.loads(body)
        ticket, slot_id, user_id = fields["ticket"], fields["slot_id"], fields["user_id"]
        if not (isinstance(ticket, str) and is_genuine_ticket(ticket)):
            raise ValueError("not a ticket this service minted")
        if type(slot_id) is not int or not isinstance(user_id, str):
            raise ValueError("slot_id or user_id of the wrong type")
        return cls(
            ticket=ticket,
            slot_id=slot_id,
            user_id=user_id,
            email=str(fields.get("email") or ""),
            accepted_at=datetime.fromtimestamp(float(fields["accepted_at"]), tz=UTC),
        )


# --- connections ----------------------------------------------------------------------------


def connect(url: str | None = None) -> pika.BlockingConnection:
    """A connection to the broker. ``url`` (else the setting) may name several nodes of a
    cluster, comma-separated: each is tried in turn. A URL's query may tune it
    (``?heartbeat=30``). Fails fast: one attempt a node, a short socket timeout, so that a
    down broker is a prompt 503."""
    urls = [part.strip() for part in (url or settings.MEDIQUEUE_BOOKING_QUEUE_URL).split(",")]
    candidates = []
    for node_url in filter(None, urls):
        parameters = pika.URLParameters(node_url)
        parameters.connection_attempts = 1
        parameters.socket_timeout = min(parameters.socket_timeout or 2, 2)
        parameters.blocked_connection_timeout = 5  # a broker out of memory or disk refuses work
        candidates.append(parameters)
    return pika.BlockingConnection(candidates)


def declare_queues(channel) -> None:
    """Declare every shard (idempotent: the same arguments each time)."""
    for name in queue_names():
        channel.queue_declare(name, durable=True, arguments=QUEUE_ARGUMENTS)


class _Publisher(threading.local):
    connection: pika.BlockingConnection | None = None
    channel = None


_publisher = _Publisher()


def _publishing_channel():
    if _publisher.channel is None or not _publisher.channel.is_open:
        close_publisher()
        _publisher.connection = connect()
        channel = _publisher.connection.channel()
        channel.confirm_delivery()
        declare_queues(channel)
        _publisher.channel = channel
    return _publisher.channel


def close_publisher() -> None:
    connection, _publisher.connection, _publisher.channel = _publisher.connection, None, None
    if connection is not None and connection.is_open:
        with contextlib.suppress(BROKER_ERRORS):
            connection.close()


def publish(request: QueuedBooking) -> None:
    """Put ``request`` on its slot's queue and return once the broker confirmed it durable.

    QueueUnavailableError when it did not (down, refused, unroutable): then nothing was
    accepted. A connection found dead (the broker restarted since) is replaced once.
    """
    body = request.to_message()
    properties = pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type="application/json",
        message_id=request.ticket,
    )
    for attempt in (1, 2):
        try:
            channel = _publishing_channel()
            channel.basic_publish(
                exchange="",
                routing_key=queue_of(request.slot_id),
                body=body,
                properties=properties,
                mandatory=True,
            )
            return
        except BROKER_ERRORS as error:
            close_publisher()
            if attempt == 2:
                logger.warning("booking queue unavailable: %s", type(error).__name__)
                raise QueueUnavailableError() from error


def accept(*, slot_id: int, user_id: str, email: str = "") -> QueuedBooking:
    """Queue a booking request and return it once the broker confirmed it durable.

    A slot that does not exist is refused at once (404, a certain "no", one indexed read);
    anything else (full, started, the patient's seat) is decided by the allocator in line,
    never before: a lock-free look now could only guess. QueueUnavailableError: nothing was
    accepted.
    """
    if not Slot.objects.filter(pk=slot_id).exists():
        raise SlotNotFoundError()
    request = QueuedBooking(
        ticket=mint_ticket(),
        slot_id=slot_id,
        user_id=user_id,
        email=email,
        accepted_at=datetime.now(tz=UTC),
    )
    publish(request)
    return request
