from rest_framework import serializers

from booking.models import Booking
from mediqueue.fields import PatientIdField, StrictIntegerField
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
