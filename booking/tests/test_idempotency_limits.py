"""A limit is not an answer to keep (security review 2, finding 4): a 429 or a 503 is never
stored under an Idempotency-Key, so the client's retry after the window runs afresh; and every
429 and 503 says when to retry (Retry-After)."""

import pytest
from django.db import connection

from booking.models import Booking, IdempotencyRecord


@pytest.fixture
def book_with_key(post_json):
    def book(client, slot, user_id, key, *, path="/api/book"):
        return post_json(
            client,
            path,
            {"userId": user_id, "slotId": slot.pk},
            HTTP_IDEMPOTENCY_KEY=key,
            REMOTE_ADDR="10.9.9.9",
        )

    return book


def forget_counted_requests():
    """The limit's window has passed: its counters are gone."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM mediqueue_ratelimit")


@pytest.mark.django_db
def test_a_429_is_not_stored_under_the_key_and_the_retry_after_the_window_books(
    api_client, make_slot, settings, book_with_key, assert_error
):
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "1/min"
    slot = make_slot(seats=5)
    assert book_with_key(api_client, slot, "neighbour", "k-neighbour").status_code == 201

    limited = book_with_key(api_client, slot, "patient", "k-patient")
    forget_counted_requests()
    retried = book_with_key(api_client, slot, "patient", "k-patient")

    assert_error(limited, 429, "throttled")
    assert int(limited["Retry-After"]) >= 1
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried
    assert Booking.objects.filter(user_id="patient").count() == 1
    assert IdempotencyRecord.objects.get(key="k-patient").response_status == 201


@pytest.mark.django_db
def test_a_waitlist_join_limited_with_a_key_is_not_stored_either(
    api_client, make_slot, settings, book_with_key, assert_error, book_seat
):
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "1/min"
    slot = make_slot(seats=1)
    book_seat(slot_id=slot.pk, user_id="holder")
    path = f"/api/slots/{slot.pk}/waitlist"
    assert book_with_key(api_client, slot, "w1", "k-w1", path=path).status_code == 201

    limited = book_with_key(api_client, slot, "w2", "k-w2", path=path)
    forget_counted_requests()
    retried = book_with_key(api_client, slot, "w2", "k-w2", path=path)

    assert_error(limited, 429, "throttled")
    assert int(limited["Retry-After"]) >= 1
    assert retried.status_code == 201, retried.content


@pytest.mark.django_db(transaction=True)
def test_a_busy_503_with_a_key_says_when_to_retry_and_is_not_stored(
    api_client, make_slot, settings, book_with_key, assert_error, slot_lock_held_elsewhere
):
    settings.MEDIQUEUE_LOCK_TIMEOUT_MS = 100
    slot = make_slot(seats=5)

    with slot_lock_held_elsewhere(slot.pk):
        busy = book_with_key(api_client, slot, "patient", "k-busy")
    retried = book_with_key(api_client, slot, "patient", "k-busy")

    assert_error(busy, 503, "busy")
    assert int(busy["Retry-After"]) >= 1
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
