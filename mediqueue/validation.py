"""What a client may send, as plain functions: one copy of each rule.

The DRF fields that parse every API request and describe it in the OpenAPI schema
(``mediqueue.fields``) and the pages' forms delegate to them, so the schema, the API and the
pages accept exactly the same input.
"""

from __future__ import annotations

import re
from typing import Any

from mediqueue import patient_ids

MAX_DB_INTEGER = 2**63 - 1
PATIENT_ID_MAX_LENGTH = 64

# Text a person could have typed: no control characters, no lone surrogates (PostgreSQL cannot
# store either), and no leading or trailing whitespace. The same expression is published in the
# OpenAPI schema, so what the schema calls valid and what the API accepts cannot drift apart.
_TEXT_CHAR = r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_TEXT_EDGE = r"[^\s\x00-\x1f\x7f-\x9f\ud800-\udfff]"
TEXT_PATTERN = rf"^{_TEXT_EDGE}({_TEXT_CHAR}*{_TEXT_EDGE})?$"
_TEXT = re.compile(TEXT_PATTERN)

UNCLEAN_TEXT = "Must not start or end with spaces nor contain control characters."


class FieldError(ValueError):
    """One field's value breaks its rule; ``message`` says how, for the client."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def is_clean_text(value: str) -> bool:
    return _TEXT.fullmatch(value) is not None


def patient_id(value: Any) -> str:
    """A patient: the original client sends a number or a string; both are kept as text."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError("Must be a string or a whole number.")
    if isinstance(value, int):
        if not 0 <= value <= MAX_DB_INTEGER:
            raise FieldError("A numeric userId must be between 0 and 2^63-1.")
        return str(value)
    value = patient_ids.normalised(value)  # one spelling per look (mediqueue.patient_ids)
    if not value:
        raise FieldError("Must not be empty.")
    if len(value) > PATIENT_ID_MAX_LENGTH:
        raise FieldError(f"Must be at most {PATIENT_ID_MAX_LENGTH} characters.")
    if not is_clean_text(value):
        raise FieldError(UNCLEAN_TEXT)
    if problem := patient_ids.spelling_problem(value):
        raise FieldError(problem)
    return value


EMAIL_MAX_LENGTH = 254


def whole_number(value: Any, *, min_value: int = 1, max_value: int = MAX_DB_INTEGER) -> int:
    """A JSON whole number: never a string, a bool, a float, or out of range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("A whole number is required.")
    if value < min_value:
        raise FieldError(f"Ensure this value is greater than or equal to {min_value}.")
    if value > max_value:
        raise FieldError(f"Ensure this value is less than or equal to {max_value}.")
    return value
