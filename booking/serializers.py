from rest_framework import serializers

from booking.models import Booking
from mediqueue.fields import PatientIdField, StrictIntegerField
from slots.models import Slot
from slots.representation import slot_representation, utc_iso
from slots.serializers import SlotOutputSerializer


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


def booking_representation(booking: Booking) -> dict:
    return {
        "reference": booking.reference,
        "slot_id": booking.slot_id,
        "user_id": booking.user_id,
        "status": booking.status,
        "created_at": utc_iso(booking.created_at),
        "cancelled_at": utc_iso(booking.cancelled_at),
    }


def booking_answer(*, message: str, booking: Booking, slot: Slot) -> dict:
    """The body of every answer of the booking endpoints (BookingAnswerSerializer's shape)."""
    return {
        "status": booking.status,
        "message": message,
        "booking": booking_representation(booking),
        "slot": slot_representation(slot),
    }
