"""CPU accounting of a process tree from two /proc snapshots."""

from __future__ import annotations

import pytest

from loadtests.bench import cpu
from loadtests.bench.cpu import ProcTimes, parse_stat, tree, tree_cpu_ms

STAT = (
    "4242 (gunicorn: worker) S 4200 4200 4200 0 -1 4194560 2181 0 0 0 "
    "150 30 7 3 20 0 1 0 12345 1000 500 18446744073709551615"
)


def times(pid, ppid, utime=0, stime=0, cutime=0, cstime=0) -> ProcTimes:
    return ProcTimes(pid, ppid, utime, stime, cutime, cstime)


def test_parse_stat_reads_the_parent_and_the_four_times():
    assert parse_stat(STAT) == ProcTimes(4242, 4200, 150, 30, 7, 3)


def test_parse_stat_counts_fields_after_a_command_name_with_spaces_and_parentheses():
    odd = STAT.replace("(gunicorn: worker)", "(a) b (c)")

    assert parse_stat(odd) == ProcTimes(4242, 4200, 150, 30, 7, 3)


def test_a_tree_is_the_root_and_all_its_descendants_only():
    snap = {
        p.pid: p for p in [times(1, 0), times(10, 1), times(11, 10), times(12, 11), times(20, 1)]
    }

    assert tree(snap, 10) == {10, 11, 12}
    assert tree(snap, 99) == set()


def test_cpu_of_a_tree_adds_the_root_and_every_living_descendant(monkeypatch):
    monkeypatch.setattr(cpu, "CLOCK_TICKS_PER_SECOND", 100)
    before = {10: times(10, 1, 100, 10), 11: times(11, 10, 50, 5), 30: times(30, 1, 900)}
    after = {10: times(10, 1, 101, 11), 11: times(11, 10, 80, 15), 30: times(30, 1, 9000)}

    # root +2 ticks, worker +40 ticks; process 30 is not ours. 42 ticks at 100 Hz = 420 ms.
    assert tree_cpu_ms(before, after, 10) == pytest.approx(420)


def test_a_child_reaped_between_the_snapshots_is_counted_through_its_parent(monkeypatch):
    monkeypatch.setattr(cpu, "CLOCK_TICKS_PER_SECOND", 100)
    # Backend 11 had used 50 ticks; it used 10 more, exited and was reaped: the postmaster's
    # children times now hold its 60. Backend 12 was born and used 5 ticks meanwhile.
    before = {10: times(10, 1, 100, 0, 1000, 0), 11: times(11, 10, 40, 10)}
    after = {10: times(10, 1, 100, 0, 1060, 0), 12: times(12, 10, 3, 2)}

    assert tree_cpu_ms(before, after, 10) == pytest.approx((10 + 5) * 10)


def test_no_figure_when_the_root_is_unknown_or_missing_from_a_snapshot():
    snap = {10: times(10, 1, 5)}

    assert tree_cpu_ms(snap, snap, None) is None
    assert tree_cpu_ms({}, snap, 10) is None
    assert tree_cpu_ms(snap, {}, 10) is None


def test_per_request_is_none_without_a_figure_or_requests():
    assert cpu.per_request_ms(100.0, 400) == 0.25
    assert cpu.per_request_ms(None, 400) is None
    assert cpu.per_request_ms(100.0, 0) is None


def test_a_snapshot_of_a_fake_proc_skips_what_is_not_a_process(tmp_path):
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "stat").write_text(STAT)
    (tmp_path / "4242" / "cmdline").write_bytes(
        b"python\x00-m\x00gunicorn\x00--bind\x00127.0.0.1:8301\x00"
    )
    (tmp_path / "4243").mkdir()  # vanished: no stat file
    (tmp_path / "self").mkdir()

    assert cpu.snapshot(tmp_path) == {4242: ProcTimes(4242, 4200, 150, 30, 7, 3)}
    assert cpu.command_line(4242, proc=tmp_path) == "python -m gunicorn --bind 127.0.0.1:8301"
    assert cpu.command_line(4243, proc=tmp_path) == ""


def test_this_process_is_in_the_real_snapshot_with_its_parent():
    import os

    snap = cpu.snapshot()

    assert snap[os.getpid()].ppid == os.getppid()
