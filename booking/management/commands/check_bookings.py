from django.core.management.base import BaseCommand, CommandError

from booking.invariants import find_violations
from slots.models import Slot


class Command(BaseCommand):
    help = (
        "Verify the booking invariants on every slot: booked_seats equals the confirmed "
        "bookings (I1) and stays within 0..total_seats (I2); no one waits while a seat is free "
        "(I3); promotions follow join order (I4); entries are passed over only for seat holders "
        "(I5). "
        "Exits non-zero naming each bad slot."
    )

    def handle(self, *args, **options):
        violations = find_violations()
        for violation in violations:
            self.stderr.write(violation.describe())
        if violations:
            raise CommandError(f"{len(violations)} slot(s) break the booking invariants.")
        self.stdout.write(f"OK: {Slot.objects.count()} slot(s) checked, invariants hold.")
