"""The patient pages with verified patients (MEDIQUEUE_PATIENT_AUTH=oidc): they act for the
patient signed in through the clinic's provider, and show a booking to its own patient only.
The sign-in itself runs against a real OpenID provider in the browser tests
(e2e/tests/verified-patients.test.mjs)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from booking import services
from booking.models import Booking
from mediqueue.oidc import PatientOIDCBackend, PatientTokenRefusedError

pytestmark = pytest.mark.django_db


def test_a_visitor_is_sent_to_sign_in_then_back(client, identity_provider, make_slot):
    slot = make_slot(seats=2)
    book_page = reverse("pages:book", args=[slot.pk])

    to_sign_in = client.get(book_page)
    to_provider = client.get(to_sign_in["Location"])

    assert to_sign_in.status_code == 302
    assert to_sign_in["Location"].startswith("/oidc/authenticate/?next=")
    assert to_provider.status_code == 302
    target = urlsplit(to_provider["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{identity_provider.issuer}/auth"
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["mediqueue-pages"]
    assert query["code_challenge_method"] == ["S256"]  # PKCE
    assert query["state"] and query["nonce"]


def test_a_signed_in_patient_books_for_themselves_without_typing_a_name(patient_browser, make_slot):
    browser = patient_browser("patient-7")
    slot = make_slot(seats=2)
    page = browser.get(reverse("pages:book", args=[slot.pk]))

    # A name typed into the form anyway changes nothing: the patient is who signed in.
    answer = browser.post(reverse("pages:book", args=[slot.pk]), {"patient": "someone-else"})

    assert 'name="patient"' not in page.content.decode()
    assert "patient-7" in page.content.decode()
    assert answer.status_code == 302
    assert Booking.objects.get().user_id == "patient-7"


def test_a_booking_page_opens_for_its_own_patient_only(
    client, patient_browser, make_slot, django_user_model
):
    slot = make_slot(seats=2)
    reference = services.book(slot_id=slot.pk, user_id="patient-7").reference
    page = reverse("pages:booking", args=[reference])
    cancel = reverse("pages:cancel", args=[reference])

    anonymous = client.get(page)
    stranger = patient_browser("patient-8")
    theirs, cancelled_by_stranger = stranger.get(page), stranger.post(cancel)
    client.logout()
    owner = patient_browser("patient-7")

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/oidc/")
    assert theirs.status_code == 404 and reference not in theirs.content.decode()
    assert cancelled_by_stranger.status_code == 404
    assert Booking.objects.get().status == "CONFIRMED"
    assert owner.get(page).status_code == 200
    assert owner.post(cancel).status_code == 302
    assert Booking.objects.get().status == "CANCELLED"


def test_my_bookings_lists_the_patient_s_own(patient_browser, make_slot):
    first, second = make_slot(seats=2), make_slot(seats=2)
    mine = services.book(slot_id=first.pk, user_id="patient-7").reference
    theirs = services.book(slot_id=second.pk, user_id="patient-8").reference

    html = patient_browser("patient-7").get(reverse("pages:my-bookings")).content.decode()

    assert mine in html and theirs not in html
    assert "Sign out" in html


def test_in_open_mode_there_is_no_sign_in_nor_my_bookings(client, db):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get(reverse("pages:my-bookings")).status_code == 404
    assert "Sign in" not in client.get("/").content.decode()


def test_patient_accounts_are_named_after_the_subject_and_never_staff(
    identity_provider, django_user_model
):
    staff = django_user_model.objects.create_user("oidc:patient-7", is_staff=True)
    backend = PatientOIDCBackend()

    assert not backend.filter_users_by_claims({"sub": "patient-7"}).filter(pk=staff.pk).exists()
    staff.delete()
    user = backend.create_user({"sub": "patient-7"})
    assert (user.username, user.is_staff, user.has_usable_password()) == (
        "oidc:patient-7",
        False,
        False,
    )


@pytest.mark.parametrize(
    "claims",
    [{"aud": "another-client"}, {"iss": "https://evil.example"}, {"exp": 1, "iat": 0}],
)
def test_the_pages_id_token_gets_the_api_s_checks(identity_provider, claims):
    token = identity_provider.token("patient-7", **{"aud": "mediqueue-pages", **claims})

    with pytest.raises(PatientTokenRefusedError):
        PatientOIDCBackend().get_payload_data(token.encode(), key=None)


def test_a_valid_id_token_for_the_pages_client_is_accepted(identity_provider):
    token = identity_provider.token("patient-7", aud="mediqueue-pages")

    payload = PatientOIDCBackend().get_payload_data(token.encode(), key=None)

    assert payload["sub"] == "patient-7"
