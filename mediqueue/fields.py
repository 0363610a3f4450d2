"""Strict DRF fields for the admin API's serializers and the OpenAPI schema.

DRF's defaults are lenient in ways a booking API should not be (``true`` is not a slot id,
``1.5`` is not a patient): these fields accept exactly what the contract promises, by
delegating to the plain rules of ``mediqueue.validation``, which the lean API views and the
pages use too.
"""

import re

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mediqueue import validation
from mediqueue.validation import MAX_DB_INTEGER, PATIENT_ID_MAX_LENGTH, TEXT_PATTERN


class StrictIntegerField(serializers.IntegerField):
    """A JSON whole number: never a string, a bool, a float or an out-of-range number."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_DB_INTEGER)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return validation.whole_number(data, min_value=self.min_value, max_value=self.max_value)
        except validation.FieldError as error:
            raise serializers.ValidationError(error.message) from error


class QueryIntegerField(StrictIntegerField):
    """A whole number in a query string: digits, no leading zeros, no "+". A minus sign is read,
    so that "-5" is told the field's range rather than that it is no whole number."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or re.fullmatch(r"0|-?[1-9][0-9]{0,18}", data) is None:
            raise serializers.ValidationError("A whole number is required.")
        return super().to_internal_value(int(data))


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "string",
                "minLength": 1,
                "maxLength": PATIENT_ID_MAX_LENGTH,
                "pattern": TEXT_PATTERN,
            },
            {"type": "integer", "minimum": 0, "maximum": MAX_DB_INTEGER},
        ]
    }
)
class PatientIdField(serializers.Field):
    """The original client sends a number or a string: both are stored as text."""

    def to_internal_value(self, data):
        try:
            return validation.patient_id(data)
        except validation.FieldError as error:
            raise serializers.ValidationError(error.message) from error

    def to_representation(self, value):
        return value


class StrictCharField(serializers.CharField):
    """Text only (DRF's CharField would turn ``5.5`` or ``true`` into a name), and clean text
    (TEXT_PATTERN, published in the schema through the validator)."""

    default_error_messages = {"invalid": "A string is required."}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        pattern = TEXT_PATTERN if not self.allow_blank else f"^({TEXT_PATTERN[1:-1]})?$"
        self.validators.append(RegexValidator(pattern, message=validation.UNCLEAN_TEXT))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
