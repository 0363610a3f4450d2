import json
import urllib.request

import pytest

from booking.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_booking_logs_one_json_event_carrying_the_request_id(make_slot, tmp_path, live_gunicorn):
    slot = make_slot(seats=2)
    log_path = tmp_path / "gunicorn.log"

    with live_gunicorn(workers=1, log_path=log_path, DJANGO_LOG_FORMAT="json") as server:
        request = urllib.request.Request(
            f"{server.base_url}/api/book",
            data=json.dumps({"userId": "patient-42", "slotId": slot.pk}).encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": "req-abc-123"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            assert response.headers["X-Request-ID"] == "req-abc-123"
            reference = json.loads(response.read())["booking"]["reference"]

    events = [
        json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    booked = [e for e in events if e.get("event") == "booking_confirmed"]
    assert len(booked) == 1
    assert booked[0]["request_id"] == "req-abc-123"
    assert booked[0]["booking_id"] == Booking.objects.get(reference=reference).pk
    # The reference is the key to the booking: it must not be in any log line.
    assert reference not in log_path.read_text()
    assert booked[0]["user_id"] == "patient-42"
    assert booked[0]["slot_id"] == slot.pk
    assert booked[0]["level"] == "INFO"
