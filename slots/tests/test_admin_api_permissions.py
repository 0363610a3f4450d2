"""The admin API asks for the same model permissions as the Django admin (security review 2,
finding 2: a staff user with no permission created slots and doctors through the API)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from slots.models import Doctor, Slot


@pytest.fixture
def staff_token_client(django_user_model):
    """``staff_token_client(*permissions)``: a token client of a staff user holding exactly
    ``permissions`` ("slots.add_slot", ...)."""

    def make(*permissions: str) -> APIClient:
        user = django_user_model.objects.create_user(
            f"staff-{len(permissions)}-{'-'.join(permissions)}", password="pw", is_staff=True
        )
        for name in permissions:
            app_label, codename = name.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client

    return make


def slot_payload(doctor: Doctor) -> dict:
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    return {"doctorId": doctor.pk, "startTime": start.isoformat(), "totalSeats": 5}


def test_staff_without_add_slot_cannot_create_a_slot(
    staff_token_client, make_doctor, post_json, assert_error
):
    doctor = make_doctor()
    client = staff_token_client("slots.add_doctor")

    response = post_json(client, "/api/admin/slots", slot_payload(doctor))

    assert_error(response, 403, "permission_denied")
    assert not Slot.objects.exists()


def test_staff_without_add_doctor_cannot_create_a_doctor(
    staff_token_client, db, post_json, assert_error
):
    client = staff_token_client("slots.add_slot")

    response = post_json(client, "/api/admin/doctors", {"name": "Dr. Nobody"})

    assert_error(response, 403, "permission_denied")
    assert not Doctor.objects.exists()


def test_staff_with_the_admins_permissions_create_slots_and_doctors(
    staff_token_client, db, post_json
):
    client = staff_token_client("slots.add_slot", "slots.add_doctor")

    doctor = post_json(client, "/api/admin/doctors", {"name": "Dr. Allowed"})
    slot = post_json(client, "/api/admin/slots", slot_payload(Doctor.objects.get()))

    assert (doctor.status_code, slot.status_code) == (201, 201)


def test_a_superuser_needs_no_explicit_permission(django_user_model, db, post_json):
    admin = django_user_model.objects.create_superuser("root", password="pw")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin).key}")

    assert post_json(client, "/api/admin/doctors", {"name": "Dr. Root"}).status_code == 201
