"""The redaction of references in log lines (mediqueue.redaction), however a path was written."""

import logging

import pytest

from mediqueue.redaction import RedactReferences, redact

REFERENCE = "AbCdEfGhIjKlMnOpQrStUv"  # 22 URL-safe characters, the shape of every reference


@pytest.mark.parametrize(
    "text",
    [
        f"Forbidden (CSRF cookie not set.): /bookings/{REFERENCE}/cancel",
        f"POST /%62ookings/{REFERENCE}/cancel HTTP/1.1",
        f"GET /bookings%2f{REFERENCE} HTTP/1.1",
        f"GET /bookings/{''.join(f'%{ord(c):02x}' for c in REFERENCE)} HTTP/1.1",
        f"GET /api/waitlist/{REFERENCE}?x=1",
        f"<WSGIRequest: POST '/api/bookings/{REFERENCE}/cancel'>",
    ],
)
def test_redaction_finds_a_reference_however_the_path_was_written(text):
    assert REFERENCE not in redact(text)
    assert REFERENCE.lower() not in redact(text).lower()
    assert "[reference]" in redact(text)


def test_other_words_and_ids_are_left_alone():
    text = "booking_confirmed booking_id=12 user_id=patient-42 request_id=" + "a" * 32
    assert redact(text) == text


def test_the_filter_redacts_the_message_its_arguments_and_the_request_extra():
    record = logging.makeLogRecord(
        {
            "msg": "%s: %s",
            "args": ("Service Unavailable", f"/api/bookings/{REFERENCE}/cancel"),
            "request": f"<WSGIRequest: POST '/api/bookings/{REFERENCE}/cancel'>",
        }
    )

    RedactReferences().filter(record)

    assert REFERENCE not in record.getMessage()
    assert REFERENCE not in str(record.request)
