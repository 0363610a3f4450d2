from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from booking.models import Booking
from mediqueue.fields import PatientIdField, StrictIntegerField
from slots.models import Slot
from slots.representation import slot_representation, utc_iso
from slots.serializers import SlotOutputSerializer

if TYPE_CHECKING:
    from booking.services import Booked


class BookInputSerializer(serializers.Serializer):
    userId = PatientIdField(
        help_text="The patient: a string or a whole number, at most 64 characters."
    )
    slotId = StrictIntegerField()


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
        message=message,
        booking=booking_json(
            reference=booking.reference,
            slot_id=booking.slot_id,
            user_id=booking.user_id,
            status=booking.status,
            created_at=booking.created_at,
            cancelled_at=booking.cancelled_at,
        ),
        slot=slot_representation(slot),
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
