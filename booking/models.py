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
        return f"{self.reference} ({self.status})"


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
