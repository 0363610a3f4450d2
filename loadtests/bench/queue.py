"""The booking queue in the bench (issue 25): the hot slot through the queue, beside the direct
path's and pgbench's figures of the same run.

Two figures, because the queue splits a booking in two:
- **accepted/s**: wrk's 64 connections book a hot slot (millions of seats) with ``Prefer:
  respond-async`` against MediQueue with the queue on: each answer a 202, once RabbitMQ
  confirmed the request (p50/p99 and the app's CPU per answer, as for the other scenarios).
  No allocator runs meanwhile, so the figure is the accept path's alone.
- **allocated/s**: then one allocator (``manage.py allocate``, default batch of 200) drains what
  was accepted: seats decided per second, from the first outcome's commit to the last, read from
  the database. A batch takes the slot's row lock once for up to 200 seats: this is the figure
  to set beside pgbench's single-booking ceiling of one row.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from loadtests.bench.measure import Server, measure, settle, warm_up
from loadtests.bench.wrk import book_script
from loadtests.harness import allocator
from loadtests.harness.rabbitmq import rabbitmq_installed, rabbitmq_node

DRAIN_SECONDS = 300
DEFAULT_SHARDS = 4  # mediqueue/settings.py's MEDIQUEUE_BOOKING_QUEUE_SHARDS
CONNECTIONS = 64


@dataclass(frozen=True)
class QueueFigures:
    accepted: int
    accepted_per_second: float
    p50_ms: float
    p99_ms: float
    app_cpu_ms_per_answer: float | None
    other_statuses: dict[str, int]
    allocated: int
    allocated_per_second: float
    drain_seconds: float
    direct_with_queue_on: float = 0.0  # 201s a second without the header, queue switched on
    direct_with_queue_on_p50_ms: float = 0.0

    def lines(self, *, direct_hot: float | None, pgbench_tps: float | None) -> list[str]:
        beside = []
        if direct_hot:
            beside.append(f"{self.allocated_per_second / direct_hot:.1f}x the direct hot slot")
        if pgbench_tps:
            beside.append(f"{self.allocated_per_second / pgbench_tps:.1f}x pgbench's ceiling")
        cpu = (
            f", app CPU {self.app_cpu_ms_per_answer:.2f} ms/answer"
            if self.app_cpu_ms_per_answer is not None
            else ""
        )
        return [
            f"queue, hot slot, {CONNECTIONS} connections, respond-async: "
            f"{self.accepted_per_second:,.0f} accepted/s (202), p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms{cpu}"
            + (f"; other answers {self.other_statuses}" if self.other_statuses else ""),
            f"queue, allocator draining {self.allocated:,} requests of one slot: "
            f"{self.allocated_per_second:,.0f} seats decided/s in {self.drain_seconds:.1f} s"
            + (f" ({', '.join(beside)})" if beside else ""),
            f"queue switched on, no Prefer header (the direct path): "
            f"{self.direct_with_queue_on:,.0f} bookings/s (201), p50 "
            f"{self.direct_with_queue_on_p50_ms:.1f} ms"
            + (f"; with the queue off: {direct_hot:,.0f}" if direct_hot else ""),
        ]


def available() -> bool:
    return rabbitmq_installed()


def measure_queue(
    *,
    env: dict,
    serve,
    slot_id: int,
    seconds: float,
    warmup_seconds: float,
    postmaster: int | None,
    database_url: str,
    log_dir: Path,
    stamp: str,
) -> QueueFigures:
    """``serve(env, label, stamp)``: the bench's context manager starting MediQueue."""
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mq-bench-")))
        node = stack.enter_context(rabbitmq_node(directory / "rabbitmq"))
        queue_env = {**env, "MEDIQUEUE_BOOKING_QUEUE_URL": node.url}
        with serve(queue_env, "queue", stamp) as ours:
            script = book_script(slot_id=slot_id, prefix="queue", respond_async=True)
            warm_up(ours, script, connections=CONNECTIONS, seconds=warmup_seconds)
            settle((ours,))
            server = Server(ours.name, ours.base_url, ours.pid)
            run = measure(
                server,
                "queue",
                script,
                connections=CONNECTIONS,
                seconds=seconds,
                postmaster=postmaster,
            )
            settle((ours,))
            # The same server, the same slot, without the header: the direct path with the
            # queue switched on, to set beside the pass's hot slot (queue off).
            direct = measure(
                server,
                "queue-on-direct",
                book_script(slot_id=slot_id, prefix="queue-direct"),
                connections=CONNECTIONS,
                seconds=seconds,
                postmaster=postmaster,
            )
        accepted = _count_accepted(
            node.url, int(queue_env.get("MEDIQUEUE_BOOKING_QUEUE_SHARDS", DEFAULT_SHARDS))
        )
        log_path = log_dir / f"bench-{stamp}-allocator.log"
        with allocator(queue_env, log_path=log_path):
            allocated, drain = _drain(database_url, slot_id, accepted)
    wrk = run.wrk
    return QueueFigures(
        direct_with_queue_on=direct.wrk.per_second_of(201),
        direct_with_queue_on_p50_ms=direct.wrk.p50_ms,
        accepted=wrk.count(202),
        accepted_per_second=wrk.per_second_of(202),
        p50_ms=wrk.p50_ms,
        p99_ms=wrk.p99_ms,
        app_cpu_ms_per_answer=(
            run.app_cpu_ms / wrk.answered if run.app_cpu_ms is not None and wrk.answered else None
        ),
        other_statuses={k: v for k, v in wrk.statuses.items() if k != "202"},
        allocated=allocated,
        allocated_per_second=allocated / drain if drain else 0.0,
        drain_seconds=drain,
    )


def _count_accepted(url: str, shards: int) -> int:
    """Requests waiting in the queue's shards (``mediqueue.book.0`` .. ``shards - 1``)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        return sum(
            channel.queue_declare(f"mediqueue.book.{shard}", passive=True).method.message_count
            for shard in range(shards)
        )
    finally:
        connection.close()


def _drain(database_url: str, slot_id: int, expected: int) -> tuple[int, float]:
    """Until ``expected`` requests of the slot are decided: (how many, seconds from the first
    commit to the last, by the database's clock)."""
    import psycopg

    deadline = time.monotonic() + DRAIN_SECONDS
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            count, first, last = conn.execute(
                "SELECT count(*), min(decided_at), max(decided_at)"
                " FROM booking_bookingrequest WHERE slot_id = %s",
                [slot_id],
            ).fetchone()
            if count >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    return count, (last - first).total_seconds() if count else 0.0
