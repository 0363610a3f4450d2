import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from booking import services
from booking.models import WaitlistEntry
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


def test_seed_demo_shows_a_full_slot_with_its_waiting_list(db):
    """Issue 23: the waiting list, the newest feature, was invisible until one filled a slot."""
    call_command("seed_demo")

    full = Slot.objects.filter(booked_seats=F("total_seats")).order_by("start_time")
    assert full.count() == 1
    waiting = WaitlistEntry.objects.filter(slot=full[0], status=WaitlistEntry.Status.WAITING)
    assert list(waiting.order_by("id").values_list("user_id", flat=True)) == [
        "demo-waiting-1",
        "demo-waiting-2",
        "demo-waiting-3",
    ]
    assert full[0].start_time > timezone.now()


def test_allocate_refuses_to_start_without_a_queue_or_with_a_bad_metrics_address(settings):
    settings.MEDIQUEUE_BOOKING_QUEUE_URL = ""
    with pytest.raises(CommandError, match="MEDIQUEUE_BOOKING_QUEUE_URL is not set"):
        call_command("allocate")
    settings.MEDIQUEUE_BOOKING_QUEUE_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
    with pytest.raises(CommandError, match="ADDRESS:PORT"):
        call_command("allocate", "--metrics-bind", "9102")
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("allocate", "--batch-size", "0")
