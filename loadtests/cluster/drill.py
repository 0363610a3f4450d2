"""The restore drill (``make backup-test``): backups that have been restored.

The cluster of docker-compose.cluster.yml (etcd, 3 Patroni members, HAProxy, the app nodes,
nginx), its members archiving WAL to pgBackRest as deploy/patroni/patroni.yml and
deploy/pgbackrest/pgbackrest.conf say, into one repository outside every data directory. Its
members run Debian's PostgreSQL 15 rather than the wheel's 18: Debian bookworm's pgBackRest
(2.45) knows PostgreSQL up to 15 (config.ARCHIVE_PARAMETERS).

1. stanza-create, a full backup; bookings through nginx; an incremental backup; more bookings;
2. T: the leader's clock between two acknowledged bookings; more bookings after it;
3. a failover (``patronictl switchover``): the archive goes on from the new leader, on a new
   timeline; more bookings;
4. a mistake: one doctor's slots deleted, with their bookings, in one transaction;
5. restore to T into a fresh data directory (``pgbackrest restore --type=time``), start it
   (PostgreSQL 15, on a socket of its own, archiving off), and count: every booking
   acknowledged before T present, none after, ``check_bookings`` OK;
6. restore to the latest point into another: the leader's bookings exactly.

One verdict line per restore (restore_verdict.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import psycopg

from loadtests.chaos.database import create_slots
from loadtests.cluster.patroni import Member
from loadtests.cluster.play import book_through_nginx, wait_rejoined
from loadtests.cluster.restore_verdict import (
    RestoreToLatest,
    RestoreToTime,
    judge_to_latest,
    judge_to_time,
)
from loadtests.cluster.topology import Topology, cluster
from loadtests.harness import free_port, manage

PG15_BIN = Path("/usr/lib/postgresql/15/bin")
STANZA = "mediqueue"
# Bookings in each phase: before the incremental backup, before T, after T, after the failover.
PHASES = (20, 20, 15, 15)
MISTAKEN_DOCTOR = "Dr. Mistake"


def backup_test(logs: Path) -> int:
    needed = (PG15_BIN / "postgres", Path(shutil.which("pgbackrest") or "/pgbackrest"))
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise RuntimeError(f"missing {missing}: `make backup-engines` installs them")
    started = time.monotonic()
    with cluster(logs=logs, workers=1, postgres_bin=PG15_BIN, archive=True) as topology:
        print(f"backup: cluster up in {time.monotonic() - started:.0f}s", flush=True)
        drill = Drill(topology, logs)
        verdicts = drill.run()
    for verdict in verdicts:
        print(verdict.line(), flush=True)
    passed = all(v.passed for v in verdicts)
    print(f"backup: drill {'passed' if passed else 'FAILED'} in {time.monotonic() - started:.0f}s")
    return 0 if passed else 1


class Drill:
    def __init__(self, topology: Topology, logs: Path):
        self.topology = topology
        self.logs = logs
        self.url = topology.database_url
        self.patients = iter(range(1, 1_000_000))

    def run(self):
        self.pgbackrest("stanza-create")
        self.pgbackrest("backup", "--type=full")
        kept = create_slots(self.url, doctor="Dr. Backup", count=2, seats=100)
        mistaken = create_slots(self.url, doctor=MISTAKEN_DOCTOR, count=2, seats=100)
        slots = kept + mistaken
        acknowledged_before = self.book(slots, PHASES[0])
        self.pgbackrest("backup", "--type=incr")
        acknowledged_before |= self.book(slots, PHASES[1])
        target = self.leader_clock()
        time.sleep(1.0)  # T lies strictly between the last 201 before it and the next request
        acknowledged_after = self.book(slots, PHASES[2])

        timeline_before = self.timeline()
        self.fail_over()
        acknowledged_after |= self.book(slots, PHASES[3])
        timeline_after = self.timeline()
        deleted = self.delete_by_mistake(mistaken)
        leader = self.bookings(self.url)
        # Every WAL segment so far archived: check switches to a new segment and waits for it.
        self.pgbackrest("check")

        to_time = self.restore(
            "to-T", "--type=time", f"--target={target}", "--target-action=promote"
        )
        to_latest = self.restore("latest")
        return [
            judge_to_time(
                RestoreToTime(
                    acknowledged_before=acknowledged_before,
                    acknowledged_after=acknowledged_after,
                    restored=to_time[0],
                    invariants_hold=to_time[1],
                    seconds=to_time[2],
                )
            ),
            judge_to_latest(
                RestoreToLatest(
                    acknowledged=acknowledged_before | acknowledged_after,
                    deleted_by_mistake=deleted,
                    leader=leader,
                    restored=to_latest[0],
                    timelines=(timeline_before, timeline_after),
                    invariants_hold=to_latest[1],
                    seconds=to_latest[2],
                )
            ),
        ]

    # --- the cluster ------------------------------------------------------------------------

    def book(self, slot_ids: list[int], count: int) -> set[str]:
        """``count`` acknowledged bookings through nginx, one at a time (a 503 while the leader
        changes is tried again with another patient); their references."""
        references: set[str] = set()
        deadline = time.monotonic() + 120
        while len(references) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(references)} of {count} bookings got a 201")
            slot = slot_ids[len(references) % len(slot_ids)]
            outcome = book_through_nginx(
                self.topology.nginx_port, f"backup-{next(self.patients)}", slot
            )
            if outcome.acknowledged:
                references.add(outcome.reference)
            elif outcome.status is None or outcome.status >= 500:
                time.sleep(0.2)
            else:
                raise RuntimeError(f"booking refused: {outcome}")
        return references

    def leader_clock(self) -> str:
        with psycopg.connect(self.topology.admin_url) as conn:
            return conn.execute("SELECT clock_timestamp()::text").fetchone()[0]

    def timeline(self) -> int:
        with psycopg.connect(self.topology.admin_url) as conn:
            return conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()[0]

    def fail_over(self) -> None:
        members = self.topology.members
        leader, candidate = members.leader(), members.sync_standby()
        result = members.patronictl(
            "switchover", "--leader", leader.name, "--candidate", candidate.name, "--force"
        )
        if result.returncode != 0:
            raise RuntimeError(f"patronictl switchover failed:\n{result.stdout}{result.stderr}")
        if members.wait_for_new_leader(leader.name, 60) is None:
            raise RuntimeError(f"no new leader: {members.describe()}")
        if not wait_rejoined(members, leader.name, 60):
            raise RuntimeError(f"{leader.name} did not rejoin: {members.describe()}")
        # A checkpoint on the new timeline, so that pg_control_checkpoint() tells it.
        with psycopg.connect(self.topology.admin_url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")

    def delete_by_mistake(self, slot_ids: list[int]) -> set[str]:
        """An operator's DELETE of one doctor's slots, their bookings and what hangs on them."""
        with psycopg.connect(self.url) as conn:
            references = {
                row[0]
                for row in conn.execute(
                    "SELECT reference FROM booking_booking WHERE slot_id = ANY(%s)", [slot_ids]
                )
            }
            for statement in (
                "DELETE FROM booking_notice WHERE booking_id IN "
                "(SELECT id FROM booking_booking WHERE slot_id = ANY(%(slots)s)) "
                "OR waitlist_entry_id IN "
                "(SELECT id FROM booking_waitlistentry WHERE slot_id = ANY(%(slots)s))",
                "DELETE FROM booking_waitlistentry WHERE slot_id = ANY(%(slots)s)",
                "DELETE FROM booking_booking WHERE slot_id = ANY(%(slots)s)",
                "DELETE FROM slots_slot WHERE id = ANY(%(slots)s)",
            ):
                conn.execute(statement, {"slots": slot_ids})
        return references

    @staticmethod
    def bookings(url: str) -> dict[str, str]:
        with psycopg.connect(url) as conn:
            return dict(conn.execute("SELECT reference, status FROM booking_booking").fetchall())

    # --- pgBackRest -------------------------------------------------------------------------

    def leader_member(self) -> Member:
        leader = self.topology.members.leader()
        if leader is None:
            raise RuntimeError(f"no leader: {self.topology.members.describe()}")
        return leader

    def pgbackrest(self, *args: str, member: Member | None = None, **env: str):
        """pgBackRest as an operator runs it on the leader's machine, as its PostgreSQL's
        user, with that member's options."""
        member = member or self.leader_member()
        password = urllib.parse.urlparse(self.topology.admin_url).password or ""
        command = ["pgbackrest", f"--stanza={STANZA}", *args]
        started = time.monotonic()
        result = subprocess.run(
            command,
            env={**os.environ, **member.pgbackrest_env, "PGPASSWORD": password, **env},
            user=self.topology.members.user,
            capture_output=True,
            text=True,
            timeout=300,
        )
        with (self.logs / "pgbackrest.log").open("a") as log:
            log.write(f"$ {' '.join(command)}  ({time.monotonic() - started:.1f}s)\n")
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
        return result

    def restore(self, name: str, *options: str) -> tuple[dict[str, str], bool, float]:
        """Restore into a fresh data directory and start it; (its bookings, check_bookings
        passed, seconds from the restore command to a promoted server answering)."""
        directory = self.topology.root / f"restore-{name}"
        data = directory / "data"
        data.mkdir(mode=0o700, parents=True)
        user = self.topology.members.user
        if user:
            shutil.chown(directory, user, user)
            shutil.chown(data, user, user)
        started = time.monotonic()
        self.pgbackrest(
            "restore",
            f"--pg1-path={data}",
            *options,
            PGBACKREST_PG1_PATH=str(data),
        )
        with self.restored_server(directory, data) as url:
            seconds = time.monotonic() - started
            env = {**self.topology.env, "DATABASE_URL": url}
            env.pop("DATABASE_REPLICA_URL", None)
            invariants = manage(env, "check_bookings", check=False).returncode == 0
            return self.bookings(url), invariants, seconds

    @contextmanager
    def restored_server(self, directory: Path, data: Path):
        """The restored data directory served by PostgreSQL 15 on a socket of its own, archiving
        nothing (it must not write into the repository the live cluster archives to), answering
        only local connections, without the cluster's synchronous standby; until promoted."""
        (data / "pg_hba.conf").write_text("local all all trust\n")
        user = self.topology.members.user
        if user:
            shutil.chown(data / "pg_hba.conf", user, user)
        port = free_port(range(46000, 47000))
        settings = {
            "port": port,
            "listen_addresses": "",
            "unix_socket_directories": str(directory),
            "archive_mode": "off",
            "synchronous_standby_names": "",
            "hba_file": str(data / "pg_hba.conf"),
            "primary_conninfo": "",
            "primary_slot_name": "",
        }
        options = " ".join(f"-c {name}='{value}'" for name, value in settings.items())
        member = self.leader_member()
        env = {**os.environ, **member.pgbackrest_env, "PGBACKREST_PG1_PATH": str(data)}
        pg_ctl = [str(PG15_BIN / "pg_ctl"), "-D", str(data), "-l", str(directory / "log")]
        subprocess.run(
            [*pg_ctl, "-w", "-t", "120", "-o", options, "start"],
            user=user,
            env=env,
            check=True,
            capture_output=True,
        )
        try:
            socket = urllib.parse.quote(str(directory), safe="")
            url = f"postgresql://postgres@{socket}:{port}/mediqueue"
            deadline = time.monotonic() + 120
            while True:
                with psycopg.connect(url) as conn:
                    if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the restore to {directory} was never promoted")
                time.sleep(0.1)
            yield url
        finally:
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], user=user, capture_output=True)
