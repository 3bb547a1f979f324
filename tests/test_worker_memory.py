"""A worker's memory stays flat under mixed load with recycling off (gunicorn's ``max_requests`` 0).

Before the shipped settings tuned glibc's malloc in each worker (``post_fork``), a worker's resident
memory rose to the high-water mark of its largest decodes times its threads' arenas and stayed there
until ``max_requests`` replaced it: 80 to 190 MiB on this mix, where it now stays within a few MiB of
55 (see webapp/gunicorn_conf.py). ``make soak`` runs the same load for longer and prints the figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .soak import LoadResult, WorkerStats, run_load, start_service, worker_stats

pytestmark = [pytest.mark.slow, pytest.mark.integration]

WARM_UP = 300
TOTAL = 3000
#: Most a worker's RSS after :data:`TOTAL` requests may be, relative to its RSS after :data:`WARM_UP`.
MAX_RATIO = 1.5
#: Most a worker's RSS may grow above its idle size (just started) over the whole run: the code and
#: caches of the libraries a resize loads, not the images it decoded (about 25 MiB with the tuned
#: malloc; 55 to 150 MiB without it).
MAX_GROWTH_MIB = 40


def test_worker_rss_is_flat_over_3000_mixed_requests_without_recycling(tmp_path: Path) -> None:
    service, workload = start_service(
        tmp_path / "media", tmp_path / "gunicorn.log", GUNICORN_CMD_ARGS="--max-requests 0"
    )
    try:
        assert service.process is not None
        master = service.process.pid
        idle = {w.pid: w for w in worker_stats(master)}
        result = run_load(service.port, workload, requests=WARM_UP)
        warm = {w.pid: w for w in worker_stats(master)}
        run_load(service.port, workload, requests=TOTAL - WARM_UP, result=result)
        end = {w.pid: w for w in worker_stats(master)}
    finally:
        service.stop()
    log = service.log()

    figures = "\n".join(
        f"worker {pid}: RSS {mib(idle[pid])} idle, {mib(warm[pid])} after {WARM_UP}, {mib(end[pid])} after {TOTAL};"
        f" fds {idle[pid].fds}, {warm[pid].fds}, {end[pid].fds}"
        for pid in end
    )
    print(figures)  # pytest -rP shows them
    assert len(end) == 2 and set(idle) == set(warm) == set(end), f"a worker was replaced (recycling is off)\n{log}"
    assert_mixed(result)
    for pid, last in end.items():
        assert last.rss_kib <= MAX_RATIO * warm[pid].rss_kib, figures
        assert last.rss_kib - idle[pid].rss_kib <= MAX_GROWTH_MIB * 1024, figures
        assert last.fds <= warm[pid].fds + 4, figures


def mib(stats: WorkerStats) -> str:
    return f"{stats.rss_kib / 1024:.1f} MiB (anon {stats.anon_kib / 1024:.1f})"


def assert_mixed(result: LoadResult) -> None:
    """Every request was answered and every kind of request was sent; a 503 (a resize that waited
    past its budget on a busy machine) is tolerated, rarely."""
    assert result.count == TOTAL and not result.errors, result.errors[:5]
    assert set(result.statuses) <= {200, 403, 404, 503} and result.statuses[503] <= TOTAL // 100, result.statuses
    kinds = {kind for kind, _status in result.kinds}
    assert kinds == {"miss", "hit", "original", "404", "403"}, result.kinds
    assert result.kinds[("miss", 200)] >= TOTAL // 4 and result.kinds[("hit", 200)] >= TOTAL // 4, result.kinds
