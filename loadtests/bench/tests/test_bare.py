"""The bench's bare lower bound does the booking the service does, in its statement, limits
counted: only then is what it costs a bound for the service."""

from __future__ import annotations

import io
import json
import secrets

import pytest
from django.db import connection

from booking.models import Booking
from loadtests.bench import bare
from mediqueue.ratelimit import Count
from slots.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _bare_connections_closed():
    yield
    opened = getattr(bare._connections, "connection", None)
    if opened is not None:
        opened.close()
        del bare._connections.connection


def post_book(user_id: str, slot_id: int, *, client: str) -> tuple[str, dict]:
    body = json.dumps({"userId": user_id, "slotId": slot_id}).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/book",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_FORWARDED_FOR": client,
        "wsgi.input": io.BytesIO(body),
    }
    seen = {}

    def start_response(status, headers):
        seen["status"] = status

    (payload,) = bare.application(environ, start_response)
    return seen["status"], json.loads(payload)


def hits(*counts: Count) -> list[int | None]:
    """Each count's hits in the counters' table (None: never counted)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key, hits FROM mediqueue_ratelimit WHERE key = ANY(%s)",
            [[count.key for count in counts]],
        )
        found = dict(cursor.fetchall())
    return [found.get(count.key) for count in counts]


def test_it_takes_the_last_seat_then_refuses_and_counts_the_limits_each_time(make_slot, settings):
    settings.MEDIQUEUE_NUM_PROXIES = 1
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = "600/min"
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "30/min"
    slot = make_slot(seats=1)

    # Addresses of this run only: the counters' table is not a model, no test flush empties it.
    clients = [f"10.{n}.{secrets.randbelow(256)}.{secrets.randbelow(256)}" for n in (1, 2)]
    first = post_book("patient-a", slot.pk, client=clients[0])
    second = post_book("patient-b", slot.pk, client=clients[1])

    assert first[0] == "201 Created"
    assert second == ("409 Conflict", {"status": "FAILED"})
    slot.refresh_from_db()
    assert slot.booked_seats == 1
    assert list(Booking.objects.values_list("user_id", flat=True)) == ["patient-a"]
    assert first[1]["id"] == Booking.objects.get().pk
    # Per client, and per client and patient, for each of the two requests.
    counted = [
        Count(limit, ident, "")
        for client, patient in zip(clients, ("patient-a", "patient-b"), strict=True)
        for limit, ident in (("per_client", client), ("per_patient", f"{client}\x00{patient}"))
    ]
    assert hits(*counted) == [1, 1, 1, 1]


def test_anything_but_a_booking_answers_ready(db):
    seen = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/readyz"}

    (payload,) = bare.application(environ, lambda status, headers: seen.update(status=status))

    assert seen["status"] == "200 OK" and json.loads(payload) == {"status": "ok"}
    assert not Slot.objects.exists()
