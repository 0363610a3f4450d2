"""A slot renders the same in a listing and on its own, with the schema's fields."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from slots.models import Slot
from slots.representation import utc_iso
from slots.serializers import SlotOutputSerializer

pytestmark = pytest.mark.django_db


def test_listing_and_detail_render_each_slot_identically(
    api_client, make_slot, make_doctor, book_seat
):
    doctor = make_doctor('Dr. Ünïcode "Quotes" O\'Neil', "Neuro\\logy")
    whole = make_slot(doctor=doctor, seats=3, duration_minutes=45)
    odd = make_slot(seats=2, starts_in=timedelta(days=2))
    Slot.objects.filter(pk=odd.pk).update(start_time=odd.start_time + timedelta(microseconds=7))
    book_seat(slot_id=whole.pk, user_id="p")

    listing = api_client.get("/api/slots").json()
    details = [api_client.get(f"/api/slots/{slot['id']}").json() for slot in listing]

    assert listing == details
    assert [s["id"] for s in listing] == [whole.pk, odd.pk]
    assert listing[0]["doctor_name"] == doctor.name
    assert listing[0]["booked_seats"] == 1
    assert listing[0]["end_time"] == utc_iso(whole.start_time + timedelta(minutes=45))
    assert listing[1]["start_time"].endswith(".000007Z")


def test_times_are_utc_with_a_z():
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert utc_iso(moment) == "2026-12-01T09:30:00Z"
    assert utc_iso(moment.replace(microsecond=5)) == "2026-12-01T09:30:00.000005Z"
    assert utc_iso(timezone.localtime(moment)) == "2026-12-01T09:30:00Z"
    assert utc_iso(None) is None


def test_the_documented_schema_has_the_rendered_keys(api_client, make_slot):
    slot = make_slot()
    rendered = api_client.get(f"/api/slots/{slot.pk}").json()
    assert list(rendered) == list(SlotOutputSerializer().fields)


@pytest.mark.django_db(transaction=True)
class TestListingCache:
    """Transactional: the cache is cleared when a change commits."""

    @pytest.fixture(autouse=True)
    def _cache_on(self, settings):
        from slots.selectors import slot_listing_changed

        settings.MEDIQUEUE_LISTING_CACHE_SECONDS = 60
        slot_listing_changed()
        yield
        slot_listing_changed()

    def test_a_booking_or_cancel_in_this_process_is_visible_at_once(
        self, api_client, make_slot, book_seat, cancel_booking
    ):
        slot = make_slot(seats=3)
        assert api_client.get("/api/slots").json()[0]["booked_seats"] == 0

        booking = book_seat(slot_id=slot.pk, user_id="p").booking
        assert api_client.get("/api/slots").json()[0]["booked_seats"] == 1

        cancel_booking(reference=booking.reference)
        assert api_client.get("/api/slots").json()[0]["booked_seats"] == 0

    def test_other_writers_show_up_once_the_entry_expires(self, api_client, make_slot, settings):
        slot = make_slot(seats=3)
        api_client.get("/api/slots")
        Slot.objects.filter(pk=slot.pk).update(booked_seats=2)  # as another worker's booking

        assert api_client.get("/api/slots").json()[0]["booked_seats"] == 0  # cached
        settings.MEDIQUEUE_LISTING_CACHE_SECONDS = 0
        assert api_client.get("/api/slots").json()[0]["booked_seats"] == 2

    def test_each_filter_and_page_is_its_own_entry(self, api_client, make_slot):
        first = make_slot(seats=1)
        second = make_slot(seats=2)

        page_one = api_client.get("/api/slots?limit=1").json()
        page_two = api_client.get("/api/slots?limit=1&offset=1").json()
        available = api_client.get("/api/slots?available=true").json()

        assert [s["id"] for s in page_one] == [first.pk]
        assert [s["id"] for s in page_two] == [second.pk]
        assert [s["id"] for s in available] == [first.pk, second.pk]
