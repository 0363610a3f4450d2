from django.core.management.base import BaseCommand

from booking.idempotency import purge_expired_keys


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers older than MEDIQUEUE_IDEMPOTENCY_TTL_HOURS."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {purge_expired_keys()} expired idempotency key(s).")
