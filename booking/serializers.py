from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from booking.models import Booking, WaitlistEntry
from mediqueue.fields import PatientIdField, StrictIntegerField
from slots.models import Slot
from slots.representation import slot_representation, utc_iso
from slots.serializers import SlotOutputSerializer

if TYPE_CHECKING:
    from booking.services import Booked
    from booking.waitlist import Waiting


class BookInputSerializer(serializers.Serializer):
    userId = PatientIdField(
        help_text="The patient: a string or a whole number, at most 64 characters."
    )
    slotId = StrictIntegerField()
    email = serializers.EmailField(
        required=False,
        max_length=254,
        help_text="Where to send the confirmation (with a calendar file) and later notices.",
    )


class BookingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Booking
        fields = ["reference", "slot_id", "user_id", "status", "created_at", "cancelled_at"]


class BookingAnswerSerializer(serializers.Serializer):
    """Every answer of the booking endpoints: status, a human message, the booking and its slot."""

    status = serializers.CharField()
    message = serializers.CharField()
    booking = BookingSerializer()
    slot = SlotOutputSerializer()


def booking_json(
    *, reference: str, slot_id: int, user_id: str, status: str, created_at, cancelled_at=None
) -> dict:
    return {
        "reference": reference,
        "slot_id": slot_id,
        "user_id": user_id,
        "status": status,
        "created_at": utc_iso(created_at),
        "cancelled_at": utc_iso(cancelled_at),
    }


def booking_answer(*, message: str, booking: Booking, slot: Slot) -> dict:
    """The body of every answer of the booking endpoints (BookingAnswerSerializer's shape)."""
    return answer_json(
        message=message, booking=booking_json_of(booking), slot=slot_representation(slot)
    )


def booking_json_of(booking: Booking) -> dict:
    return booking_json(
        reference=booking.reference,
        slot_id=booking.slot_id,
        user_id=booking.user_id,
        status=booking.status,
        created_at=booking.created_at,
        cancelled_at=booking.cancelled_at,
    )


def booked_answer(*, message: str, booked: Booked) -> dict:
    """booking_answer for a booking just made, from the booking statement's plain values."""
    return answer_json(
        message=message,
        booking=booking_json(
            reference=booked.reference,
            slot_id=booked.slot_id,
            user_id=booked.user_id,
            status=Booking.Status.CONFIRMED,
            created_at=booked.seat.booked_at,
        ),
        slot=booked.seat.slot_json(booked.slot_id),
    )


def answer_json(*, message: str, booking: dict, slot: dict) -> dict:
    return {"status": booking["status"], "message": message, "booking": booking, "slot": slot}


# --- The waiting list -------------------------------------------------------------------


class WaitlistJoinInputSerializer(serializers.Serializer):
    userId = PatientIdField(
        help_text="The patient: a string or a whole number, at most 64 characters."
    )
    email = serializers.EmailField(
        required=False,
        max_length=254,
        help_text="Where to send the waiting-list confirmation and, once promoted, the booking.",
    )


class WaitlistEntrySerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="The only key to the entry: keep it secret.")
    slot_id = serializers.IntegerField()
    user_id = serializers.CharField()
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices)
    position = serializers.IntegerField(
        allow_null=True, help_text="1 is next in line; null unless WAITING."
    )
    created_at = serializers.DateTimeField()


class WaitlistAnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices)
    message = serializers.CharField()
    entry = WaitlistEntrySerializer()
    slot = SlotOutputSerializer()
    booking = BookingSerializer(required=False, help_text="The seat it got, once BOOKED.")


def waiting_answer(*, message: str, waiting: Waiting) -> dict:
    """The body of every answer of the waiting-list endpoints."""
    entry = waiting.entry
    body = {
        "status": waiting.status,
        "message": message,
        "entry": {
            "reference": entry.reference,
            "slot_id": entry.slot_id,
            "user_id": entry.user_id,
            "status": waiting.status,
            "position": waiting.position,
            "created_at": utc_iso(entry.created_at),
        },
        "slot": slot_representation(entry.slot),
    }
    if entry.booking is not None:
        body["booking"] = booking_json_of(entry.booking)
    return body
