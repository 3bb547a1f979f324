"""The resize scheduler: one call per key, a bounded number at once, a time budget."""

from __future__ import annotations

import threading
import time

import pytest

from shiftmedia.errors import Overloaded
from shiftmedia.scheduler import ResizeScheduler


def test_concurrent_calls_for_one_key_share_one_run() -> None:
    scheduler = ResizeScheduler(max_concurrent=4, timeout=10)
    runs = 0
    gate = threading.Event()

    def work() -> str:
        nonlocal runs
        runs += 1
        gate.wait(5)
        return "result"

    results: list[tuple[str, bool]] = []
    threads = [threading.Thread(target=lambda: results.append(astuple(scheduler.run("k", work)))) for _ in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    gate.set()
    for thread in threads:
        thread.join()
    assert runs == 1
    assert sorted(results) == [("result", False)] + [("result", True)] * 19


def astuple(outcome: object) -> tuple[str, bool]:
    return outcome.value, outcome.shared  # type: ignore[attr-defined]


def test_errors_reach_every_waiter_and_the_next_call_retries() -> None:
    scheduler = ResizeScheduler(max_concurrent=2, timeout=5)
    gate = threading.Event()
    errors: list[BaseException] = []

    def failing() -> str:
        gate.wait(5)
        raise ValueError("boom")

    def call() -> None:
        try:
            scheduler.run("k", failing)
        except ValueError as error:
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    gate.set()
    for thread in threads:
        thread.join()
    assert len(errors) == 5
    assert scheduler.run("k", lambda: "fine").value == "fine"


def test_at_most_n_run_at_once_and_the_rest_time_out() -> None:
    scheduler = ResizeScheduler(max_concurrent=2, timeout=0.3)
    gate = threading.Event()
    peak = 0
    lock = threading.Lock()

    def slow() -> None:
        nonlocal peak
        with lock:
            peak = max(peak, scheduler.running)
        gate.wait(5)

    threads = [threading.Thread(target=scheduler.run, args=(f"k{i}", slow)) for i in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    with pytest.raises(Overloaded):
        scheduler.run("k-late", lambda: None)
    assert 0.15 <= time.monotonic() - started < 2
    gate.set()
    for thread in threads:
        thread.join()
    assert peak == 2 and scheduler.running == 0


def test_a_waiter_gives_up_after_the_budget() -> None:
    scheduler = ResizeScheduler(max_concurrent=1, timeout=0.2)
    gate = threading.Event()
    leader = threading.Thread(target=scheduler.run, args=("k", lambda: gate.wait(5)))
    leader.start()
    time.sleep(0.05)
    with pytest.raises(Overloaded):
        scheduler.run("k", lambda: None)
    gate.set()
    leader.join()


@pytest.mark.parametrize(("limit", "timeout"), [(0, 1), (1, 0)])
def test_rejects_bad_bounds(limit: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        ResizeScheduler(limit, timeout)
