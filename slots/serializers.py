from rest_framework import serializers

from mediqueue.fields import QueryIntegerField, StrictCharField, StrictIntegerField
from slots.models import Doctor, Slot
from slots.services import MAX_SEATS_PER_SLOT, MAX_SLOT_MINUTES


class DoctorOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Doctor
        fields = ["id", "name", "specialty"]


class SlotOutputSerializer(serializers.ModelSerializer):
    doctor_id = serializers.IntegerField()
    doctor_name = serializers.CharField(source="doctor.name")
    specialty = serializers.CharField(source="doctor.specialty")
    end_time = serializers.DateTimeField()
    available_seats = serializers.IntegerField()

    class Meta:
        model = Slot
        fields = [
            "id",
            "doctor_id",
            "doctor_name",
            "specialty",
            "start_time",
            "end_time",
            "duration_minutes",
            "total_seats",
            "booked_seats",
            "available_seats",
        ]


class SlotListQuerySerializer(serializers.Serializer):
    doctor = QueryIntegerField(required=False)
    date = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
    # "from" is a Python keyword, so that field is added in get_fields() under its wire name.
    to = serializers.DateTimeField(required=False)
    available = serializers.BooleanField(required=False, default=False)
    # Every upcoming slot of a clinic by default: the original client never follows Link.
    limit = QueryIntegerField(required=False, default=1000, max_value=1000)
    offset = QueryIntegerField(required=False, default=0, min_value=0, max_value=10**9)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False)
        return fields

    def to_internal_value(self, data):
        # "?to=" is not "no upper bound": an empty filter is a client mistake worth telling.
        empty = {name: ["Must not be empty."] for name in self.fields if data.get(name) == ""}
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)

    def validate(self, attrs):
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and end <= start:
            raise serializers.ValidationError({"to": ["Must be later than 'from'."]})
        return attrs


class DoctorCreateInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    specialty = StrictCharField(max_length=100, required=False, default="", allow_blank=True)


class AwareDateTimeField(serializers.DateTimeField):
    default_error_messages = {
        "naive": "Must include a UTC offset, e.g. 2026-12-01T09:00:00+01:00.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str) and _looks_naive(value):
            self.fail("naive")
        return super().to_internal_value(value)


def _looks_naive(value: str) -> bool:
    time_part = value.partition("T")[2] or value.partition(" ")[2]
    return not (time_part.endswith("Z") or "+" in time_part or "-" in time_part)


class SlotCreateInputSerializer(serializers.Serializer):
    doctorId = StrictIntegerField()
    startTime = AwareDateTimeField()
    totalSeats = StrictIntegerField(max_value=MAX_SEATS_PER_SLOT)
    durationMinutes = StrictIntegerField(required=False, default=30, max_value=MAX_SLOT_MINUTES)
