"""The bench's queue figures: how they are set beside the direct path and pgbench."""

from loadtests.bench.queue import QueueFigures
from loadtests.bench.wrk import book_script


def test_the_queue_lines_compare_allocation_with_the_direct_hot_slot_and_pgbench():
    figures = QueueFigures(
        accepted=12000,
        accepted_per_second=1500,
        p50_ms=40.0,
        p99_ms=120.0,
        app_cpu_ms_per_answer=1.25,
        other_statuses={},
        allocated=13000,
        allocated_per_second=6500,
        drain_seconds=2.0,
        direct_with_queue_on=640,
        direct_with_queue_on_p50_ms=70.0,
    )
    accepted, allocated, direct = figures.lines(direct_hot=650, pgbench_tps=1300)
    assert accepted == (
        "queue, hot slot, 64 connections, respond-async: 1,500 accepted/s (202), p50 40.0 ms, "
        "p99 120.0 ms, app CPU 1.25 ms/answer"
    )
    assert allocated == (
        "queue, allocator draining 13,000 requests of one slot: 6,500 seats decided/s in 2.0 s "
        "(10.0x the direct hot slot, 5.0x pgbench's ceiling)"
    )
    assert direct == (
        "queue switched on, no Prefer header (the direct path): 640 bookings/s (201), p50 70.0 ms"
        "; with the queue off: 650"
    )


def test_the_queued_booking_script_asks_for_respond_async():
    assert '["Prefer"] = "respond-async"' in book_script(slot_id=1, prefix="q", respond_async=True)
    assert "Prefer" not in book_script(slot_id=1, prefix="q")
