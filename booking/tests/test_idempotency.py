import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from booking import services
from booking.models import Booking, IdempotencyRecord
from slots.models import Slot


@pytest.fixture
def book_with_key(post_json):
    def book_with_key(client, slot_id, user_id, key):
        return post_json(
            client, "/api/book", {"userId": user_id, "slotId": slot_id}, HTTP_IDEMPOTENCY_KEY=key
        )

    return book_with_key


@pytest.mark.django_db
class TestIdempotentBooking:
    def test_a_retry_replays_the_first_answer_and_takes_no_second_seat(
        self, api_client, make_slot, book_with_key
    ):
        slot = make_slot(seats=3)

        first = book_with_key(api_client, slot.pk, "p1", "key-1")
        again = book_with_key(api_client, slot.pk, "p1", "key-1")

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        slot.refresh_from_db()
        assert slot.booked_seats == 1
        assert IdempotencyRecord.objects.get(key="key-1").response_status == 201

    def test_a_refusal_is_an_answer_too_and_is_replayed(
        self, api_client, make_slot, assert_error, book_with_key
    ):
        slot = make_slot(seats=1)
        services.book(slot_id=slot.pk, user_id="first")

        refused = book_with_key(api_client, slot.pk, "late", "key-full")
        services.cancel(reference=Booking.objects.get().reference)  # a seat frees up
        again = book_with_key(api_client, slot.pk, "late", "key-full")

        assert_error(refused, 409, "slot_full")
        assert again.status_code == 409
        assert again.json() == refused.json()
        assert not Booking.objects.filter(user_id="late").exists()

    def test_the_same_patient_reusing_a_key_for_another_request_answers_422(
        self, api_client, make_slot, assert_error, book_with_key
    ):
        slot, other_slot = make_slot(seats=3), make_slot(seats=3)
        book_with_key(api_client, slot.pk, "p1", "key-2")

        response = book_with_key(api_client, other_slot.pk, "p1", "key-2")

        assert_error(response, 422, "idempotency_mismatch")
        assert not Booking.objects.filter(slot=other_slot).exists()

    def test_keys_belong_to_their_patient_so_another_patients_key_never_collides(
        self, api_client, make_slot, book_with_key
    ):
        slot = make_slot(seats=3)
        mine = book_with_key(api_client, slot.pk, "p1", "key-2")

        theirs = book_with_key(api_client, slot.pk, "someone-else", "key-2")

        assert mine.status_code == theirs.status_code == 201
        assert theirs.json()["booking"]["user_id"] == "someone-else"
        assert mine.json()["booking"]["reference"] != theirs.json()["booking"]["reference"]

    def test_a_key_claimed_first_by_a_stranger_does_not_deny_its_owner(
        self, api_client, make_slot, book_with_key, post_json
    ):
        slot = make_slot(seats=3)
        squatted = post_json(
            api_client,
            "/api/book",
            {"userId": "squatter", "slotId": 10**12},  # no such slot: a 404, stored
            HTTP_IDEMPOTENCY_KEY="owners-key",
        )

        owner = book_with_key(api_client, slot.pk, "owner", "owners-key")

        assert squatted.status_code == 404
        assert owner.status_code == 201
        assert owner.json()["booking"]["user_id"] == "owner"

    def test_a_key_used_to_book_is_independent_on_a_cancel(
        self, api_client, make_slot, book_with_key
    ):
        slot = make_slot(seats=3)
        booked = book_with_key(api_client, slot.pk, "p1", "key-3").json()
        reference = booked["booking"]["reference"]

        response = api_client.post(
            f"/api/bookings/{reference}/cancel", HTTP_IDEMPOTENCY_KEY="key-3"
        )

        assert response.status_code == 200
        assert Booking.objects.get(reference=reference).status == "CANCELLED"

    def test_cancel_keys_belong_to_their_booking(self, api_client, make_slot):
        slot = make_slot(seats=3)
        first = services.book(slot_id=slot.pk, user_id="a").booking.reference
        second = services.book(slot_id=slot.pk, user_id="b").booking.reference

        answers = [
            api_client.post(f"/api/bookings/{ref}/cancel", HTTP_IDEMPOTENCY_KEY="cancel-key")
            for ref in (first, second)
        ]

        assert [a.status_code for a in answers] == [200, 200]
        assert Booking.objects.filter(status="CANCELLED").count() == 2

    def test_cancel_with_a_key_replays_its_answer(self, api_client, make_slot):
        slot = make_slot(seats=3)
        reference = services.book(slot_id=slot.pk, user_id="p").booking.reference
        url = f"/api/bookings/{reference}/cancel"

        first = api_client.post(url, HTTP_IDEMPOTENCY_KEY="cancel-1")
        again = api_client.post(url, HTTP_IDEMPOTENCY_KEY="cancel-1")

        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert first.json()["message"] == "Booking cancelled; the seat is free again."

    @pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "naïve"])
    def test_a_malformed_key_answers_400_and_books_nothing(
        self, api_client, make_slot, key, assert_error, book_with_key
    ):
        slot = make_slot()

        response = book_with_key(api_client, slot.pk, "p", key)

        assert_error(response, 400, "invalid")
        assert not Booking.objects.exists()

    def test_an_expired_key_is_claimed_afresh(self, api_client, make_slot, settings, book_with_key):
        slot = make_slot(seats=3)
        book_with_key(api_client, slot.pk, "p1", "old-key")
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

        other_slot = make_slot(seats=3)

        reused = book_with_key(api_client, other_slot.pk, "p1", "old-key")

        assert reused.status_code == 201
        assert reused.json()["booking"]["slot_id"] == other_slot.pk

    def test_purge_deletes_only_expired_keys(self, api_client, make_slot, book_with_key):
        slot = make_slot(seats=3)
        book_with_key(api_client, slot.pk, "p1", "fresh")
        book_with_key(api_client, slot.pk, "p2", "stale")
        IdempotencyRecord.objects.filter(key="stale").update(
            created_at=timezone.now() - timedelta(hours=30)
        )

        call_command("purge_idempotency_keys")

        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.django_db(transaction=True)
class TestConcurrentRetries:
    def test_20_concurrent_retries_with_one_key_give_one_booking_and_identical_answers(
        self, make_slot, book_with_key, run_together
    ):
        slot = make_slot(seats=5)
        jobs = [lambda: book_with_key(APIClient(), slot.pk, "p1", "burst-key")] * 20

        responses = run_together(jobs, threads=20)

        assert Counter(r.status_code for r in responses) == {201: 20}
        assert len({r.content for r in responses}) == 1
        slot.refresh_from_db()
        assert slot.booked_seats == 1
        assert Booking.objects.count() == 1

    def test_a_retry_while_the_first_is_still_running_answers_409(
        self, make_slot, slot_lock_held_elsewhere, settings, assert_error, book_with_key
    ):
        settings.MEDIQUEUE_IDEMPOTENCY_WAIT_MS = 100
        settings.MEDIQUEUE_LOCK_TIMEOUT_MS = 5000
        slot = make_slot(seats=5)
        first_answer = {}

        def first_request():
            try:
                first_answer["response"] = book_with_key(APIClient(), slot.pk, "p1", "slow-key")
            finally:
                connection.close()

        with slot_lock_held_elsewhere(slot.pk):
            # The first request claims the key, then waits for the slot lock.
            first = threading.Thread(target=first_request)
            first.start()
            deadline = time.monotonic() + 10
            while not _a_booking_waits_for_the_slot_lock() and time.monotonic() < deadline:
                time.sleep(0.02)
            retry = book_with_key(APIClient(), slot.pk, "p1", "slow-key")
        first.join(10)

        assert_error(retry, 409, "idempotency_in_progress")
        assert first_answer["response"].status_code == 201
        assert Slot.objects.get(pk=slot.pk).booked_seats == 1


def _a_booking_waits_for_the_slot_lock() -> bool:
    """Whether some backend is blocked in the booking statement (the slot's UPDATE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query LIKE %s",
            ["%UPDATE slots_slot%"],
        )
        return cursor.fetchone()[0] > 0
