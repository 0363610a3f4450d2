"""Verified patients (MEDIQUEUE_PATIENT_AUTH=oidc; security review 2, finding 6: anyone could
book, cancel or queue in any patient's name). The patient is the subject of a bearer JWT
checked against the provider's JWKS; the tokens here are signed with keys made in the test
(the identity_provider fixture), the JWKS served over HTTP as a provider does."""

import base64
import functools
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from booking import services, waitlist
from booking.models import Booking, WaitlistEntry

pytestmark = pytest.mark.django_db


def book(client, slot, **body):
    return client.post("/api/book", {"slotId": slot.pk, **body}, format="json")


def unsigned(token: str) -> str:
    """``token`` re-headed as alg "none", without a signature."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    _, payload, _ = token.split(".")
    return f"{header.decode().rstrip('=')}.{payload}."


# --- Which tokens are believed ------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_valid_token_books_for_its_subject(patient_client, make_slot, algorithm):
    slot = make_slot(seats=2)

    answer = book(patient_client("patient-7", algorithm=algorithm), slot)

    assert answer.status_code == 201, answer.content
    assert answer.json()["booking"]["user_id"] == "patient-7"
    assert Booking.objects.get().user_id == "patient-7"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def hs256_signed(payload: dict, *, key: bytes) -> str:
    """The key-confusion attack, signed by hand (PyJWT refuses to): HMAC keyed with the
    provider's public key, which anyone has."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


@functools.cache
def another_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def refused_tokens(provider):
    other_key = another_key()
    now = int(time.time())
    valid = provider.token("patient-7")
    public_pem = (
        provider.keys["RS256"][1]
        .public_key()
        .public_bytes(
            encoding=__import__("cryptography").hazmat.primitives.serialization.Encoding.PEM,
            format=__import__(
                "cryptography"
            ).hazmat.primitives.serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    return {
        "forged: signed by another key under the provider's kid": provider.token(key=other_key),
        "forged: a key id the provider does not have": provider.token(key=other_key, kid="evil"),
        "expired beyond the leeway": provider.token(exp=now - 120, iat=now - 600),
        "not yet valid beyond the leeway": provider.token(nbf=now + 600),
        "for another audience": provider.token(aud="another-api"),
        "from another issuer": provider.token(iss="https://evil.example"),
        "alg none": unsigned(valid),
        "HS256 keyed with the public key": hs256_signed(
            {
                "iss": provider.issuer,
                "aud": provider.audience,
                "sub": "p",
                "iat": now,
                "exp": now + 300,
            },
            key=public_pem,
        ),
        "without an expiry": provider.token(exp=None),
        "without a subject": provider.token(sub=None),
        "a subject that cannot be a patient id": provider.token(sub="alice\u200b"),
        "not a JWT at all": "not-a-token",
    }


@pytest.mark.parametrize(
    "case",
    [
        "forged: signed by another key under the provider's kid",
        "forged: a key id the provider does not have",
        "expired beyond the leeway",
        "not yet valid beyond the leeway",
        "for another audience",
        "from another issuer",
        "alg none",
        "HS256 keyed with the public key",
        "without an expiry",
        "without a subject",
        "a subject that cannot be a patient id",
        "not a JWT at all",
    ],
)
def test_a_token_that_does_not_check_out_is_refused_and_books_nothing(
    identity_provider, make_slot, assert_error, case
):
    slot = make_slot(seats=2)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refused_tokens(identity_provider)[case]}")

    answer = book(client, slot)

    assert_error(answer, 401, "authentication_failed")
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert not Booking.objects.exists()


def test_a_clock_a_little_off_is_tolerated_within_the_leeway(patient_client, make_slot):
    now = int(time.time())
    client = patient_client(exp=now - 10, iat=now - 300)  # expired 10 s ago, leeway 30 s

    assert book(client, make_slot(seats=1)).status_code == 201


def test_no_token_is_401_with_a_bearer_challenge(identity_provider, make_slot, assert_error):
    answer = book(APIClient(), make_slot(seats=1), userId="patient-7")

    assert_error(answer, 401, "not_authenticated")
    assert answer["WWW-Authenticate"] == 'Bearer realm="mediqueue"'
    assert not Booking.objects.exists()


def test_a_provider_that_cannot_be_reached_is_503_with_retry_after(
    patient_client, settings, make_slot, assert_error
):
    from mediqueue import oidc

    client = patient_client()
    settings.MEDIQUEUE_OIDC_JWKS_URL = "http://127.0.0.1:9/jwks"  # nothing listens there
    oidc._jwks_client.cache_clear()

    answer = book(client, make_slot(seats=1))

    assert_error(answer, 503, "unavailable")
    assert int(answer["Retry-After"]) >= 1


def test_keys_are_fetched_once_not_per_request(patient_client, identity_provider, make_slot):
    slot = make_slot(seats=5)
    for n in range(4):
        assert book(patient_client(f"p{n}"), slot).status_code == 201

    assert identity_provider.jwks_requests == 1


# --- What a verified patient may do -------------------------------------------------------


def test_a_body_naming_another_patient_is_403(patient_client, make_slot, assert_error):
    slot = make_slot(seats=2)

    answer = book(patient_client("patient-7"), slot, userId="patient-8")

    assert_error(answer, 403, "permission_denied")
    assert not Booking.objects.exists()


def test_a_body_naming_the_same_patient_is_fine_even_as_a_number(patient_client, make_slot):
    slot = make_slot(seats=2)

    assert book(patient_client("7"), slot, userId=7).status_code == 201


def test_viewing_and_cancelling_need_the_holder_s_token(
    patient_client, identity_provider, make_slot, assert_error
):
    slot = make_slot(seats=2)
    reference = services.book(slot_id=slot.pk, user_id="patient-7").reference
    holder, stranger = patient_client("patient-7"), patient_client("patient-8")

    assert_error(APIClient().get(f"/api/bookings/{reference}"), 401, "not_authenticated")
    assert_error(stranger.get(f"/api/bookings/{reference}"), 404, "booking_not_found")
    assert_error(stranger.post(f"/api/bookings/{reference}/cancel"), 404, "booking_not_found")
    assert_error(APIClient().post(f"/api/bookings/{reference}/cancel"), 401, "not_authenticated")
    assert Booking.objects.get().status == "CONFIRMED"
    assert holder.get(f"/api/bookings/{reference}").status_code == 200
    assert holder.post(f"/api/bookings/{reference}/cancel").status_code == 200
    assert Booking.objects.get().status == "CANCELLED"


def test_the_waiting_list_needs_the_token_and_tells_the_patient_their_own_state(
    patient_client, make_full_slot, assert_error
):
    slot, _ = make_full_slot(seats=1)
    path = f"/api/slots/{slot.pk}/waitlist"
    holder, waiter, stranger = (
        patient_client("holder-0"),
        patient_client("waiter"),
        patient_client("stranger"),
    )

    assert_error(
        APIClient().post(path, {"userId": "waiter"}, format="json"), 401, "not_authenticated"
    )
    joined = waiter.post(path, {}, format="json")
    assert joined.status_code == 201
    assert_error(waiter.post(path, {}, format="json"), 409, "already_waiting")
    assert_error(holder.post(path, {}, format="json"), 409, "already_booked")
    assert_error(stranger.post(path, {"userId": "waiter"}, format="json"), 403, "permission_denied")
    entry = joined.json()["entry"]["reference"]
    assert_error(stranger.get(f"/api/waitlist/{entry}"), 404, "waitlist_entry_not_found")
    assert_error(stranger.post(f"/api/waitlist/{entry}/leave"), 404, "waitlist_entry_not_found")
    assert waiter.get(f"/api/waitlist/{entry}").status_code == 200
    assert waiter.post(f"/api/waitlist/{entry}/leave").status_code == 200
    assert WaitlistEntry.objects.get().status == "LEFT"


def test_a_patient_lists_their_own_bookings_without_references_in_hand(patient_client, make_slot):
    first, second = make_slot(seats=2), make_slot(seats=2)
    mine = [services.book(slot_id=s.pk, user_id="patient-7").reference for s in (first, second)]
    services.book(slot_id=first.pk, user_id="patient-8")
    services.cancel(reference=mine[0])

    answer = patient_client("patient-7").get("/api/me/bookings")

    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    listed = answer.json()["bookings"]
    assert sorted(b["booking"]["reference"] for b in listed) == sorted(mine)
    assert {b["booking"]["user_id"] for b in listed} == {"patient-7"}
    assert {b["booking"]["status"] for b in listed} == {"CONFIRMED", "CANCELLED"}


def test_my_bookings_needs_a_token(identity_provider, assert_error):
    assert_error(APIClient().get("/api/me/bookings"), 401, "not_authenticated")


def test_in_open_mode_my_bookings_does_not_exist(api_client, db, assert_error):
    assert_error(api_client.get("/api/me/bookings"), 404, "not_found")


def test_the_waiting_list_service_tells_verified_patients_their_state(
    identity_provider, make_full_slot
):
    slot, _ = make_full_slot(seats=1)
    waitlist.waitlist_join(slot_id=slot.pk, user_id="w")

    with pytest.raises(Exception) as refused:
        waitlist.waitlist_join(slot_id=slot.pk, user_id="w")

    assert refused.value.code == "already_waiting"


def test_a_plain_drf_view_can_take_the_patient_from_the_authentication_class(identity_provider, rf):
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from mediqueue.oidc import PatientBearerAuthentication

    class WhoAmI(APIView):
        authentication_classes = [PatientBearerAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request):
            return Response({"patient": request.user.patient_id})

    token = identity_provider.token("patient-9")
    signed_in = WhoAmI.as_view()(rf.get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    anonymous = WhoAmI.as_view()(rf.get("/"))
    forged = WhoAmI.as_view()(rf.get("/", HTTP_AUTHORIZATION=f"Bearer {unsigned(token)}"))

    assert (signed_in.status_code, signed_in.data) == (200, {"patient": "patient-9"})
    assert anonymous.status_code == 401
    assert forged.status_code == 401


def test_a_body_that_is_not_an_object_is_400_for_a_verified_patient(
    patient_client, make_slot, assert_error
):
    answer = patient_client().post("/api/book", [1, 2], format="json")

    assert_error(answer, 400, "invalid")
