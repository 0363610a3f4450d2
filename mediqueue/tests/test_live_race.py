"""A flash crowd against the real server: gunicorn with several workers, real HTTP, one slot."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command

from booking.models import Booking
from loadtests.harness import post_book

pytestmark = pytest.mark.django_db(transaction=True)


def test_300_requests_racing_for_20_seats_through_gunicorn_sell_exactly_20(
    make_slot, live_gunicorn
):
    slot = make_slot(seats=20)

    with live_gunicorn(workers=3) as server, ThreadPoolExecutor(max_workers=50) as pool:
        answers = Counter(
            pool.map(lambda n: post_book(server.base_url, f"patient-{n}", slot.pk), range(300))
        )

    assert answers == {(201, "CONFIRMED"): 20, (409, "slot_full"): 280}
    slot.refresh_from_db()
    assert slot.booked_seats == 20
    assert Booking.objects.filter(slot=slot, status="CONFIRMED").count() == 20
    call_command("check_bookings")
