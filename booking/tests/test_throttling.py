"""Rate limits on booking and cancelling, through the API and the pages alike: per client
address, and per (client address, patient). Counted in one store round trip per request, in
PostgreSQL by default or in Redis with REDIS_URL, shared by every gunicorn worker, and never
evicted while live."""

import socket
import warnings
from collections import Counter

import pytest
from django.core.cache import CacheKeyWarning
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking import services
from booking.models import Booking
from loadtests.harness import post_book
from mediqueue import ratelimit


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def book(post_json):
    def book(client, slot, user_id, address="10.0.0.1"):
        return post_json(
            client, "/api/book", {"userId": user_id, "slotId": slot.pk}, REMOTE_ADDR=address
        )

    return book


@pytest.mark.django_db
class TestLimits:
    def test_per_client_limit_answers_429_json_with_retry_after(
        self, api_client, make_slot, settings, book, assert_error
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "3/min"
        slot = make_slot(seats=10)

        answers = [book(api_client, slot, f"p{n}") for n in range(4)]

        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert_error(answers[-1], 429, "throttled")
        assert 0 < int(answers[-1]["Retry-After"]) <= 60
        assert not Booking.objects.filter(user_id="p3").exists()

    def test_a_forged_x_forwarded_for_does_not_escape_the_per_client_limit(
        self, api_client, make_slot, settings, post_json
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

    def test_behind_a_declared_proxy_each_forwarded_address_has_its_own_limit(
        self, api_client, make_slot, settings, post_json
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "1/min"
        settings.MEDIQUEUE_NUM_PROXIES = 1
        slot = make_slot(seats=10)

        def via_proxy(user_id, client_address):
            return post_json(
                api_client,
                "/api/book",
                {"userId": user_id, "slotId": slot.pk},
                HTTP_X_FORWARDED_FOR=f"203.0.113.9, {client_address}",
                REMOTE_ADDR="127.0.0.1",
            )

        answers = [
            via_proxy("a", "10.1.1.1"),
            via_proxy("b", "10.1.1.2"),
            via_proxy("c", "10.1.1.1"),
        ]

        # The proxy appends the address it saw: the last entry, not the forgeable first one.
        assert [a.status_code for a in answers] == [201, 201, 429]

    def test_per_patient_limit_counts_one_patient_from_one_address_across_slots(
        self, api_client, make_slot, settings, book
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "2/min"
        slots = [make_slot(seats=5) for _ in range(3)]

        answers = [book(api_client, slot, "eager") for slot in slots]
        other_patient = book(api_client, slots[2], "calm")

        assert [a.status_code for a in answers] == [201, 201, 429]
        assert other_patient.status_code == 201
        assert Booking.objects.filter(user_id="eager").count() == 2

    def test_nobody_can_lock_a_patient_out_from_another_address(
        self, api_client, make_slot, settings, book
    ):
        # Finding 5: 30 requests in a victim's name used to lock the victim out everywhere.
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "30/min"
        full = make_slot(seats=1)
        services.book(slot_id=full.pk, user_id="someone")
        wanted = make_slot(seats=5)

        attack = [book(api_client, full, "victim", address="198.51.100.7") for _ in range(31)]
        victim = book(api_client, wanted, "victim", address="192.0.2.20")

        assert attack[-1].status_code == 429
        assert victim.status_code == 201

    def test_counters_of_a_busy_client_survive_hundreds_of_other_clients(
        self, api_client, make_slot, settings, book
    ):
        # Finding 3: the database cache kept 300 entries and culled a third of them, so with
        # enough other patients about, a client's counter vanished and its limit with it.
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "10/min"
        slot = make_slot(seats=10_000)
        for n in range(400):
            ratelimit.hit([ratelimit.Count("per_client", f"172.16.{n // 250}.{n % 250}", "10/min")])

        answers = Counter(
            book(api_client, slot, f"patient-{n}", address="10.9.9.9").status_code
            for n in range(250)
        )

        assert answers == {201: 10, 429: 240}

    def test_cancelling_counts_against_the_client_limit_too(
        self, api_client, make_slot, settings, assert_error
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "2/min"
        slot = make_slot(seats=5)
        references = [
            services.book(slot_id=slot.pk, user_id=f"p{n}").booking.reference for n in range(3)
        ]

        answers = [
            api_client.post(f"/api/bookings/{ref}/cancel", REMOTE_ADDR="10.0.0.5")
            for ref in references
        ]

        assert [a.status_code for a in answers] == [200, 200, 429]
        assert_error(answers[-1], 429, "throttled")
        assert Booking.objects.get(reference=references[2]).status == "CONFIRMED"

    def test_reading_is_not_limited(self, api_client, make_slot, settings, book):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "1/min"
        slot = make_slot()
        book(api_client, slot, "p")

        assert api_client.get("/api/slots", REMOTE_ADDR="10.0.0.1").status_code == 200
        assert api_client.get(f"/api/slots/{slot.pk}", REMOTE_ADDR="10.0.0.1").status_code == 200

    @pytest.mark.django_db(transaction=True)  # autocommit, as in production: no savepoints
    def test_a_booking_and_every_limit_cost_one_statement(
        self, api_client, make_slot, settings, book
    ):
        # Finding 7: the cache-based limits cost 12 queries (2 write transactions, 2 COUNTs).
        # Now the booking statement counts both limits itself, in its one round trip.
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "600/min"
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "30/min"
        slot = make_slot(seats=5)

        with CaptureQueriesContext(connection) as queries:
            response = book(api_client, slot, "counted")

        assert response.status_code == 201
        statements = [q["sql"] for q in queries]
        assert len(statements) == 1, statements
        assert "INSERT INTO mediqueue_ratelimit" in statements[0]
        assert "UPDATE slots_slot" in statements[0]
        assert [hits for hits, _ in ratelimit.hit(_booking_counts("10.0.0.1", "counted"))] == [
            2,
            2,
        ]  # both counters counted once by the booking, once just now

    def test_over_the_limit_the_booking_statement_takes_no_seat(
        self, api_client, make_slot, settings, book, assert_error
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "1/min"
        first, second = make_slot(seats=5), make_slot(seats=5)

        booked = book(api_client, first, "eager")
        limited = book(api_client, second, "eager")

        assert booked.status_code == 201
        assert_error(limited, 429, "throttled")
        second.refresh_from_db()
        assert second.booked_seats == 0
        assert not Booking.objects.filter(slot=second).exists()

    def test_a_request_for_a_slot_that_does_not_exist_is_counted_too(
        self, api_client, db, settings, post_json
    ):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "2/min"

        answers = [
            post_json(api_client, "/api/book", {"userId": f"p{n}", "slotId": 10**9})
            for n in range(3)
        ]

        assert [a.status_code for a in answers] == [404, 404, 429]

    def test_any_patient_id_makes_a_valid_counter_key(self, api_client, make_slot, settings, book):
        # Finding 15: a userId with a space made a key memcached would refuse (CacheKeyWarning).
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "30/min"
        slot = make_slot(seats=5)

        with warnings.catch_warnings():
            warnings.simplefilter("error", CacheKeyWarning)
            response = book(api_client, slot, "Ada Lovelace ❤ " + "x" * 40)

        assert response.status_code == 201


@pytest.mark.django_db
class TestPagesAreLimitedLikeTheApi:
    def test_the_booking_form_answers_429_once_the_client_limit_is_spent(
        self, client, make_slot, settings
    ):
        # Finding 4: 40 posts of the form, none refused.
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "3/min"
        slot = make_slot(seats=50)
        url = reverse("pages:book", args=[slot.pk])

        answers = [client.post(url, {"patient": f"p{n}"}, REMOTE_ADDR="10.0.0.8") for n in range(4)]

        assert [a.status_code for a in answers] == [302, 302, 302, 429]
        assert "Too many requests" in answers[-1].content.decode()
        assert int(answers[-1]["Retry-After"]) > 0
        assert Booking.objects.filter(slot=slot).count() == 3

    def test_the_cancel_button_is_limited_too(self, client, make_slot, settings):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "1/min"
        slot = make_slot(seats=5)
        first, second = (
            services.book(slot_id=slot.pk, user_id=p).booking.reference for p in ("a", "b")
        )

        answers = [
            client.post(reverse("pages:cancel", args=[ref]), REMOTE_ADDR="10.0.0.9")
            for ref in (first, second)
        ]

        assert [a.status_code for a in answers] == [302, 429]
        assert Booking.objects.get(reference=second).status == "CONFIRMED"


def _booking_counts(address: str, patient: str) -> list[ratelimit.Count]:
    return [
        ratelimit.Count("per_client", address, "600/min"),
        ratelimit.Count("per_patient", f"{address}\x00{patient}", "30/min"),
    ]


def _limit_holds_across_workers(live_gunicorn, slot_id: int, **env) -> Counter:
    with live_gunicorn(workers=3, MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT="5/min", **env) as server:
        return Counter(
            post_book(server.base_url, f"patient-{n}", slot_id, address="192.0.2.1")[0]
            for n in range(12)
        )


@pytest.mark.django_db(transaction=True)
def test_the_postgresql_store_shares_counts_between_gunicorn_workers(make_slot, live_gunicorn):
    slot = make_slot(seats=50)

    statuses = _limit_holds_across_workers(live_gunicorn, slot.pk, REDIS_URL="")

    assert statuses == {201: 5, 429: 7}


@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_redis_shares_counts_between_gunicorn_workers(make_slot, live_gunicorn):
    import redis

    redis.Redis.from_url("redis://127.0.0.1:6379/15").flushdb()
    slot = make_slot(seats=50)

    statuses = _limit_holds_across_workers(
        live_gunicorn, slot.pk, REDIS_URL="redis://127.0.0.1:6379/15"
    )

    assert statuses == {201: 5, 429: 7}


@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_redis_counts_every_limit_in_one_script_and_windows_expire(settings):
    import redis

    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    counts = [
        ratelimit.Count("per_client", "10.0.0.1", "2/s"),
        ratelimit.Count("per_patient", "10.0.0.1\x00Ada Lovelace", "5/min"),
    ]

    first, second = ratelimit.hit(counts), ratelimit.hit(counts)

    assert [hits for hits, _ in first] == [1, 1]
    assert [hits for hits, _ in second] == [2, 2]
    assert 0 < second[0][1] <= 1 and 59 < second[1][1] <= 60
    with pytest.raises(ratelimit.RateLimitedError) as limited:
        ratelimit.enforce(counts)  # the third hit in the 2/s window
    assert limited.value.retry_after == 1


@pytest.mark.django_db
def test_postgresql_counts_restart_when_the_window_has_ended_and_old_ones_are_purged(monkeypatch):
    count = ratelimit.Count("per_client", "10.0.0.1", "2/min")
    ratelimit.hit([count])
    assert ratelimit.hit([count])[0][0] == 2
    with connection.cursor() as cursor:
        cursor.execute("UPDATE mediqueue_ratelimit SET window_ends_at = now() - interval '1s'")
        cursor.execute(
            "INSERT INTO mediqueue_ratelimit VALUES ('rl:stale', now() - interval '1h', 9)"
        )

    monkeypatch.setattr(ratelimit, "PURGE_EVERY", 1)  # this request purges
    hits, seconds_left = ratelimit.hit([count])[0]

    assert hits == 1 and 59 < seconds_left <= 60
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM mediqueue_ratelimit")
        assert [row[0] for row in cursor.fetchall()] == [count.key]
