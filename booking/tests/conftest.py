"""Helpers shared by the booking tests."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

# Threads that book at once: each has its own connection, so this stays well under
# PostgreSQL's default max_connections (100).
CONCURRENCY = 40


@pytest.fixture(scope="session")
def run_together():
    """``run_together(jobs, threads=CONCURRENCY)``: run callables on ``threads`` threads
    released together by a barrier; return what each returned, or the exception it raised."""

    def run(jobs: list, threads: int = CONCURRENCY) -> list:
        threads = min(threads, len(jobs))
        barrier = threading.Barrier(threads)
        chunks = [jobs[i::threads] for i in range(threads)]

        def worker(chunk):
            results = []
            try:
                barrier.wait(timeout=30)
                for job in chunk:
                    try:
                        results.append(job())
                    except Exception as error:  # the outcome under test, kept for asserting
                        results.append(error)
            finally:
                connection.close()
            return results

        with ThreadPoolExecutor(max_workers=threads) as pool:
            return [result for chunk in pool.map(worker, chunks) for result in chunk]

    return run


@pytest.fixture
def make_full_slot(make_slot):
    """``make_full_slot(seats=1)``: a slot whose every seat is booked, by holder-0, holder-1, …;
    returns the slot (counts current) and the holders' booking references, in that order."""
    from booking import services

    def make(seats: int = 1, **slot_options):
        slot = make_slot(seats=seats, **slot_options)
        references = [
            services.book(slot_id=slot.pk, user_id=f"holder-{n}").reference for n in range(seats)
        ]
        slot.refresh_from_db()
        return slot, references

    return make
