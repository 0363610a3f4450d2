import re
import secrets

from django.db import models
from django.db.models import Q


def new_booking_reference() -> str:
    """128 random bits, URL-safe: a reference is the only key to a booking, so it must not be
    guessable."""
    return secrets.token_urlsafe(16)


_REFERENCE_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,32}")


def is_well_formed_reference(value: str) -> bool:
    """Whether ``value`` could be a reference we issued; anything else is not looked up."""
    return _REFERENCE_SHAPE.fullmatch(value) is not None


class Booking(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "CONFIRMED", "Confirmed"
        CANCELLED = "CANCELLED", "Cancelled"

    reference = models.CharField(
        max_length=32, unique=True, default=new_booking_reference, editable=False
    )
    slot = models.ForeignKey("slots.Slot", on_delete=models.PROTECT, related_name="bookings")
    user_id = models.CharField(max_length=64)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.CONFIRMED)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Where the patient's notices go, when they gave an address: personal data, erased once the
    # booking is over and the retention has passed (booking.notices.erase_expired_addresses).
    # A database default, so that the booking statement need not name it when there is none.
    email = models.EmailField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "user_id"],
                condition=Q(status="CONFIRMED"),
                name="booking_one_confirmed_per_patient_slot",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["CONFIRMED", "CANCELLED"]), name="booking_status_valid"
            ),
        ]

    def __str__(self) -> str:
        # The reference is the key to the booking: only its start, here and so in the admin's
        # lists, checkboxes and log of changes.
        return f"{self.reference[:8]}… ({self.get_status_display()})"


class IdempotencyRecord(models.Model):
    """The stored answer to the first request that carried an ``Idempotency-Key``.

    Committed in the same transaction as the booking or cancel it answered, so a retry can
    never find the one without the other.
    """

    # Whose key it is: a digest of the endpoint and the patient (book) or the booking (cancel),
    # so that one client's key never collides with, nor can be squatted by, another's.
    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    # Text, not jsonb: a replay must repeat the first answer byte for byte, key order included.
    response_body = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_per_scope")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.response_status}"


class WaitlistEntry(models.Model):
    """A patient waiting for a seat of a full slot. Join order is the id's order: ids are drawn
    under the slot's lock (booking.waitlist), so they follow the order in which joins held it.
    """

    class Status(models.TextChoices):
        WAITING = "WAITING", "Waiting"
        BOOKED = "BOOKED", "Booked"  # promoted: ``booking`` is the seat it got
        LEFT = "LEFT", "Left"
        EXPIRED = "EXPIRED", "Expired"  # the slot started while the patient was waiting
        # Its turn came while its patient held a seat of the slot (open mode lets anyone join
        # in anyone's name, so holding is decided then, not at the join: booking.waitlist).
        PASSED = "PASSED", "Passed over"

    reference = models.CharField(
        max_length=32, unique=True, default=new_booking_reference, editable=False
    )
    slot = models.ForeignKey(
        "slots.Slot", on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    user_id = models.CharField(max_length=64)
    email = models.EmailField(blank=True, default="")
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the entry stopped waiting, by the database's clock read under the slot's lock: the
    # order of these times is the order of the changes, which invariant I4 relies on.
    closed_at = models.DateTimeField(null=True, blank=True)
    booking = models.OneToOneField(
        Booking,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_entry",
    )

    class Meta:
        ordering = ["slot_id", "id"]
        verbose_name_plural = "waiting list entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["WAITING", "BOOKED", "LEFT", "EXPIRED", "PASSED"]),
                name="waitlist_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="BOOKED", booking__isnull=False)
                | (~Q(status="BOOKED") & Q(booking__isnull=True)),
                name="waitlist_booked_has_booking",
            ),
        ]
        indexes = [
            # The queue itself: a slot's waiting entries in join order.
            models.Index(
                fields=["slot", "id"], condition=Q(status="WAITING"), name="waitlist_queue"
            )
        ]

    def __str__(self) -> str:
        return f"waiting list entry {self.pk} ({self.status})"


class Notice(models.Model):
    """The transactional outbox: a notice to a patient, written in the same transaction as the
    change it tells of, and sent by the worker (booking.tasks) afterwards, at least once. Its
    ``key`` is the Message-ID's, so a notice sent twice (a worker killed between sending and
    recording it) is the same message twice, which mail clients show once."""

    class Kind(models.TextChoices):
        BOOKING_CONFIRMED = "booking_confirmed", "Booking confirmed"
        BOOKING_CANCELLED = "booking_cancelled", "Booking cancelled"
        WAITLIST_JOINED = "waitlist_joined", "Joined the waiting list"
        WAITLIST_PROMOTED = "waitlist_promoted", "Promoted from the waiting list"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SENT = "SENT", "Sent"
        FAILED = "FAILED", "Failed"  # every retry failed; ``last_error`` says why

    key = models.CharField(max_length=32, unique=True, default=new_booking_reference)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    recipient = models.EmailField(blank=True)  # erased with the booking's or entry's address
    booking = models.ForeignKey(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    waitlist_entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status="PENDING"), name="notice_pending"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(booking__isnull=False) | Q(waitlist_entry__isnull=False),
                name="notice_is_about_something",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"


class BookingRequest(models.Model):
    """The outcome of a queued booking (``Prefer: respond-async``, booking.queue), written by
    the allocator under the slot's row lock, in the broker's order.

    A row exists only once the request is decided: until then the request is a message in
    RabbitMQ, and its ticket answers QUEUED. Writing the row at accept time would cost every
    request of a crowd a database write before its 202, the very load the queue takes off the
    database; the allocator writes a batch's rows in one statement instead. The id is the
    order of record: ids are drawn under the slot's lock, in the order the broker delivered
    the requests, so for each slot they follow the order of arrival (the FIFO verdict reads
    them). ``ticket`` is unique: a request delivered again finds its outcome and changes
    nothing.
    """

    class Status(models.TextChoices):
        CONFIRMED = "CONFIRMED", "Confirmed"
        FAILED = "FAILED", "Failed"  # ``reason`` is the code the direct path would answer

    ticket = models.CharField(max_length=64, unique=True)
    # Null only for a slot deleted while its requests waited (reason slot_not_found).
    slot = models.ForeignKey(
        "slots.Slot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="booking_requests",
    )
    user_id = models.CharField(max_length=64)
    status = models.CharField(max_length=9, choices=Status.choices)
    reason = models.CharField(max_length=32, blank=True, default="")
    booking = models.OneToOneField(
        Booking,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="booking_request",
    )
    # When the 202 left (the app node's clock) and when the allocator decided (the database's
    # clock, read under the lock): the time in line.
    accepted_at = models.DateTimeField()
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="CONFIRMED", booking__isnull=False, reason="")
                | Q(status="FAILED", booking__isnull=True) & ~Q(reason=""),
                name="booking_request_outcome_valid",
            ),
        ]
        indexes = [models.Index(fields=["slot", "id"], name="booking_request_order")]

    def __str__(self) -> str:
        # The ticket is the key to the outcome (and so to the booking): only its start.
        return f"queued request {self.ticket[:8]}… ({self.status})"
