"""An allocator that dies at a chosen point of a chosen batch, for the chaos queue phase:

    python -m loadtests.chaos.crashing_allocator --crash before-commit --batch 2

``before-commit``: inside the batch's transaction, its bookings inserted and its seats counted
but nothing committed; ``after-commit``: the batch committed, its messages not yet acked. The
process exits at once (``os._exit``, as a SIGKILL would leave it: no cleanup, no ack, the
database connection dropped), so PostgreSQL rolls back what was not committed and RabbitMQ hands
the unacked messages to the next allocator. The real allocator (booking.allocator) with one
seam each: the chaos test's, never the product's.
"""

from __future__ import annotations

import argparse
import os
import sys

CRASH_EXIT_STATUS = 137


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.chaos.crashing_allocator")
    parser.add_argument("--crash", choices=["before-commit", "after-commit"], required=True)
    parser.add_argument("--batch", type=int, default=2, help="die during this slot batch")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediqueue.settings")
    import django

    django.setup()
    from booking import services
    from booking.allocator import Allocator

    batches = 0
    record_order = services._in_order_of_record

    def die(stage: str) -> None:
        print(f"crashing allocator: dying {stage} of batch {batches}", flush=True)
        os._exit(CRASH_EXIT_STATUS)

    def before_commit(outcomes):
        nonlocal batches
        batches += 1
        record_order(outcomes)
        if args.crash == "before-commit" and batches == args.batch:
            die("before the commit")

    def after_commit(outcomes):
        if args.crash == "after-commit" and batches == args.batch and outcomes:
            die("after the commit, before the ack")

    services._in_order_of_record = before_commit
    Allocator(batch_size=50, gather_seconds=0.05, after_commit=after_commit).run()


if __name__ == "__main__":
    sys.exit(main())
