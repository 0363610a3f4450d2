from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services
from booking.models import Booking
from slots.models import Slot

pytestmark = pytest.mark.django_db

SLOT = object()  # stands for the id of the slot a test creates


def assert_nothing_booked(slot):
    slot.refresh_from_db()
    assert slot.booked_seats == 0
    assert not Booking.objects.exists()


class TestBook:
    def test_books_a_seat_with_201_and_the_counts_after(self, api_client, make_slot, post_json):
        slot = make_slot(seats=2)

        response = post_json(api_client, "/api/book", {"userId": "u1", "slotId": slot.pk})

        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "CONFIRMED"
        assert body["message"] == "Booking confirmed."
        assert body["booking"]["slot_id"] == slot.pk
        assert body["booking"]["user_id"] == "u1"
        assert body["booking"]["status"] == "CONFIRMED"
        assert body["slot"]["booked_seats"] == 1
        assert body["slot"]["available_seats"] == 1
        assert Booking.objects.get().reference == body["booking"]["reference"]

    def test_numeric_user_id_of_the_original_client_is_accepted(
        self, api_client, make_slot, post_json
    ):
        slot = make_slot()

        response = post_json(api_client, "/api/book", {"userId": 42, "slotId": slot.pk})

        assert response.status_code == 201
        assert response.json()["booking"]["user_id"] == "42"

    def test_repeat_by_the_same_patient_answers_409_without_the_reference(
        self, api_client, make_slot, post_json, assert_error
    ):
        slot = make_slot()
        first = post_json(api_client, "/api/book", {"userId": "u1", "slotId": slot.pk}).json()

        again = post_json(api_client, "/api/book", {"userId": "u1", "slotId": slot.pk})

        body = assert_error(again, 409, "already_booked")
        assert "already hold a seat" in body["message"]
        assert "booking" not in body
        assert first["booking"]["reference"] not in again.content.decode()
        slot.refresh_from_db()
        assert slot.booked_seats == 1

    def test_a_full_slot_answers_the_same_to_a_seat_holder_and_to_anyone_else(
        self, api_client, make_slot, post_json, assert_error
    ):
        slot = make_slot(seats=1)
        post_json(api_client, "/api/book", {"userId": "holder", "slotId": slot.pk})

        holder = post_json(api_client, "/api/book", {"userId": "holder", "slotId": slot.pk})
        stranger = post_json(api_client, "/api/book", {"userId": "nobody", "slotId": slot.pk})

        assert_error(holder, 409, "slot_full")
        assert holder.json() == stranger.json()

    def test_full_slot_answers_409_slot_full(self, api_client, make_slot, post_json, assert_error):
        slot = make_slot(seats=1)
        services.book(slot_id=slot.pk, user_id="first")

        response = post_json(api_client, "/api/book", {"userId": "second", "slotId": slot.pk})

        assert_error(response, 409, "slot_full")
        slot.refresh_from_db()
        assert slot.booked_seats == 1

    def test_started_slot_answers_409_slot_closed(
        self, api_client, make_slot, post_json, assert_error
    ):
        slot = make_slot(starts_in=timedelta(hours=-1))

        response = post_json(api_client, "/api/book", {"userId": "u", "slotId": slot.pk})

        assert_error(response, 409, "slot_closed")
        assert_nothing_booked(slot)

    def test_unknown_slot_answers_404(self, api_client, db, post_json, assert_error):
        response = post_json(api_client, "/api/book", {"userId": "u", "slotId": 99999})
        assert_error(response, 404, "slot_not_found")

    @pytest.mark.parametrize(
        "payload, field",
        [
            ({"slotId": SLOT}, "userId"),
            ({"userId": "u"}, "slotId"),
            ({"userId": "", "slotId": SLOT}, "userId"),
            ({"userId": "   ", "slotId": SLOT}, "userId"),
            ({"userId": "x" * 65, "slotId": SLOT}, "userId"),
            ({"userId": None, "slotId": SLOT}, "userId"),
            ({"userId": True, "slotId": SLOT}, "userId"),
            ({"userId": 1.5, "slotId": SLOT}, "userId"),
            ({"userId": ["u"], "slotId": SLOT}, "userId"),
            ({"userId": {"id": 1}, "slotId": SLOT}, "userId"),
            ({"userId": "line\nbreak", "slotId": SLOT}, "userId"),
            ({"userId": "u", "slotId": "abc"}, "slotId"),
            ({"userId": "u", "slotId": "12"}, "slotId"),
            ({"userId": " padded", "slotId": SLOT}, "userId"),
            ({"userId": "\ud800", "slotId": SLOT}, "userId"),
            ({"userId": -1, "slotId": SLOT}, "userId"),
            ({"userId": 2**64, "slotId": SLOT}, "userId"),
            ({"userId": "u", "slotId": 1.5}, "slotId"),
            ({"userId": "u", "slotId": "1.0"}, "slotId"),
            ({"userId": "u", "slotId": True}, "slotId"),
            ({"userId": "u", "slotId": None}, "slotId"),
            ({"userId": "u", "slotId": 0}, "slotId"),
            ({"userId": "u", "slotId": -3}, "slotId"),
            ({"userId": "u", "slotId": 2**63}, "slotId"),
            ({"userId": "u", "slotId": [1]}, "slotId"),
        ],
    )
    def test_bad_input_answers_400_invalid_naming_the_field_and_books_nothing(
        self, api_client, make_slot, payload, field, post_json, assert_error
    ):
        slot = make_slot()
        payload = {k: (slot.pk if v is SLOT else v) for k, v in payload.items()}

        response = post_json(api_client, "/api/book", payload)

        body = assert_error(response, 400, "invalid")
        assert field in body["errors"]
        assert body["message"].startswith(field)
        assert_nothing_booked(slot)

    @pytest.mark.parametrize("raw", ['{"userId": "u"', "not json", "[1, 2]", '"text"', "null"])
    def test_malformed_or_non_object_json_answers_400(
        self, api_client, make_slot, raw, post_json, assert_error
    ):
        slot = make_slot()

        response = post_json(api_client, "/api/book", raw)

        assert_error(response, 400, "invalid")
        assert_nothing_booked(slot)

    def test_deeply_nested_json_answers_400_not_a_crash(
        self, api_client, make_slot, post_json, assert_error
    ):
        slot = make_slot()

        response = post_json(api_client, "/api/book", "[" * 5000 + "]" * 5000)

        assert_error(response, 400, "invalid")
        assert_nothing_booked(slot)

    def test_empty_body_answers_400(self, api_client, make_slot, assert_error):
        slot = make_slot()
        response = api_client.post("/api/book", data="", content_type="application/json")
        assert_error(response, 400, "invalid")
        assert_nothing_booked(slot)

    @pytest.mark.parametrize(
        "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml"]
    )
    def test_non_json_body_answers_415(self, api_client, make_slot, content_type, assert_error):
        slot = make_slot()

        response = api_client.post(
            "/api/book", data=f"userId=u&slotId={slot.pk}", content_type=content_type
        )

        assert_error(response, 415, "unsupported_media_type")
        assert_nothing_booked(slot)

    def test_oversized_body_answers_413(
        self, api_client, make_slot, settings, post_json, assert_error
    ):
        slot = make_slot()
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
        payload = {"userId": "u", "slotId": slot.pk, "padding": "x" * 2048}

        response = post_json(api_client, "/api/book", payload)

        assert_error(response, 413, "payload_too_large")
        assert_nothing_booked(slot)

    def test_get_on_book_answers_405_json(self, api_client, db, assert_error):
        assert_error(api_client.get("/api/book"), 405, "method_not_allowed")

    def test_busy_answers_503_with_retry_after(
        self, api_client, make_slot, slot_lock_held_elsewhere, settings, post_json, assert_error
    ):
        settings.MEDIQUEUE_LOCK_TIMEOUT_MS = 100
        slot = make_slot()

        with slot_lock_held_elsewhere(slot.pk):
            response = post_json(api_client, "/api/book", {"userId": "u", "slotId": slot.pk})

        assert_error(response, 503, "busy")
        assert response["Retry-After"] == "1"
        assert_nothing_booked(slot)

    def test_a_logged_in_admin_session_does_not_need_csrf_to_book(
        self, make_slot, staff_user, post_json
    ):
        from rest_framework.test import APIClient

        slot = make_slot()
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(staff_user)

        response = post_json(client, "/api/book", {"userId": "u", "slotId": slot.pk})

        assert response.status_code == 201


class TestBookingLookupAndCancel:
    def test_lookup_by_reference(self, api_client, make_slot):
        slot = make_slot()
        booking = services.book(slot_id=slot.pk, user_id="u").booking

        response = api_client.get(f"/api/bookings/{booking.reference}")

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "CONFIRMED"
        assert body["booking"]["reference"] == booking.reference
        assert body["slot"]["id"] == slot.pk

    @pytest.mark.parametrize("reference", ["unknown-ref", "x" * 300, "%00", "..", "' OR 1=1 --"])
    def test_unknown_and_malformed_references_answer_the_same_404(
        self, api_client, db, reference, assert_error
    ):
        response = api_client.get(f"/api/bookings/{reference}")
        body = assert_error(response, 404, "booking_not_found")
        assert body["message"] == "No booking with this reference exists."

    def test_cancel_answers_200_and_frees_the_seat(self, api_client, make_slot, post_json):
        slot = make_slot(seats=1)
        booking = services.book(slot_id=slot.pk, user_id="u").booking

        response = api_client.post(f"/api/bookings/{booking.reference}/cancel")

        assert response.status_code == 200
        assert response.json()["status"] == "CANCELLED"
        assert response.json()["slot"]["booked_seats"] == 0
        slot.refresh_from_db()
        assert slot.booked_seats == 0
        other = post_json(api_client, "/api/book", {"userId": "next", "slotId": slot.pk})
        assert other.status_code == 201

    def test_repeating_a_cancel_is_a_no_op_200(self, api_client, make_slot):
        slot = make_slot(seats=2)
        booking = services.book(slot_id=slot.pk, user_id="u").booking
        api_client.post(f"/api/bookings/{booking.reference}/cancel")

        again = api_client.post(f"/api/bookings/{booking.reference}/cancel")

        assert again.status_code == 200
        assert again.json()["status"] == "CANCELLED"
        assert "already" in again.json()["message"]
        slot.refresh_from_db()
        assert slot.booked_seats == 0

    def test_cancel_unknown_reference_answers_404(self, api_client, db, assert_error):
        assert_error(api_client.post("/api/bookings/nope/cancel"), 404, "booking_not_found")

    def test_cancel_after_the_slot_started_answers_409(self, api_client, make_slot, assert_error):
        slot = make_slot()
        booking = services.book(slot_id=slot.pk, user_id="u").booking
        Slot.objects.filter(pk=slot.pk).update(start_time=timezone.now() - timedelta(minutes=5))

        response = api_client.post(f"/api/bookings/{booking.reference}/cancel")

        assert_error(response, 409, "slot_closed")
        booking.refresh_from_db()
        assert booking.status == "CONFIRMED"


class TestDatabaseOutage:
    def test_a_database_outage_answers_503_unavailable_with_retry_after(
        self, api_client, make_slot, monkeypatch, post_json, assert_error
    ):
        from django.db import OperationalError

        from booking import queries

        def database_down(**kwargs):
            raise OperationalError("connection to server was lost")

        slot = make_slot()
        monkeypatch.setattr(queries, "take_seat", database_down)

        response = post_json(api_client, "/api/book", {"userId": "u", "slotId": slot.pk})

        assert_error(response, 503, "unavailable")
        assert response["Retry-After"] == "1"
