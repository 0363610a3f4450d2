"""Strict request fields shared by the API serializers.

DRF's defaults are lenient in ways a booking API should not be (``true`` is not a slot id,
``1.5`` is not a patient): these fields accept exactly what the contract promises.
"""

import re

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_DB_INTEGER = 2**63 - 1


# Text a person could have typed: no control characters, no lone surrogates (PostgreSQL cannot
# store either), and no leading or trailing whitespace. The same expression is published in the
# OpenAPI schema, so what the schema calls valid and what the API accepts cannot drift apart.
_TEXT_CHAR = r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_TEXT_EDGE = r"[^\s\x00-\x1f\x7f-\x9f\ud800-\udfff]"
TEXT_PATTERN = rf"^{_TEXT_EDGE}({_TEXT_CHAR}*{_TEXT_EDGE})?$"
_TEXT = re.compile(TEXT_PATTERN)


def is_clean_text(value: str) -> bool:
    return _TEXT.fullmatch(value) is not None


class StrictIntegerField(serializers.IntegerField):
    """A JSON whole number: never a string, a bool, a float or an out-of-range number."""

    default_error_messages = {"invalid": "A whole number is required."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_DB_INTEGER)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryIntegerField(StrictIntegerField):
    """A whole number in a query string: digits only, no sign, no leading zeros."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or re.fullmatch(r"0|[1-9][0-9]{0,18}", data) is None:
            self.fail("invalid")
        return super().to_internal_value(int(data))


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "minLength": 1, "maxLength": 64, "pattern": TEXT_PATTERN},
            {"type": "integer", "minimum": 0, "maximum": MAX_DB_INTEGER},
        ]
    }
)
class PatientIdField(serializers.Field):
    """The original client sends a number or a string: both are stored as text."""

    default_error_messages = {
        "invalid": "Must be a string or a whole number.",
        "blank": "Must not be empty.",
        "max_length": "Must be at most {max_length} characters.",
        "unclean": "Must not start or end with spaces nor contain control characters.",
        "range": "A numeric userId must be between 0 and 2^63-1.",
    }
    max_length = 64

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, int):
            if not 0 <= data <= MAX_DB_INTEGER:
                self.fail("range")
            return str(data)
        if not data:
            self.fail("blank")
        if len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        if not is_clean_text(data):
            self.fail("unclean")
        return data

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
        self.validators.append(
            RegexValidator(
                pattern,
                message="Must not start or end with spaces nor contain control characters.",
            )
        )

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
