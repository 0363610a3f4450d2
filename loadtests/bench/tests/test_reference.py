"""The benchmark's reference server, for real: node, Express, node-postgres, on the test database.

So that the reference's SQL is known to work on MediQueue's tables before any figure is
compared with it. No skip: node is on every machine here, and a missing node fails with a
message that says so.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from booking.models import Booking, is_well_formed_reference
from loadtests.bench.reference import reference_server
from loadtests.harness import free_port, ports_for_tests
from slots.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)


def post(base_url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base_url}/api/book", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def book(base_url: str, user_id, slot_id) -> tuple[int, dict]:
    return post(base_url, json.dumps({"userId": user_id, "slotId": slot_id}).encode())


@pytest.fixture
def reference(tmp_path, live_database_url):
    with reference_server(
        database_url=live_database_url,
        port=free_port(ports_for_tests()),
        log_path=tmp_path / "reference.log",
    ) as server:
        yield server


def test_the_reference_books_a_two_seat_slot_twice_then_refuses_with_valid_rows(
    reference, make_slot
):
    slot = make_slot(seats=2)

    answers = [book(reference.base_url, f"patient-{n}", slot.pk) for n in range(3)]

    assert [status for status, _ in answers] == [201, 201, 409]
    assert all(body["message"] for _, body in answers)
    slot.refresh_from_db()
    assert slot.booked_seats == 2
    bookings = Booking.objects.filter(slot=slot)
    assert sorted(b.user_id for b in bookings) == ["patient-0", "patient-1"]
    assert all(b.status == Booking.Status.CONFIRMED for b in bookings)
    assert all(is_well_formed_reference(b.reference) for b in bookings)
    assert len({b.reference for b in bookings}) == 2
    assert all(b.created_at is not None for b in bookings)


def test_the_reference_answers_400_to_a_bad_body_and_404_to_an_unknown_slot(reference, make_slot):
    slot = make_slot(seats=2)

    assert post(reference.base_url, b"{not json")[0] == 400
    assert book(reference.base_url, "", slot.pk)[0] == 400
    assert book(reference.base_url, "patient", "one")[0] == 400
    status, body = book(reference.base_url, "patient", slot.pk + 1000)
    assert status == 404 and body["message"]
    assert not Booking.objects.exists()
    assert Slot.objects.get(pk=slot.pk).booked_seats == 0


def test_the_reference_lists_every_slot_with_its_doctor(reference, make_slot):
    slots = [make_slot(seats=3) for _ in range(3)]

    with urllib.request.urlopen(f"{reference.base_url}/api/slots", timeout=10) as response:
        listed = json.load(response)

    assert [item["id"] for item in listed] == [s.pk for s in slots]
    assert listed[0]["doctor_name"] == slots[0].doctor.name
    assert {"start_time", "total_seats", "booked_seats"} <= set(listed[0])
