"""Factories and clients shared by every app's tests (all against real PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from slots.models import Doctor, Slot

_slot_minutes = itertools.count(1)


@pytest.fixture
def make_doctor(db):
    def make(name: str = "Dr. Test", specialty: str = "General practice") -> Doctor:
        return Doctor.objects.create(name=name, specialty=specialty)

    return make


@pytest.fixture
def make_slot(db, make_doctor):
    """A slot that starts in the future unless ``starts_in`` says otherwise."""

    def make(
        *,
        seats: int = 3,
        starts_in: timedelta | None = None,
        doctor: Doctor | None = None,
        duration_minutes: int = 30,
    ) -> Slot:
        start = timezone.now() + (starts_in or timedelta(days=1, minutes=next(_slot_minutes)))
        return Slot.objects.create(
            doctor=doctor or make_doctor(),
            start_time=start.replace(microsecond=0),
            total_seats=seats,
            duration_minutes=duration_minutes,
        )

    return make


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("clinic-admin", password="pw", is_staff=True)


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    return client
