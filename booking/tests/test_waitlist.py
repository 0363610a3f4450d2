"""The waiting list's services: joining, leaving, promotion on every freed seat, expiry."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from booking import services, waitlist
from booking.errors import (
    AlreadyBookedError,
    AlreadyPromotedError,
    AlreadyWaitingError,
    SeatsAvailableError,
    SlotClosedError,
    WaitlistEntryNotFoundError,
)
from booking.invariants import find_violations
from booking.models import Booking, WaitlistEntry
from slots import services as slot_services
from slots.errors import SlotNotFoundError
from slots.models import Slot

pytestmark = pytest.mark.django_db

Status = WaitlistEntry.Status


def join(slot, user_id, **kwargs):
    return waitlist.waitlist_join(slot_id=slot.pk, user_id=user_id, **kwargs)


def add_seats(slot, seats):
    return slot_services.slot_update(
        slot_id=slot.pk,
        doctor_id=slot.doctor_id,
        start_time=slot.start_time,
        duration_minutes=slot.duration_minutes,
        total_seats=slot.total_seats + seats,
    )


class TestJoin:
    def test_a_full_slot_queues_patients_in_join_order(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)

        first, second = join(slot, "w1"), join(slot, "w2")

        assert (first.status, first.position) == (Status.WAITING, 1)
        assert (second.status, second.position) == (Status.WAITING, 2)
        assert len(first.entry.reference) >= 22  # 128 random bits, like a booking's
        assert first.entry.reference != second.entry.reference
        assert list(WaitlistEntry.objects.values_list("user_id", flat=True)) == ["w1", "w2"]

    def test_a_slot_with_a_free_seat_is_booked_not_queued_for(self, make_slot):
        slot = make_slot(seats=1)

        with pytest.raises(SeatsAvailableError) as refused:
            join(slot, "w1")

        assert (refused.value.code, refused.value.http_status) == ("seats_available", 409)
        assert not WaitlistEntry.objects.exists()

    def test_a_verified_patient_holding_a_seat_is_told_so(self, make_full_slot, settings):
        # With verified patients only: in open mode nobody is told (test_waitlist_oracle.py).
        settings.MEDIQUEUE_PATIENT_AUTH = "oidc"
        slot, _ = make_full_slot(seats=1)

        with pytest.raises(AlreadyBookedError):
            join(slot, "holder-0")

        assert not WaitlistEntry.objects.exists()

    def test_a_verified_patient_joining_twice_is_refused_without_the_entry(
        self, make_full_slot, settings
    ):
        settings.MEDIQUEUE_PATIENT_AUTH = "oidc"
        slot, _ = make_full_slot(seats=1)
        join(slot, "w1")

        with pytest.raises(AlreadyWaitingError) as refused:
            join(slot, "w1")

        assert refused.value.code == "already_waiting"
        assert WaitlistEntry.objects.get().reference not in refused.value.message
        assert WaitlistEntry.objects.count() == 1

    def test_a_started_slot_and_an_unknown_one_are_refused(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        Slot.objects.filter(pk=slot.pk).update(start_time=timezone.now() - timedelta(minutes=1))

        with pytest.raises(SlotClosedError):
            join(slot, "w1")
        with pytest.raises(SlotNotFoundError):
            waitlist.waitlist_join(slot_id=slot.pk + 1000, user_id="w1")
        assert not WaitlistEntry.objects.exists()

    def test_a_patient_who_left_may_join_again_at_the_end(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        first = join(slot, "w1")
        join(slot, "w2")
        waitlist.waitlist_leave(reference=first.entry.reference)

        again = join(slot, "w1")

        assert again.position == 2
        assert again.entry.reference != first.entry.reference


class TestPromotion:
    def test_a_cancel_hands_the_seat_to_the_earliest_waiting_patient(self, make_full_slot):
        slot, references = make_full_slot(seats=2)
        first, second = join(slot, "w1"), join(slot, "w2")

        outcome = services.cancel(reference=references[0])

        assert outcome.slot.booked_seats == 2  # freed and taken again in one transaction
        promoted = waitlist.waitlist_entry_get(reference=first.entry.reference)
        assert promoted.status == Status.BOOKED
        assert promoted.entry.booking.user_id == "w1"
        assert promoted.entry.booking.status == Booking.Status.CONFIRMED
        assert promoted.entry.booking.reference != first.entry.reference
        still = waitlist.waitlist_entry_get(reference=second.entry.reference)
        assert (still.status, still.position) == (Status.WAITING, 1)
        slot.refresh_from_db()
        assert slot.booked_seats == 2
        assert find_violations() == []

    def test_without_anyone_waiting_a_cancel_frees_the_seat(self, make_full_slot):
        slot, references = make_full_slot(seats=1)

        services.cancel(reference=references[0])

        slot.refresh_from_db()
        assert slot.booked_seats == 0

    def test_patients_who_left_are_skipped(self, make_full_slot):
        slot, references = make_full_slot(seats=1)
        gone, stays = join(slot, "w1"), join(slot, "w2")
        waitlist.waitlist_leave(reference=gone.entry.reference)

        services.cancel(reference=references[0])

        assert waitlist.waitlist_entry_get(reference=gone.entry.reference).status == Status.LEFT
        assert waitlist.waitlist_entry_get(reference=stays.entry.reference).status == Status.BOOKED

    def test_seats_added_by_an_admin_go_to_the_waiting_list_one_each(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        entries = [join(slot, f"w{n}") for n in range(3)]

        add_seats(slot, 2)

        statuses = [
            waitlist.waitlist_entry_get(reference=e.entry.reference).status for e in entries
        ]
        assert statuses == [Status.BOOKED, Status.BOOKED, Status.WAITING]
        slot.refresh_from_db()
        assert (slot.booked_seats, slot.total_seats) == (3, 3)
        assert find_violations() == []

    def test_more_seats_than_patients_waiting_leaves_the_rest_free(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        join(slot, "w1")

        add_seats(slot, 3)

        slot.refresh_from_db()
        assert slot.booked_seats == 2
        assert not WaitlistEntry.objects.filter(status=Status.WAITING).exists()


class TestLeave:
    def test_leaving_takes_the_entry_off_and_repeating_changes_nothing(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        entry = join(slot, "w1").entry

        left = waitlist.waitlist_leave(reference=entry.reference)
        again = waitlist.waitlist_leave(reference=entry.reference)

        assert (left.changed, left.waiting.status) == (True, Status.LEFT)
        assert (again.changed, again.waiting.status) == (False, Status.LEFT)
        entry.refresh_from_db()
        assert entry.status == Status.LEFT and entry.closed_at is not None

    def test_a_promoted_entry_cannot_leave(self, make_full_slot):
        slot, references = make_full_slot(seats=1)
        entry = join(slot, "w1").entry
        services.cancel(reference=references[0])

        with pytest.raises(AlreadyPromotedError) as refused:
            waitlist.waitlist_leave(reference=entry.reference)

        assert refused.value.http_status == 409
        assert Booking.objects.filter(user_id="w1", status=Booking.Status.CONFIRMED).exists()

    @pytest.mark.parametrize("reference", ["unknown-reference", "bad reference!", "x" * 40])
    def test_unknown_and_malformed_references_are_not_found(self, reference):
        with pytest.raises(WaitlistEntryNotFoundError):
            waitlist.waitlist_leave(reference=reference)
        with pytest.raises(WaitlistEntryNotFoundError):
            waitlist.waitlist_entry_get(reference=reference)


class TestExpiry:
    def test_entries_of_a_started_slot_read_expired_then_are_recorded_so(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        entry = join(slot, "w1").entry
        Slot.objects.filter(pk=slot.pk).update(start_time=timezone.now() - timedelta(minutes=1))

        assert waitlist.waitlist_entry_get(reference=entry.reference).status == Status.EXPIRED
        assert waitlist.expire_started() == 1
        entry.refresh_from_db()
        assert entry.status == Status.EXPIRED and entry.closed_at is not None
        assert waitlist.expire_started() == 0

    def test_seats_added_to_a_started_slot_expire_its_entries(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        entry = join(slot, "w1").entry
        Slot.objects.filter(pk=slot.pk).update(start_time=timezone.now() - timedelta(minutes=1))
        slot.refresh_from_db()

        add_seats(slot, 1)

        entry.refresh_from_db()
        assert entry.status == Status.EXPIRED
        assert not Booking.objects.filter(user_id="w1").exists()

    def test_leaving_an_expired_entry_changes_nothing(self, make_full_slot):
        slot, _ = make_full_slot(seats=1)
        entry = join(slot, "w1").entry
        Slot.objects.filter(pk=slot.pk).update(start_time=timezone.now() - timedelta(minutes=1))

        left = waitlist.waitlist_leave(reference=entry.reference)

        assert (left.changed, left.waiting.status) == (False, Status.EXPIRED)


class TestInvariants:
    """check_bookings names each broken waiting-list invariant (rows broken by hand)."""

    def assert_reported(self, invariant, capsys):
        with pytest.raises(CommandError):
            call_command("check_bookings")
        assert f"({invariant})" in capsys.readouterr().err

    def test_i3_someone_waits_while_a_seat_is_free(self, make_full_slot, capsys):
        slot, _ = make_full_slot(seats=1)
        join(slot, "w1")
        Slot.objects.filter(pk=slot.pk).update(total_seats=2)

        self.assert_reported("I3", capsys)

    def test_i4_a_later_entry_promoted_before_an_earlier_one(self, make_full_slot, capsys):
        slot, references = make_full_slot(seats=1)
        first, second = join(slot, "w1"), join(slot, "w2")
        services.cancel(reference=references[0])
        # Swap who got the seat: the later entry booked, the earlier one still waiting.
        booking = Booking.objects.get(user_id="w1")
        WaitlistEntry.objects.filter(pk=first.entry.pk).update(
            status=Status.WAITING, booking=None, closed_at=None
        )
        Booking.objects.filter(pk=booking.pk).update(user_id="w2")
        WaitlistEntry.objects.filter(pk=second.entry.pk).update(
            status=Status.BOOKED, booking=booking, closed_at=timezone.now()
        )

        self.assert_reported("I4", capsys)

    def test_i5_an_entry_passed_over_though_its_patient_had_no_seat(self, make_full_slot, capsys):
        slot, _ = make_full_slot(seats=1)
        entry = join(slot, "w1").entry
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            status=Status.PASSED, closed_at=timezone.now()
        )

        self.assert_reported("I5", capsys)

    def test_a_healthy_waiting_list_passes(self, make_full_slot, capsys):
        slot, references = make_full_slot(seats=2)
        join(slot, "w1"), join(slot, "w2"), join(slot, "w3")
        services.cancel(reference=references[1])

        call_command("check_bookings")

        assert "invariants hold" in capsys.readouterr().out
