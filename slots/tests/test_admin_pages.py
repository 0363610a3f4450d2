"""The clinic's admin pages: generate slots, the overview, the admin log (the bookings CSV is
booking's: booking/tests/test_admin.py)."""

from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from slots.models import Slot

pytestmark = pytest.mark.django_db

GENERATE_URL = "admin:slots_slot_generate"
OVERVIEW_URL = "admin:slots_slot_overview"
MONDAY = date(2031, 3, 3)


def schedule_form(doctor, **overrides) -> dict:
    return {
        "doctor": doctor.pk,
        "first_day": MONDAY.isoformat(),
        "last_day": (MONDAY + timedelta(days=6)).isoformat(),
        "weekdays": ["0", "1", "2", "3", "4"],
        "day_start": "09:00",
        "day_end": "12:00",
        "slot_minutes": "30",
        "seats_per_slot": "5",
        **overrides,
    }


# --- Generate slots -----------------------------------------------------------------------


def test_generate_page_offers_a_labelled_form_with_sensible_defaults(admin_browser, make_doctor):
    make_doctor(name="Dr. Listed")

    response = admin_browser.get(reverse(GENERATE_URL))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Dr. Listed" in html
    assert "<legend>Weekdays:</legend>" in html
    assert 'value="0" id="id_weekdays_0" checked' in html  # Monday ...
    assert 'value="5" id="id_weekdays_5" checked' not in html  # ... but not Saturday
    assert 'type="date"' in html and 'type="time"' in html


def test_generating_creates_the_slots_logs_each_and_shows_them_on_the_overview(
    admin_browser, admin_user, make_doctor
):
    doctor = make_doctor(name="Dr. Weekly")

    response = admin_browser.post(reverse(GENERATE_URL), schedule_form(doctor), follow=True)

    assert Slot.objects.filter(doctor=doctor).count() == 30
    final_url, _ = response.redirect_chain[-1]
    assert final_url == f"{reverse(OVERVIEW_URL)}?start=2031-03-03&days=7"
    html = response.content.decode()
    assert "Created 30 slot(s)." in html
    assert html.count('class="overview-slot"') == 30
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Slot), action_flag=ADDITION
    )
    assert entries.count() == 30
    assert {entry.user_id for entry in entries} == {admin_user.pk}
    assert set(entries.values_list("object_id", flat=True)) == {
        str(pk) for pk in Slot.objects.values_list("pk", flat=True)
    }
    assert entries.first().change_message == "Generated: 09:00 to 12:00, 30 min, 5 seats."


def test_generating_again_reports_the_skipped_slots_and_logs_nothing_new(
    admin_browser, make_doctor
):
    doctor = make_doctor()
    admin_browser.post(reverse(GENERATE_URL), schedule_form(doctor))

    response = admin_browser.post(reverse(GENERATE_URL), schedule_form(doctor), follow=True)

    assert "Created 0 slot(s); skipped 30 that already existed." in response.content.decode()
    assert Slot.objects.count() == 30
    assert LogEntry.objects.count() == 30


def test_a_schedule_that_makes_no_sense_shows_the_rule_and_creates_nothing(
    admin_browser, make_doctor
):
    doctor = make_doctor()

    response = admin_browser.post(
        reverse(GENERATE_URL), schedule_form(doctor, day_start="12:00", day_end="09:00")
    )

    assert response.status_code == 200
    assert "The day must end after it starts." in response.content.decode()
    assert not Slot.objects.exists()
    assert not LogEntry.objects.exists()


def test_generate_needs_the_add_slot_permission(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_slot"))
    client.force_login(clerk)

    assert client.get(reverse(GENERATE_URL)).status_code == 403
    assert client.get(reverse(OVERVIEW_URL)).status_code == 200


def test_admin_pages_need_a_staff_login(client):
    response = client.get(reverse(OVERVIEW_URL))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_the_slot_list_and_the_admin_index_link_to_the_clinic_pages(admin_browser):
    for page in ("admin:index", "admin:slots_slot_changelist"):
        html = admin_browser.get(reverse(page)).content.decode()
        assert reverse(GENERATE_URL) in html
        assert reverse(OVERVIEW_URL) in html


# --- Overview -----------------------------------------------------------------------------


def test_overview_shows_fill_bars_highlights_full_slots_and_totals_per_day(
    admin_browser, make_doctor, book_seat
):
    doctor = make_doctor(name="Dr. Popular", specialty="Cardiology")
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time(23, 0)))
    full = Slot.objects.create(doctor=doctor, start_time=start + timedelta(days=1), total_seats=1)
    book_seat(slot_id=full.pk, user_id="first")
    Slot.objects.create(
        doctor=doctor, start_time=start + timedelta(days=1, minutes=30), total_seats=4
    )

    html = admin_browser.get(reverse(OVERVIEW_URL)).content.decode()

    assert "Dr. Popular" in html and "Cardiology" in html
    assert f'<li class="overview-slot is-full" data-slot-id="{full.pk}">' in html
    assert '<rect width="100"' in html and '<rect width="0"' in html
    assert "<strong>1/5</strong> seats booked (20%)" in html
    assert '<strong class="day-full-count">1</strong> full' in html
    assert html.count('class="overview-day') == 7  # today and the next six days
    assert "No slots." in html


def test_overview_window_can_be_chosen(admin_browser, make_doctor):
    doctor = make_doctor()
    Slot.objects.create(
        doctor=doctor, start_time=timezone.make_aware(datetime(2031, 3, 4, 9)), total_seats=2
    )

    html = admin_browser.get(reverse(OVERVIEW_URL), {"start": "2031-03-03", "days": "3"})
    html = html.content.decode()

    assert html.count('class="overview-day') == 3
    assert "Tuesday 4 March 2031" in html
    assert 'class="overview-slot"' in html
