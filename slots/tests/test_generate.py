"""slots.services.slots_generate: a doctor's schedule over a date range, in one transaction."""

from datetime import date, datetime, time, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from slots import services
from slots.errors import DoctorNotFoundError, SlotExistsError
from slots.models import Slot
from slots.services import SlotGenerationError, slots_generate

pytestmark = pytest.mark.django_db

MONDAY = date(2031, 3, 3)  # far enough ahead that nothing is in the past
WEEKDAYS = [0, 1, 2, 3, 4]


def generate(doctor, **overrides):
    schedule = {
        "doctor_id": doctor.pk,
        "first_day": MONDAY,
        "last_day": MONDAY + timedelta(days=6),
        "weekdays": WEEKDAYS,
        "day_start": time(9, 0),
        "day_end": time(12, 0),
        "slot_minutes": 30,
        "seats_per_slot": 4,
        **overrides,
    }
    return slots_generate(**schedule)


def local_starts(doctor) -> list:
    return [
        timezone.localtime(start)
        for start in Slot.objects.filter(doctor=doctor)
        .order_by("start_time")
        .values_list("start_time", flat=True)
    ]


def test_a_working_week_of_half_hour_slots(make_doctor):
    doctor = make_doctor()

    generation = generate(doctor)

    assert (len(generation.created), generation.skipped_existing, generation.skipped_past) == (
        30,
        0,
        0,
    )
    starts = local_starts(doctor)
    assert len(starts) == 30  # 5 weekdays x 6 slots from 09:00 to 12:00
    assert {start.weekday() for start in starts} == set(WEEKDAYS)
    assert sorted({start.time() for start in starts}) == [
        time(9, 0),
        time(9, 30),
        time(10, 0),
        time(10, 30),
        time(11, 0),
        time(11, 30),
    ]
    slot = Slot.objects.filter(doctor=doctor).first()
    assert (slot.total_seats, slot.booked_seats, slot.duration_minutes) == (4, 0, 30)
    assert all(created.pk for created in generation.created)


def test_only_the_chosen_weekdays_get_slots(make_doctor):
    doctor = make_doctor()

    generate(doctor, weekdays=[0, 2], last_day=MONDAY + timedelta(days=13))

    starts = local_starts(doctor)
    assert {start.weekday() for start in starts} == {0, 2}
    assert len({start.date() for start in starts}) == 4  # two Mondays, two Wednesdays


def test_running_it_again_skips_every_existing_slot(make_doctor):
    doctor = make_doctor()
    generate(doctor)

    again = generate(doctor)

    assert (len(again.created), again.skipped_existing, again.skipped) == (0, 30, 30)
    assert Slot.objects.filter(doctor=doctor).count() == 30


def test_existing_slots_are_skipped_and_the_rest_created(make_doctor):
    doctor = make_doctor()
    generate(doctor, last_day=MONDAY)  # Monday only: 6 slots

    generation = generate(doctor, last_day=MONDAY + timedelta(days=1))  # Monday and Tuesday

    assert (len(generation.created), generation.skipped_existing) == (6, 6)
    assert Slot.objects.filter(doctor=doctor).count() == 12


def test_another_doctors_slots_at_the_same_times_do_not_count(make_doctor):
    first, second = make_doctor(name="Dr. A"), make_doctor(name="Dr. B")
    generate(first)

    generation = generate(second)

    assert (len(generation.created), generation.skipped_existing) == (30, 0)


def test_times_already_past_today_are_skipped_and_counted(make_doctor):
    doctor = make_doctor()
    today = timezone.localdate()

    generation = generate(
        doctor,
        first_day=today,
        last_day=today,
        weekdays=range(7),
        day_start=time(0, 0),
        day_end=time(23, 59),
        slot_minutes=60,
    )

    now = timezone.now()
    hours = [timezone.make_aware(datetime.combine(today, time(hour))) for hour in range(23)]
    already_past = sum(1 for start in hours if start <= now)
    assert generation.skipped_past == already_past
    assert len(generation.created) == 23 - already_past
    assert all(slot.start_time > now for slot in generation.created)


def test_a_slot_that_would_end_after_the_day_is_not_created(make_doctor):
    doctor = make_doctor()

    generate(doctor, last_day=MONDAY, day_end=time(10, 15), slot_minutes=30)

    assert [start.time() for start in local_starts(doctor)] == [time(9, 0), time(9, 30)]


@override_settings(TIME_ZONE="Europe/Berlin")
def test_times_are_the_clinics_local_times(make_doctor):
    doctor = make_doctor()

    generate(doctor, last_day=MONDAY, day_end=time(9, 30))  # one slot, 09:00 in Berlin

    start = Slot.objects.get(doctor=doctor).start_time
    assert start.astimezone(timezone.get_fixed_timezone(0)).hour == 8  # CET is UTC+1 in March


def test_it_is_one_transaction_a_rival_insert_leaves_nothing_created(make_doctor, monkeypatch):
    """A slot created by someone else between the read of existing slots and the insert makes
    the whole generation fail cleanly: no partial schedule, a clear error."""
    doctor = make_doctor()
    rival = Slot.objects.create(
        doctor=doctor,
        start_time=timezone.make_aware(datetime.combine(MONDAY, time(10, 0))),
        total_seats=1,
    )
    # The race, made deterministic: the read of existing slots misses the rival's slot.
    monkeypatch.setattr(services, "_taken_start_times", lambda doctor, starts: set())

    with pytest.raises(SlotExistsError) as raised:
        generate(doctor)

    assert "nothing was generated" in raised.value.message
    assert list(Slot.objects.filter(doctor=doctor)) == [rival]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"last_day": MONDAY - timedelta(days=1)}, "The last day must not be before the first"),
        ({"last_day": MONDAY + timedelta(days=92)}, "at most 92 days"),
        ({"weekdays": []}, "Pick at least one weekday"),
        ({"weekdays": [7]}, "Pick at least one weekday"),
        ({"day_end": time(9, 0)}, "The day must end after it starts"),
        ({"day_end": time(9, 20)}, "No 30-minute slot fits between 09:00 and 09:20"),
        ({"slot_minutes": 0}, "between 1 minute and 24 hours"),
        ({"seats_per_slot": 0}, "Seats per slot must be between 1"),
        ({"slot_minutes": 1, "day_start": time(0, 0), "day_end": time(23, 59)}, "at most 5000"),
    ],
)
def test_schedules_that_make_no_sense_are_refused_and_create_nothing(
    make_doctor, overrides, message
):
    doctor = make_doctor()

    with pytest.raises(SlotGenerationError) as raised:
        generate(doctor, **overrides)

    assert message in raised.value.message
    assert raised.value.code == "invalid"
    assert not Slot.objects.exists()


def test_an_unknown_doctor_is_refused(make_doctor):
    doctor = make_doctor()

    with pytest.raises(DoctorNotFoundError):
        generate(doctor, doctor_id=doctor.pk + 1000)

    assert not Slot.objects.exists()
