"""The pgbench ceiling runs the service's own booking statement."""

from __future__ import annotations

import pytest

from booking.queries import TAKE_SEAT
from loadtests.bench.pgbench import as_pgbench, parse_pgbench, pgbench_script


def test_the_pgbench_statement_is_take_seat_on_one_line_with_pgbench_variables():
    statement = as_pgbench(TAKE_SEAT)

    assert "%(" not in statement and "--" not in statement
    assert "\n" not in statement and statement.endswith(";")
    assert ":slot" in statement and "('pgbench-' || :patient)" in statement
    assert "UPDATE slots_slot s" in statement and "INSERT INTO booking_booking" in statement
    assert "INSERT INTO mediqueue_ratelimit" in statement  # the API's own statement, limits in


def test_the_script_sets_the_slot_and_a_fresh_patient_per_transaction():
    script = pgbench_script(42)

    assert script.startswith("\\set slot 42\n\\set patient random(")
    assert script.endswith(as_pgbench(TAKE_SEAT) + "\n")


def test_parse_pgbench_reads_tps_and_transactions():
    out = (
        "number of transactions actually processed: 16843\n"
        "latency average = 5.694 ms\n"
        "tps = 2806.947313 (without initial connection time)\n"
    )

    assert parse_pgbench(out) == (pytest.approx(2806.947313), 16843)
    with pytest.raises(ValueError):
        parse_pgbench("pgbench: error: connection refused")
