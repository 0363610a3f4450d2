"""POST /api/book is rate-limited per client address and per patient, in a cache every gunicorn
worker shares: the database by default, Redis when REDIS_URL is set."""

import socket
from collections import Counter

import pytest

from booking.models import Booking
from booking.tests.test_api import assert_error, post_json
from mediqueue.tests.live_server import gunicorn, post_book


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.django_db
class TestLimits:
    def test_per_client_limit_answers_429_json_with_retry_after(
        self, api_client, make_slot, settings
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "3/min"
        slot = make_slot(seats=10)

        answers = [
            post_json(api_client, "/api/book", {"userId": f"p{n}", "slotId": slot.pk})
            for n in range(4)
        ]

        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert_error(answers[-1], 429, "throttled")
        assert int(answers[-1]["Retry-After"]) > 0
        assert not Booking.objects.filter(user_id="p3").exists()

    def test_a_forged_x_forwarded_for_does_not_escape_the_per_client_limit(
        self, api_client, make_slot, settings
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "2/min"
        slot = make_slot(seats=10)

        answers = [
            post_json(
                api_client,
                "/api/book",
                {"userId": f"p{n}", "slotId": slot.pk},
                HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, {'x' * 300}",
            )
            for n in range(3)
        ]

        assert [a.status_code for a in answers] == [201, 201, 429]

    def test_per_patient_limit_counts_one_patient_across_slots(
        self, api_client, make_slot, settings
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "2/min"
        slots = [make_slot(seats=5) for _ in range(3)]

        answers = [
            post_json(api_client, "/api/book", {"userId": "eager", "slotId": slot.pk})
            for slot in slots
        ]
        other_patient = post_json(
            api_client, "/api/book", {"userId": "calm", "slotId": slots[2].pk}
        )

        assert [a.status_code for a in answers] == [201, 201, 429]
        assert other_patient.status_code == 201
        assert Booking.objects.filter(user_id="eager").count() == 2

    def test_only_booking_is_limited(self, api_client, make_slot, settings):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "1/min"
        slot = make_slot()
        post_json(api_client, "/api/book", {"userId": "p", "slotId": slot.pk})

        assert api_client.get("/api/slots").status_code == 200
        assert api_client.get(f"/api/slots/{slot.pk}").status_code == 200


def _limit_holds_across_workers(slot_id: int, **env) -> Counter:
    with gunicorn(workers=3, MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT="5/min", **env) as base_url:
        return Counter(post_book(base_url, f"patient-{n}", slot_id)[0] for n in range(12))


@pytest.mark.django_db(transaction=True)
def test_the_database_cache_shares_counts_between_gunicorn_workers(make_slot):
    slot = make_slot(seats=50)

    statuses = _limit_holds_across_workers(slot.pk, REDIS_URL="")

    assert statuses == {201: 5, 429: 7}


@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_redis_shares_counts_between_gunicorn_workers(make_slot):
    import redis

    redis.Redis.from_url("redis://127.0.0.1:6379/15").flushdb()
    slot = make_slot(seats=50)

    statuses = _limit_holds_across_workers(slot.pk, REDIS_URL="redis://127.0.0.1:6379/15")

    assert statuses == {201: 5, 429: 7}
