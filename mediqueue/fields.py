"""Strict request fields shared by the API serializers.

DRF's defaults are lenient in ways a booking API should not be (``true`` is not a slot id,
``1.5`` is not a patient): these fields accept exactly what the contract promises.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_DB_INTEGER = 2**63 - 1


class StrictIntegerField(serializers.IntegerField):
    """An integer or a string of digits; never a bool, a float or an out-of-range number."""

    default_error_messages = {"invalid": "A whole number is required."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_DB_INTEGER)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool | float):
            self.fail("invalid")
        if isinstance(data, str) and not data.strip().isdigit():
            self.fail("invalid")
        if not isinstance(data, int | str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 64}, {"type": "integer"}]}
)
class PatientIdField(serializers.Field):
    """The original client sends a number or a string: both are stored as text."""

    default_error_messages = {
        "invalid": "Must be a string or a whole number.",
        "blank": "Must not be empty.",
        "max_length": "Must be at most {max_length} characters.",
    }
    max_length = 64

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        value = str(data).strip()
        if not value:
            self.fail("blank")
        if len(value) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        if not value.isprintable():
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return value


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField would turn ``5.5`` or ``true`` into a name."""

    default_error_messages = {"invalid": "A string is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
