import pytest
from django.core.management import CommandError, call_command

from booking import services
from slots.models import Doctor, Slot

pytestmark = pytest.mark.django_db


def test_check_bookings_passes_on_consistent_data(make_slot, capsys):
    slot = make_slot(seats=2)
    services.book(slot_id=slot.pk, user_id="a")

    call_command("check_bookings")

    assert "invariants hold" in capsys.readouterr().out


def test_check_bookings_names_a_slot_whose_counter_was_corrupted(make_slot, capsys):
    healthy = make_slot(seats=3)
    services.book(slot_id=healthy.pk, user_id="a")
    corrupted = make_slot(seats=3)
    services.book(slot_id=corrupted.pk, user_id="a")
    Slot.objects.filter(pk=corrupted.pk).update(booked_seats=2)  # a lost cancel, say

    with pytest.raises(CommandError, match="1 slot"):
        call_command("check_bookings")

    err = capsys.readouterr().err
    assert f"slot {corrupted.pk}:" in err
    assert "booked_seats=2 but 1 confirmed bookings (I1)" in err
    assert f"slot {healthy.pk}:" not in err


def test_seed_demo_loads_doctors_and_slots_once(db):
    call_command("seed_demo")
    counts = (Doctor.objects.count(), Slot.objects.count())
    call_command("seed_demo")

    assert counts[0] >= 3 and counts[1] >= 20
    assert (Doctor.objects.count(), Slot.objects.count()) == counts
    assert Slot.objects.filter(booked_seats__gt=0).exists()
    call_command("check_bookings")
