"""Reads behind the pages and the admin overview."""

from datetime import datetime, time, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from slots.models import Slot
from slots.selectors import slot_overview, slots_by_day_and_doctor, start_of_day

pytestmark = pytest.mark.django_db


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def slot_at(doctor, start, seats=4) -> Slot:
    return Slot.objects.create(doctor=doctor, start_time=start, total_seats=seats)


def test_slots_are_grouped_by_day_then_doctor_by_name_in_time_order(make_doctor):
    zed, abel = make_doctor(name="Dr. Zed"), make_doctor(name="Dr. Abel")
    zed_late = slot_at(zed, at(1, 15))
    zed_early = slot_at(zed, at(1, 9))
    abel_next_day = slot_at(abel, at(2, 9))
    abel_first_day = slot_at(abel, at(1, 11))

    days = slots_by_day_and_doctor([zed_late, abel_next_day, zed_early, abel_first_day])

    assert [day.day for day in days] == [at(1, 0).date(), at(2, 0).date()]
    first = days[0]
    assert [entry.doctor.name for entry in first.doctors] == ["Dr. Abel", "Dr. Zed"]
    assert first.doctors[1].slots == [zed_early, zed_late]
    assert [entry.slots for entry in days[1].doctors] == [[abel_next_day]]


@override_settings(TIME_ZONE="America/New_York")
def test_the_day_of_a_slot_is_its_day_in_the_clinics_time_zone(make_doctor):
    doctor = make_doctor()
    # 02:00 UTC on a day is still the evening before in New York.
    start = datetime(2031, 6, 10, 2, 0, tzinfo=timezone.get_fixed_timezone(0))
    slot = slot_at(doctor, start)

    (day,) = slots_by_day_and_doctor([slot])

    assert str(day.day) == "2031-06-09"


def test_overview_lists_every_day_of_the_window_with_totals(make_doctor, book_seat):
    doctor = make_doctor(name="Dr. Busy")
    other = make_doctor(name="Dr. Calm")
    full = slot_at(doctor, at(1, 9), seats=2)
    half = slot_at(doctor, at(1, 10), seats=4)
    calm = slot_at(other, at(1, 9), seats=3)
    for patient in ("a", "b"):
        book_seat(slot_id=full.pk, user_id=patient)
        book_seat(slot_id=half.pk, user_id=patient)

    days = slot_overview(first_day=timezone.localdate(), days=3)

    assert [day.day for day in days] == [timezone.localdate() + timedelta(days=n) for n in range(3)]
    today, tomorrow, after = days
    assert today.doctors == [] and after.doctors == []
    assert (tomorrow.total_seats, tomorrow.booked_seats, tomorrow.full_slots) == (9, 4, 1)
    assert [entry.doctor.name for entry in tomorrow.doctors] == ["Dr. Busy", "Dr. Calm"]
    busy = tomorrow.doctors[0]
    assert busy.slots == [full, half]
    assert (busy.booked_seats, busy.total_seats) == (4, 6)
    assert tomorrow.doctors[1].slots == [calm]


def test_overview_includes_started_slots_of_today_and_nothing_outside_the_window(make_doctor):
    doctor = make_doctor()
    # A second ago, or midnight if the test runs in the first second of the day.
    start = max(timezone.now() - timedelta(seconds=1), start_of_day(timezone.localdate()))
    earlier_today = slot_at(doctor, start)
    slot_at(doctor, at(-1, 12))  # yesterday
    slot_at(doctor, at(2, 12))  # after a two-day window

    days = slot_overview(first_day=timezone.localdate(), days=2)

    assert [slot for day in days for slot in day.slots] == [earlier_today]
    assert earlier_today.has_started
