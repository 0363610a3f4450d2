import json
from datetime import timedelta

import pytest
from django.utils import timezone

from slots.models import Doctor, Slot

pytestmark = pytest.mark.django_db

SLOT_FIELDS = {
    "id",
    "doctor_id",
    "doctor_name",
    "specialty",
    "start_time",
    "end_time",
    "duration_minutes",
    "total_seats",
    "booked_seats",
    "available_seats",
}


class TestSlotList:
    def test_lists_upcoming_slots_ordered_by_start_with_the_react_client_fields(
        self, api_client, make_slot, book_seat
    ):
        later = make_slot(seats=4, starts_in=timedelta(days=2))
        sooner = make_slot(seats=2, starts_in=timedelta(days=1))
        make_slot(starts_in=timedelta(hours=-1))  # started: not listed by default
        book_seat(slot_id=sooner.pk, user_id="u")

        response = api_client.get("/api/slots")

        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert [s["id"] for s in body] == [sooner.pk, later.pk]
        assert set(body[0]) == SLOT_FIELDS
        assert body[0]["doctor_name"] == sooner.doctor.name
        assert body[0]["booked_seats"] == 1
        assert body[0]["available_seats"] == 1
        assert "Link" not in response

    def test_filters_by_doctor_date_and_availability(
        self, api_client, make_slot, make_doctor, book_seat
    ):
        house = make_doctor("Dr. House")
        tomorrow = timezone.now() + timedelta(days=1)
        mine = make_slot(doctor=house, seats=1, starts_in=timedelta(days=1))
        full = make_slot(doctor=house, seats=1, starts_in=timedelta(days=1, minutes=30))
        book_seat(slot_id=full.pk, user_id="u")
        other = make_slot(starts_in=timedelta(days=3))

        by_doctor = api_client.get(f"/api/slots?doctor={house.pk}").json()
        available = api_client.get(f"/api/slots?doctor={house.pk}&available=true").json()
        by_date = api_client.get(f"/api/slots?date={tomorrow:%Y-%m-%d}").json()

        assert [s["id"] for s in by_doctor] == [mine.pk, full.pk]
        assert [s["id"] for s in available] == [mine.pk]
        assert other.pk not in {s["id"] for s in by_date}
        assert mine.pk in {s["id"] for s in by_date}

    def test_from_and_to_bound_the_start_time_and_can_reach_the_past(self, api_client, make_slot):
        past = make_slot(starts_in=timedelta(hours=-5))
        make_slot(starts_in=timedelta(days=5))
        start = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

        body = api_client.get("/api/slots", {"from": start, "to": end}).json()

        assert [s["id"] for s in body] == [past.pk]

    def test_limit_pages_with_a_link_to_the_next_page(self, api_client, make_slot):
        ids = [make_slot(starts_in=timedelta(days=1, minutes=n)).pk for n in range(5)]

        first = api_client.get("/api/slots?limit=2")

        assert [s["id"] for s in first.json()] == ids[:2]
        link = first["Link"]
        assert link.endswith('>; rel="next"')
        next_url = link[1 : link.index(">")]
        second = api_client.get(next_url)
        assert [s["id"] for s in second.json()] == ids[2:4]
        last = api_client.get(second["Link"][1 : second["Link"].index(">")])
        assert [s["id"] for s in last.json()] == ids[4:]
        assert "Link" not in last

    @pytest.mark.parametrize(
        "query, field",
        [
            ("doctor=abc", "doctor"),
            ("doctor=1.5", "doctor"),
            ("date=2026-13-01", "date"),
            ("date=tomorrow", "date"),
            ("from=yesterday", "from"),
            ("to=2026-02-30T10:00:00Z", "to"),
            ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "to"),
            ("available=maybe", "available"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("offset=-1", "offset"),
            ("offset=007", "offset"),
            ("to=", "to"),
            ("doctor=", "doctor"),
        ],
    )
    def test_bad_filters_answer_400_invalid(self, api_client, db, query, field, assert_error):
        body = assert_error(api_client.get(f"/api/slots?{query}"), 400, "invalid")
        assert field in body["errors"]

    @pytest.mark.parametrize(
        "query, message",
        [
            ("limit=-5", "Ensure this value is greater than or equal to 1."),
            ("limit=0", "Ensure this value is greater than or equal to 1."),
            ("limit=5000", "Ensure this value is less than or equal to 1000."),
            ("offset=-1", "Ensure this value is greater than or equal to 0."),
            ("limit=-0", "A whole number is required."),
            ("limit=ten", "A whole number is required."),
        ],
    )
    def test_a_number_out_of_range_is_told_its_range(self, api_client, db, query, message):
        # Issue 23: limit=-5 was answered "A whole number is required", which it is.
        body = api_client.get(f"/api/slots?{query}").json()

        field = query.partition("=")[0]
        assert body["errors"] == {field: [message]}


class TestSlotDetailAndDoctors:
    def test_one_slot(self, api_client, make_slot):
        slot = make_slot(seats=7)

        body = api_client.get(f"/api/slots/{slot.pk}").json()

        assert set(body) == SLOT_FIELDS
        assert body["id"] == slot.pk
        assert body["available_seats"] == 7

    @pytest.mark.parametrize("slot_id", ["424242", "99999999999999999999999"])
    def test_unknown_slot_answers_404(self, api_client, db, slot_id, assert_error):
        assert_error(api_client.get(f"/api/slots/{slot_id}"), 404, "slot_not_found")

    def test_doctors(self, api_client, make_doctor):
        make_doctor("Dr. B", "Cardiology")
        make_doctor("Dr. A", "")

        body = api_client.get("/api/doctors").json()

        assert [d["name"] for d in body] == ["Dr. A", "Dr. B"]
        assert set(body[0]) == {"id", "name", "specialty"}


class TestJsonEverywhereUnderApi:
    def test_unknown_api_url_answers_json_404(self, api_client, db, assert_error):
        assert_error(api_client.get("/api/nothing/here"), 404, "not_found")

    def test_a_post_to_an_unknown_api_url_is_a_404_not_a_csrf_refusal(self, db, assert_error):
        from rest_framework.test import APIClient

        client = APIClient(enforce_csrf_checks=True)
        assert_error(client.post("/api/bookings//cancel"), 404, "not_found")

    def test_wrong_method_answers_json_405(self, api_client, db, assert_error):
        assert_error(api_client.delete("/api/slots"), 405, "method_not_allowed")

    def test_a_crash_answers_json_500(self, api_client, db, monkeypatch, assert_error):
        from slots import selectors

        def explode(**kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(selectors, "doctor_list", explode)
        api_client.raise_request_exception = False

        response = api_client.get("/api/doctors")

        assert_error(response, 500, "server_error")


class TestAdminApi:
    def slot_payload(self, doctor, **overrides):
        start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
        payload = {"doctorId": doctor.pk, "startTime": start.isoformat(), "totalSeats": 20}
        return {**payload, **overrides}

    def test_staff_creates_a_slot(self, staff_client, make_doctor, post_json):
        doctor = make_doctor()

        response = post_json(
            staff_client, "/api/admin/slots", self.slot_payload(doctor, durationMinutes=45)
        )

        assert response.status_code == 201, response.content
        body = response.json()
        assert body["total_seats"] == 20
        assert body["booked_seats"] == 0
        assert body["duration_minutes"] == 45
        slot = Slot.objects.get(pk=body["id"])
        assert slot.doctor == doctor

    def test_duplicate_slot_answers_409_slot_exists(
        self, staff_client, make_doctor, post_json, assert_error
    ):
        doctor = make_doctor()
        payload = self.slot_payload(doctor)
        post_json(staff_client, "/api/admin/slots", payload)

        assert_error(post_json(staff_client, "/api/admin/slots", payload), 409, "slot_exists")
        assert Slot.objects.count() == 1

    def test_unknown_doctor_answers_404(self, staff_client, db, post_json, assert_error):
        doctor = Doctor(pk=777)
        response = post_json(staff_client, "/api/admin/slots", self.slot_payload(doctor))
        assert_error(response, 404, "doctor_not_found")

    @pytest.mark.parametrize(
        "overrides, field",
        [
            ({"totalSeats": 0}, "totalSeats"),
            ({"totalSeats": "many"}, "totalSeats"),
            ({"totalSeats": 10_000_001}, "totalSeats"),
            ({"doctorId": None}, "doctorId"),
            ({"startTime": "2026-12-01T09:00:00"}, "startTime"),
            ({"startTime": "soon"}, "startTime"),
            ({"durationMinutes": 0}, "durationMinutes"),
            ({"durationMinutes": 2000}, "durationMinutes"),
        ],
    )
    def test_bad_slot_input_answers_400(
        self, staff_client, make_doctor, overrides, field, post_json, assert_error
    ):
        doctor = make_doctor()

        response = post_json(
            staff_client, "/api/admin/slots", self.slot_payload(doctor, **overrides)
        )

        body = assert_error(response, 400, "invalid")
        assert field in body["errors"]
        assert not Slot.objects.exists()

    @pytest.mark.parametrize("start", ["9999-12-31T23:59:00Z", "2045-01-01T09:00:00+00:00"])
    def test_slot_beyond_ten_years_answers_400(
        self, staff_client, make_doctor, start, post_json, assert_error
    ):
        doctor = make_doctor()

        response = post_json(
            staff_client, "/api/admin/slots", self.slot_payload(doctor, startTime=start)
        )

        body = assert_error(response, 400, "invalid")
        assert "ten years" in body["message"]
        assert body["errors"] == {"startTime": ["Must be within ten years from now."]}
        assert not Slot.objects.exists()

    def test_slot_in_the_past_answers_400(self, staff_client, make_doctor, post_json, assert_error):
        doctor = make_doctor()
        past = (timezone.now() - timedelta(hours=1)).isoformat()

        response = post_json(
            staff_client, "/api/admin/slots", self.slot_payload(doctor, startTime=past)
        )

        body = assert_error(response, 400, "invalid")
        # A field's rule, named like every other field error (issue 23).
        assert body["errors"] == {"startTime": ["Must be in the future."]}
        assert body["message"] == "startTime: Must be in the future."
        assert not Slot.objects.exists()

    def test_staff_creates_a_doctor(self, staff_client, db, post_json):
        response = post_json(
            staff_client, "/api/admin/doctors", {"name": "Dr. New", "specialty": "ENT"}
        )

        assert response.status_code == 201
        assert Doctor.objects.get(pk=response.json()["id"]).specialty == "ENT"

    @pytest.mark.parametrize(
        "payload", [{}, {"name": ""}, {"name": "x" * 201}, {"name": "a\x00b"}, {"name": 5.5}]
    )
    def test_bad_doctor_input_answers_400(self, staff_client, db, payload, post_json, assert_error):
        assert_error(post_json(staff_client, "/api/admin/doctors", payload), 400, "invalid")
        assert not Doctor.objects.exists()

    @pytest.mark.parametrize("url", ["/api/admin/slots", "/api/admin/doctors"])
    def test_no_credentials_answers_401(self, api_client, db, url, post_json, assert_error):
        response = post_json(api_client, url, {"name": "x"})
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"

    def test_a_bad_token_answers_401(self, api_client, db, post_json, assert_error):
        api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        response = post_json(api_client, "/api/admin/doctors", {"name": "x"})
        assert_error(response, 401, "authentication_failed")

    @pytest.mark.parametrize("url", ["/api/admin/slots", "/api/admin/doctors"])
    def test_non_staff_answers_403(
        self, api_client, django_user_model, url, post_json, assert_error
    ):
        from rest_framework.authtoken.models import Token

        patient = django_user_model.objects.create_user("patient", password="pw")
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=patient).key}")

        assert_error(post_json(api_client, url, {"name": "x"}), 403, "permission_denied")
        assert not Doctor.objects.exists()

    def test_staff_session_works_with_a_csrf_token(self, staff_user, db, post_json, assert_error):
        from rest_framework.test import APIClient

        client = APIClient(enforce_csrf_checks=True)
        client.force_login(staff_user)

        without_token = post_json(client, "/api/admin/doctors", {"name": "Dr. S"})
        assert_error(without_token, 403, "permission_denied")
        client.get("/admin/")  # its logout form sets the csrftoken cookie
        token = client.cookies["csrftoken"].value
        with_token = post_json(
            client, "/api/admin/doctors", {"name": "Dr. S"}, HTTP_X_CSRFTOKEN=token
        )
        assert with_token.status_code == 201


class TestSchemaCorsAndHealth:
    def test_openapi_schema_describes_every_endpoint(self, api_client, db):
        response = api_client.get("/api/schema")

        assert response.status_code == 200
        schema = json.loads(response.content)
        assert schema["openapi"].startswith("3.")
        assert {
            "/api/slots",
            "/api/slots/{slot_id}",
            "/api/doctors",
            "/api/book",
            "/api/bookings/{reference}",
            "/api/bookings/{reference}/cancel",
            "/api/admin/slots",
            "/api/admin/doctors",
        } <= set(schema["paths"])
        book = schema["paths"]["/api/book"]["post"]["responses"]
        assert {"201", "400", "404", "409", "415", "503"} <= set(book)
        assert "200" not in book  # a repeat is 409 already_booked, never the booking again
        assert "already_booked" in book["409"]["description"]

    def test_swagger_ui_is_served_offline(self, api_client, db):
        response = api_client.get("/api/docs")
        assert response.status_code == 200
        assert b"swagger-ui" in response.content
        assert b"//unpkg" not in response.content and b"cdn.jsdelivr" not in response.content

    def test_cors_is_open_for_slots_and_book_but_not_the_admin_api(self, api_client, db):
        origin = {"HTTP_ORIGIN": "https://patients.example"}
        preflight = {
            **origin,
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
            "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type",
        }

        slots = api_client.get("/api/slots", **origin)
        book = api_client.options("/api/book", **preflight)
        admin = api_client.options("/api/admin/slots", **preflight)

        assert slots["Access-Control-Allow-Origin"] == "*"
        assert book["Access-Control-Allow-Origin"] == "*"
        assert "content-type" in book["Access-Control-Allow-Headers"]
        assert "Access-Control-Allow-Origin" not in admin

    def test_healthz_and_readyz(self, client, db):
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["database"] == "ok"

    def test_readyz_answers_503_when_the_database_is_unreachable(self, client, db, monkeypatch):
        from django.db import OperationalError, connection

        def unreachable(*args, **kwargs):
            raise OperationalError("connection refused")

        monkeypatch.setattr(connection, "cursor", unreachable)
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert int(answer["Retry-After"]) >= 1  # every 503 says when to retry
