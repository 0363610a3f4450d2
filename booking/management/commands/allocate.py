"""``python manage.py allocate``: decide queued bookings (booking.allocator), until SIGTERM."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client import start_http_server

from booking import queue
from booking.allocator import Allocator


class Command(BaseCommand):
    help = (
        "Take queued booking requests off RabbitMQ (MEDIQUEUE_BOOKING_QUEUE_URL) in batches and "
        "decide them, first come first served. One per node is safe."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=200,
            help="Requests taken at most at once from each queue (the prefetch). Default 200.",
        )
        parser.add_argument(
            "--gather-ms",
            type=float,
            default=20,
            help="How long to gather more requests once one arrived. Default 20 ms.",
        )
        parser.add_argument(
            "--metrics-bind",
            default=settings.MEDIQUEUE_ALLOCATOR_METRICS_BIND,
            metavar="ADDRESS:PORT",
            help="Serve this allocator's Prometheus metrics there (default: "
            "MEDIQUEUE_ALLOCATOR_METRICS_BIND; unset: not served).",
        )

    def handle(self, *args, batch_size, gather_ms, metrics_bind, **options):
        if not queue.enabled():
            raise CommandError("MEDIQUEUE_BOOKING_QUEUE_URL is not set: there is no queue.")
        if batch_size < 1 or gather_ms < 0:
            raise CommandError("--batch-size must be at least 1 and --gather-ms not negative.")
        if metrics_bind:
            address, _, port = metrics_bind.rpartition(":")
            if not address or not port.isdigit():
                raise CommandError("--metrics-bind is ADDRESS:PORT, e.g. 127.0.0.1:9102.")
            try:
                start_http_server(int(port), addr=address)
            except OSError as error:
                # Seats matter more than figures: allocate anyway, and say so.
                self.stderr.write(f"metrics not served on {metrics_bind}: {error}")
        allocator = Allocator(batch_size=batch_size, gather_seconds=gather_ms / 1000)
        # Finish the batch at hand, then stop: its messages are acked or handed back.
        signal.signal(signal.SIGTERM, lambda *_: allocator.stop())
        signal.signal(signal.SIGINT, lambda *_: allocator.stop())
        self.stdout.write(f"Allocating from {', '.join(queue.queue_names())}")
        allocator.run()
