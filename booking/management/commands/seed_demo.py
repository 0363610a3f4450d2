from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from booking import services as booking_services
from booking import waitlist
from slots.models import Doctor, Slot

DEMO_DOCTORS = [
    ("Dr. Amara Okafor", "General practice"),
    ("Dr. Lukas Brandt", "Cardiology"),
    ("Dr. Mei Lin", "Dermatology"),
    ("Dr. Sofia Rossi", "Paediatrics"),
]
DAYS = 5
HOURS = (9, 11, 14, 16)
WAITING = 3


class Command(BaseCommand):
    help = (
        "Load demo doctors and slots over the next days: one full with a short waiting list, "
        "some nearly full. Does nothing when "
        "doctors already exist, so it is safe to run on every start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even if data exists.")

    def handle(self, *args, force=False, **options):
        if Doctor.objects.exists() and not force:
            self.stdout.write("Demo data already present; nothing to do.")
            return
        today = timezone.localtime().replace(minute=0, second=0, microsecond=0)
        with transaction.atomic():
            slots = []
            for index, (name, specialty) in enumerate(DEMO_DOCTORS):
                doctor = Doctor.objects.create(name=name, specialty=specialty)
                for day in range(1, DAYS + 1):
                    for hour in HOURS:
                        start = (today + timedelta(days=day)).replace(hour=hour)
                        slots.append(
                            Slot.objects.create(
                                doctor=doctor,
                                start_time=start,
                                duration_minutes=30,
                                total_seats=4 + 2 * index,
                            )
                        )
        # Through the real services: the first slot full, with a short waiting list (what a
        # patient meets when they come too late); every third slot nearly full.
        full, *others = slots
        for seat in range(full.total_seats):
            booking_services.book(slot_id=full.pk, user_id=f"demo-patient-{seat}")
        for place in range(1, WAITING + 1):
            waitlist.waitlist_join(slot_id=full.pk, user_id=f"demo-waiting-{place}")
        for number, slot in enumerate(others, start=1):
            if number % 3 == 0:
                for seat in range(slot.total_seats - 1):
                    booking_services.book(slot_id=slot.pk, user_id=f"demo-patient-{seat}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(DEMO_DOCTORS)} doctors and {len(slots)} slots; one is full, with "
                f"{WAITING} patients on its waiting list."
            )
        )
