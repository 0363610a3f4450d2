"""Property-based tests (hypothesis): the request parsers never crash and never let unclean data
through, and random sequences of books and cancels always keep the invariants."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking import services
from booking.errors import AlreadyBookedError, SlotFullError
from booking.invariants import find_violations
from booking.models import Booking
from booking.serializers import BookInputSerializer
from mediqueue.validation import MAX_DB_INTEGER, is_clean_text
from slots.models import Doctor, Slot
from slots.serializers import SlotListQuerySerializer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)


@given(user_id=json_values, slot_id=json_values)
def test_book_input_is_either_clean_or_refused_field_by_field(user_id, slot_id):
    parsed = BookInputSerializer(data={"userId": user_id, "slotId": slot_id})

    if parsed.is_valid():
        patient, slot = parsed.validated_data["userId"], parsed.validated_data["slotId"]
        assert isinstance(patient, str) and 1 <= len(patient) <= 64
        assert is_clean_text(patient)
        assert isinstance(slot, int) and not isinstance(slot, bool)
        assert 1 <= slot <= MAX_DB_INTEGER
    else:
        assert set(parsed.errors) <= {"userId", "slotId"}
        assert parsed.errors


@given(
    st.dictionaries(
        st.sampled_from(["doctor", "date", "from", "to", "available", "limit", "offset", "junk"]),
        st.text(max_size=30),
    )
)
def test_slot_filters_are_either_valid_or_refused_without_crashing(query):
    parsed = SlotListQuerySerializer(data=query)

    if parsed.is_valid():
        data = parsed.validated_data
        assert 1 <= data["limit"] <= 1000
        assert 0 <= data["offset"] <= 10**9
    else:
        assert parsed.errors


operations = st.lists(
    st.tuples(st.sampled_from(["book", "cancel"]), st.integers(0, 2), st.integers(0, 5)),
    max_size=40,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=operations)
def test_any_sequence_of_books_and_cancels_keeps_the_invariants(steps):
    with transaction.atomic():
        doctor = Doctor.objects.create(name="Dr. Property")
        start = timezone.now() + timedelta(days=1)
        slots = [
            Slot.objects.create(
                doctor=doctor, start_time=start + timedelta(hours=n), total_seats=seats
            )
            for n, seats in enumerate((1, 2, 3))
        ]
        held: dict[tuple[int, int], str] = {}  # (slot, patient) -> reference: the model

        for operation, slot_index, patient in steps:
            slot = slots[slot_index]
            if operation == "book":
                try:
                    outcome = services.book(slot_id=slot.pk, user_id=f"p{patient}")
                except SlotFullError:
                    assert sum(1 for s, _ in held if s == slot_index) == slot.total_seats
                    continue
                except AlreadyBookedError:
                    assert (slot_index, patient) in held
                    continue
                assert (slot_index, patient) not in held
                held[(slot_index, patient)] = outcome.booking.reference
            elif (slot_index, patient) in held:
                outcome = services.cancel(reference=held.pop((slot_index, patient)))
                assert outcome.changed

            assert find_violations() == []
            for index, each in enumerate(slots):
                each.refresh_from_db()
                expected = sum(1 for s, _ in held if s == index)
                assert each.booked_seats == expected <= each.total_seats
        assert Booking.objects.filter(status="CONFIRMED").count() == len(held)
        transaction.set_rollback(True)
