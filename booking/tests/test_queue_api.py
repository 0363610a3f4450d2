"""POST /api/book with Prefer: respond-async, and GET /api/book/requests/{ticket}: the queued
booking's API, against real PostgreSQL and a real RabbitMQ (the session's own)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from booking import queue
from booking.models import Booking, BookingRequest
from loadtests.harness import free_port

ASYNC = {"HTTP_PREFER": "respond-async"}
pytestmark = pytest.mark.django_db


def test_a_queued_booking_is_accepted_once_the_broker_holds_it(
    api_client, post_json, make_slot, booking_queue
):
    slot = make_slot(seats=1)
    response = post_json(api_client, "/api/book", {"userId": "ada", "slotId": slot.pk}, **ASYNC)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "QUEUED" and body["message"]
    assert queue.is_genuine_ticket(body["ticket"])
    assert response["Preference-Applied"] == "respond-async"
    assert response["Location"] == f"/api/book/requests/{body['ticket']}"
    assert response["Cache-Control"] == "no-store"
    # In line, not decided: the broker has it, the database nothing yet.
    assert booking_queue.depth() == 1
    assert not BookingRequest.objects.exists() and not Booking.objects.exists()
    slot.refresh_from_db()
    assert slot.booked_seats == 0


def test_without_the_header_a_booking_is_direct_even_with_the_queue_on(
    api_client, post_json, make_slot, booking_queue
):
    slot = make_slot(seats=1)
    response = post_json(api_client, "/api/book", {"userId": "ada", "slotId": slot.pk})
    assert response.status_code == 201
    assert "Preference-Applied" not in response
    assert booking_queue.depth() == 0


def test_with_the_queue_off_respond_async_is_ignored(api_client, post_json, make_slot, settings):
    settings.MEDIQUEUE_BOOKING_QUEUE_URL = ""
    slot = make_slot(seats=1)
    response = post_json(api_client, "/api/book", {"userId": "ada", "slotId": slot.pk}, **ASYNC)
    assert response.status_code == 201
    assert "Preference-Applied" not in response


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"userId": "", "slotId": 1}, 400, "invalid"),
        ({"userId": "ada", "slotId": "1"}, 400, "invalid"),
        ({"userId": "ada"}, 400, "invalid"),
        ({"userId": "ada", "slotId": 1, "email": "not an address"}, 400, "invalid"),
        ("{not json", 400, "invalid"),
        ({"userId": "ada", "slotId": 987654321}, 404, "slot_not_found"),
    ],
)
def test_bad_input_is_refused_as_a_direct_booking_would_be_and_nothing_is_queued(
    api_client, post_json, assert_error, booking_queue, payload, status, code
):
    response = post_json(api_client, "/api/book", payload, **ASYNC)
    assert_error(response, status, code)
    assert booking_queue.depth() == 0


def test_a_body_that_is_not_json_is_415(api_client, assert_error, booking_queue):
    response = api_client.post("/api/book", data="x", content_type="text/plain", **ASYNC)
    assert_error(response, 415, "unsupported_media_type")
    assert booking_queue.depth() == 0


def test_a_broker_that_is_down_gets_503_and_nothing_is_accepted(
    api_client, post_json, assert_error, make_slot, settings
):
    settings.MEDIQUEUE_BOOKING_QUEUE_URL = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    slot = make_slot(seats=1)
    try:
        response = post_json(api_client, "/api/book", {"userId": "ada", "slotId": slot.pk}, **ASYNC)
    finally:
        queue.close_publisher()
    body = assert_error(response, 503, "unavailable")
    assert response["Retry-After"] == "1"
    assert "ticket" not in body
    assert not BookingRequest.objects.exists()


def test_a_restarted_broker_is_reconnected_to(api_client, post_json, make_slot, booking_queue):
    slot = make_slot(seats=2)
    first = post_json(api_client, "/api/book", {"userId": "a", "slotId": slot.pk}, **ASYNC)
    assert first.status_code == 202
    booking_queue.node.restart()  # the cached connection is now dead
    second = post_json(api_client, "/api/book", {"userId": "b", "slotId": slot.pk}, **ASYNC)
    assert second.status_code == 202, second.content
    assert booking_queue.depth() == 2  # the first survived the restart: quorum queue, on disk


def test_a_cluster_is_named_by_several_urls_and_a_down_node_is_passed_over(
    api_client, post_json, make_slot, booking_queue, settings
):
    down = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    settings.MEDIQUEUE_BOOKING_QUEUE_URL = f"{down}, {booking_queue.url}"
    slot = make_slot(seats=1)
    response = post_json(api_client, "/api/book", {"userId": "ada", "slotId": slot.pk}, **ASYNC)
    assert response.status_code == 202, response.content
    assert booking_queue.depth() == 1


def test_rate_limits_count_queued_requests_like_direct_ones(
    api_client, post_json, assert_error, make_slot, booking_queue, settings
):
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "2/min"
    slot = make_slot(seats=5)
    statuses = [
        post_json(api_client, "/api/book", {"userId": "ada", "slotId": slot.pk}, **ASYNC)
        for _ in range(3)
    ]
    assert [r.status_code for r in statuses[:2]] == [202, 202]
    assert_error(statuses[2], 429, "throttled")
    assert booking_queue.depth() == 2


def test_an_idempotent_retry_gets_the_same_ticket_and_queues_nothing_more(
    api_client, post_json, assert_error, make_slot, booking_queue
):
    slot = make_slot(seats=1)
    payload = {"userId": "ada", "slotId": slot.pk}
    first = post_json(api_client, "/api/book", payload, HTTP_IDEMPOTENCY_KEY="k1", **ASYNC)
    again = post_json(api_client, "/api/book", payload, HTTP_IDEMPOTENCY_KEY="k1", **ASYNC)
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["ticket"] == first.json()["ticket"]
    assert again["Location"] == first["Location"]
    assert booking_queue.depth() == 1
    # The same key for a direct booking is another request: refused, not replayed.
    direct = post_json(api_client, "/api/book", payload, HTTP_IDEMPOTENCY_KEY="k1")
    assert_error(direct, 422, "idempotency_mismatch")


def test_a_ticket_nobody_minted_is_not_found(api_client, assert_error, booking_queue):
    real = queue.mint_ticket()
    forged = real[:-1] + ("A" if real[-1] != "A" else "B")
    for ticket in (forged, "x" * 39, "not-a-ticket", queue.mint_ticket()[:22]):
        response = api_client.get(f"/api/book/requests/{ticket}")
        assert_error(response, 404, "booking_request_not_found")


def test_a_ticket_in_line_answers_queued_and_can_wait_for_its_outcome(
    api_client, post_json, make_slot, booking_queue
):
    slot = make_slot(seats=1)
    ticket = post_json(
        api_client, "/api/book", {"userId": "ada", "slotId": slot.pk}, **ASYNC
    ).json()["ticket"]
    response = api_client.get(f"/api/book/requests/{ticket}")
    assert response.status_code == 200
    assert response.json() == {
        "status": "QUEUED",
        "message": response.json()["message"],
        "ticket": ticket,
        "position": None,
    }
    assert response["Retry-After"] == "1"
    assert response["Cache-Control"] == "no-store"

    started = time.monotonic()
    waited = api_client.get(f"/api/book/requests/{ticket}", HTTP_PREFER="wait=1")
    assert 0.9 <= time.monotonic() - started < 3
    assert waited.json()["status"] == "QUEUED"
    assert waited["Preference-Applied"] == "wait=1"


def test_a_wait_is_bounded_by_the_setting_and_junk_waits_are_ignored(
    api_client, booking_queue, settings
):
    settings.MEDIQUEUE_BOOKING_WAIT_MAX_SECONDS = 0.3
    ticket = queue.mint_ticket()
    started = time.monotonic()
    response = api_client.get(f"/api/book/requests/{ticket}", HTTP_PREFER="wait=3600")
    assert time.monotonic() - started < 2
    assert response["Preference-Applied"] == "wait=0.3"
    for junk in ("wait=soon", "wait=-5", "wait=nan", "wait", "wait=1e400, respond-async"):
        response = api_client.get(f"/api/book/requests/{ticket}", HTTP_PREFER=junk)
        assert response.status_code == 200, junk
        assert "Preference-Applied" not in response or junk.startswith("wait=1e400")


def test_an_outcome_is_shown_to_the_ticket_holder_with_its_reference(
    api_client, post_json, make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=1)
    tickets = [
        post_json(api_client, "/api/book", {"userId": user, "slotId": slot.pk}, **ASYNC).json()[
            "ticket"
        ]
        for user in ("ada", "bob")
    ]
    with allocator_running():
        wait_for_outcomes(2)
    booked = api_client.get(f"/api/book/requests/{tickets[0]}").json()
    booking = Booking.objects.get(user_id="ada")
    assert booked["status"] == "CONFIRMED"
    assert booked["booking"]["reference"] == booking.reference
    assert booked["slot"]["booked_seats"] == 1
    refused = api_client.get(f"/api/book/requests/{tickets[1]}").json()
    assert refused["status"] == "FAILED"
    assert refused["code"] == "slot_full"
    assert refused["message"] == "Sorry, this slot is fully booked."
    assert "booking" not in refused


def test_a_slot_that_started_while_in_line_is_refused_slot_closed(
    api_client, post_json, make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=1, starts_in=timedelta(seconds=1))
    response = post_json(api_client, "/api/book", {"userId": "ada", "slotId": slot.pk}, **ASYNC)
    assert response.status_code == 202
    time.sleep(1.2)
    with allocator_running():
        (outcome,) = wait_for_outcomes(1)
    assert (outcome.status, outcome.reason) == ("FAILED", "slot_closed")
    assert not Booking.objects.exists()


def test_a_ticket_is_taken_out_of_log_lines_like_a_reference():
    from mediqueue.redaction import redact

    ticket = queue.mint_ticket()
    line = redact(f'"GET /api/book/requests/{ticket} HTTP/1.1" 200; page /book/requests/{ticket}')
    assert ticket.split(".")[0] not in line
    assert line.count("[reference]") == 2
