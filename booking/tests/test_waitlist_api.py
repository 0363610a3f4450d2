"""The waiting-list endpoints: the contract of issue 15, the envelope, idempotency, rate limits
and CORS as for POST /api/book."""

import pytest

from booking import services
from booking.models import Booking, WaitlistEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def join(api_client, post_json):
    def join(slot, payload, **extra):
        return post_json(api_client, f"/api/slots/{slot.pk}/waitlist", payload, **extra)

    return join


class TestJoin:
    def test_a_full_slot_answers_201_waiting_with_the_entry(self, join, make_full_slot):
        slot, _ = make_full_slot(seats=1)

        response = join(slot, {"userId": "w1", "email": "w1@example.org"})

        assert response.status_code == 201, response.content
        assert response["Cache-Control"] == "no-store"
        body = response.json()
        assert body["status"] == "WAITING"
        assert body["message"]
        entry = WaitlistEntry.objects.get()
        assert body["entry"] == {
            "reference": entry.reference,
            "slot_id": slot.pk,
            "user_id": "w1",
            "status": "WAITING",
            "position": 1,
            "created_at": body["entry"]["created_at"],
        }
        assert body["slot"]["available_seats"] == 0
        assert entry.email == "w1@example.org"

    def test_the_second_patient_is_second(self, join, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        join(slot, {"userId": "w1"})

        assert join(slot, {"userId": 7}).json()["entry"]["position"] == 2

    @pytest.mark.parametrize(
        ("scene", "code"),
        [
            ("free seat", "seats_available"),
            # already_booked and already_waiting: with verified patients only
            # (mediqueue/tests/test_verified_patients.py); open mode tells nobody.
        ],
    )
    def test_refusals_are_409_without_any_reference(
        self, join, make_slot, make_full_slot, assert_error, scene, code
    ):
        if scene == "free seat":
            slot, user = make_slot(seats=1), "w1"
        else:
            slot, _ = make_full_slot(seats=1)
            user = "holder-0" if scene == "holds a seat" else "w1"
        if scene == "waiting already":
            join(slot, {"userId": "w1"})

        body = assert_error(join(slot, {"userId": user}), 409, code)

        references = [*WaitlistEntry.objects.values_list("reference", flat=True)]
        references += Booking.objects.values_list("reference", flat=True)
        assert not any(reference in str(body) for reference in references)

    def test_an_unknown_slot_is_404(self, api_client, post_json, assert_error):
        response = post_json(api_client, "/api/slots/999999/waitlist", {"userId": "w1"})

        assert_error(response, 404, "slot_not_found")

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({}, "userId"),
            ({"userId": ""}, "userId"),
            ({"userId": "w1", "email": "not an address"}, "email"),
            ({"userId": "w1", "email": 12}, "email"),
            ({"userId": "w1", "email": None}, "email"),
        ],
    )
    def test_bad_input_is_400_invalid_and_changes_nothing(
        self, join, make_full_slot, assert_error, payload, field
    ):
        slot, _ = make_full_slot(seats=1)

        body = assert_error(join(slot, payload), 400, "invalid")

        assert field in body["errors"]
        assert not WaitlistEntry.objects.exists()

    def test_a_body_that_is_not_json_is_415(self, api_client, make_full_slot, assert_error):
        slot, _ = make_full_slot(seats=1)

        response = api_client.post(
            f"/api/slots/{slot.pk}/waitlist", "userId=w1", content_type="text/plain"
        )

        assert_error(response, 415, "unsupported_media_type")

    def test_an_idempotent_retry_replays_the_201_and_queues_once(self, join, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        first = join(slot, {"userId": "w1"}, HTTP_IDEMPOTENCY_KEY="key-1")

        again = join(slot, {"userId": "w1"}, HTTP_IDEMPOTENCY_KEY="key-1")

        assert again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert again.content == first.content
        assert WaitlistEntry.objects.count() == 1

    def test_the_join_is_rate_limited_per_patient(self, join, make_full_slot, settings):
        settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = "2/min"
        slot, _ = make_full_slot(seats=1)

        answers = [join(slot, {"userId": "w1"}).status_code for _ in range(3)]

        assert answers == [201, 201, 429]  # open mode: a repeat joins again, as anyone would

    def test_another_origin_may_join(self, join, make_full_slot):
        slot, _ = make_full_slot(seats=1)

        response = join(slot, {"userId": "w1"}, HTTP_ORIGIN="https://client.example")

        assert response["Access-Control-Allow-Origin"] == "*"


class TestLookUpAndLeave:
    @pytest.fixture
    def waiting(self, join, make_full_slot):
        slot, references = make_full_slot(seats=1)
        reference = join(slot, {"userId": "w1"}).json()["entry"]["reference"]
        return reference, references[0]

    def test_a_waiting_entry_shows_its_position(self, api_client, waiting):
        reference, _ = waiting

        body = api_client.get(f"/api/waitlist/{reference}").json()

        assert (body["status"], body["entry"]["position"]) == ("WAITING", 1)
        assert "booking" not in body

    def test_a_promoted_entry_shows_its_booking_and_reference(self, api_client, waiting):
        reference, holder = waiting
        services.cancel(reference=holder)

        response = api_client.get(f"/api/waitlist/{reference}")

        body = response.json()
        assert response["Cache-Control"] == "no-store"
        assert (body["status"], body["entry"]["position"]) == ("BOOKED", None)
        booking = Booking.objects.get(user_id="w1")
        assert body["booking"]["reference"] == booking.reference
        assert body["booking"]["status"] == "CONFIRMED"

    def test_leaving_answers_left_and_a_repeat_is_a_no_op(self, api_client, waiting):
        reference, _ = waiting

        first = api_client.post(f"/api/waitlist/{reference}/leave")
        again = api_client.post(f"/api/waitlist/{reference}/leave")

        assert (first.status_code, first.json()["status"]) == (200, "LEFT")
        assert (again.status_code, again.json()["status"]) == (200, "LEFT")
        assert first.json()["message"] != again.json()["message"]
        assert api_client.get(f"/api/waitlist/{reference}").json()["status"] == "LEFT"

    def test_leaving_once_booked_is_409(self, api_client, waiting, assert_error):
        reference, holder = waiting
        services.cancel(reference=holder)

        response = api_client.post(f"/api/waitlist/{reference}/leave")

        assert_error(response, 409, "already_promoted")
        assert Booking.objects.filter(user_id="w1", status="CONFIRMED").exists()

    @pytest.mark.parametrize("reference", ["no-such-entry", "%20", "x" * 33])
    def test_unknown_references_are_404(self, api_client, assert_error, reference):
        assert_error(api_client.get(f"/api/waitlist/{reference}"), 404, "waitlist_entry_not_found")
        assert_error(
            api_client.post(f"/api/waitlist/{reference}/leave"), 404, "waitlist_entry_not_found"
        )

    def test_a_wrong_method_is_405_json(self, api_client, waiting, assert_error):
        reference, _ = waiting

        assert_error(api_client.delete(f"/api/waitlist/{reference}"), 405, "method_not_allowed")


def test_a_booking_with_an_email_keeps_it_and_one_without_writes_no_notice(
    api_client, make_slot, post_json
):
    slot = make_slot(seats=2)

    post_json(api_client, "/api/book", {"userId": "a", "slotId": slot.pk, "email": "a@ex.org"})
    post_json(api_client, "/api/book", {"userId": "b", "slotId": slot.pk})

    assert Booking.objects.get(user_id="a").email == "a@ex.org"
    assert Booking.objects.get(user_id="b").email == ""
    assert [n.booking.user_id for n in Booking.objects.get(user_id="a").notices.all()] == ["a"]
    assert not Booking.objects.get(user_id="b").notices.exists()


@pytest.mark.parametrize("email", ["not an address", None, 7, "a@" + "x" * 260 + ".org"])
def test_a_booking_with_a_bad_email_is_400_and_books_nothing(
    api_client, make_slot, post_json, assert_error, email
):
    slot = make_slot(seats=2)

    response = post_json(
        api_client, "/api/book", {"userId": "a", "slotId": slot.pk, "email": email}
    )

    assert "email" in assert_error(response, 400, "invalid")["errors"]
    assert not Booking.objects.exists()
