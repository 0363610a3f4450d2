"""Factories and clients shared by every app's tests (all against real PostgreSQL)."""

from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from slots.models import Doctor, Slot

_slot_minutes = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_listing_cache_nor_throttling(settings):
    """Tests write slots straight through the ORM, which the listing cache cannot see, and book
    far faster than any patient; the cache and the throttles have tests of their own that turn
    them back on."""
    settings.MEDIQUEUE_LISTING_CACHE_SECONDS = 0
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT = None
    settings.MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT = None


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


@pytest.fixture
def slot_lock_held_elsewhere(transactional_db):
    """A context manager holding a slot's row lock from another thread and connection, the way
    a slow transaction of another request would, until the block ends."""
    from django.db import connection, transaction

    from slots.locks import lock_slot

    @contextmanager
    def hold(slot_id: int):
        locked, release = threading.Event(), threading.Event()

        def hold_the_lock():
            try:
                with transaction.atomic():
                    lock_slot(slot_id)
                    locked.set()
                    release.wait(10)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        try:
            assert locked.wait(10), "could not take the slot lock"
            yield
        finally:
            release.set()
            holder.join()

    return hold
