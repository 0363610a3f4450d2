"""What every request goes through: request ids, and bodies the service will not read."""

import http.client
import json
import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("request_id", ["req-abc-123", "a" * 64, "9f1c.2_B-x"])
def test_a_safe_request_id_from_the_client_is_kept(client, request_id):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=request_id)

    assert response["X-Request-ID"] == request_id


@pytest.mark.parametrize(
    "request_id", ["a" * 65, "has space", "<script>", "x\u00e9", "a,b", "", "id;drop"]
)
def test_an_unsafe_request_id_is_replaced_by_one_of_ours(client, request_id):
    # Finding 15: a client-chosen id went into every log line as it was.
    response = client.get("/healthz", HTTP_X_REQUEST_ID=request_id)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_a_chunked_body_is_refused_with_411_not_silently_dropped(client):
    response = client.post(
        "/api/book",
        data=b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411
    body = response.json()
    assert body["code"] == "length_required"
    assert "Content-Length" in body["message"]


@pytest.mark.django_db(transaction=True)
def test_a_chunked_booking_through_gunicorn_answers_411(make_slot, live_gunicorn):
    # Finding 13: gunicorn decodes the chunks, but Django reads CONTENT_LENGTH bytes (none),
    # so the booking was answered 400 "userId required".
    slot = make_slot(seats=2)
    body = json.dumps({"userId": "chunky", "slotId": slot.pk}).encode()

    with live_gunicorn(workers=1) as server:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        connection.request(
            "POST",
            "/api/book",
            body=iter([body[:10], body[10:]]),
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
        connection.close()

    assert response.status == 411
    assert answer["code"] == "length_required"
    slot.refresh_from_db()
    assert slot.booked_seats == 0
