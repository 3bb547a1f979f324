"""``shiftmedia warm``: the rate with two workers against one, and its cost per derivative against the engine.

The work: the benchmark's images stored as originals on local disk (each
``COPIES`` times, so a run lasts long enough to amortise starting workers and
listing), and two presets. Each round times, in an alternating order,
``warming.plan`` + ``warming.run`` with ``--jobs 1`` and ``--jobs 2`` on the
same originals (derivatives deleted in between) and the engine's ``render``
of the same derivatives in this process. The figures are medians over rounds:
the rate ratio (jobs 2 / jobs 1, in derivatives per second) and the cost of a
derivative with one worker over the engine's time for it (listing, reading,
the render lease and storing are what it adds). The CPU time over the wall
time of each run says how many cores it kept busy: the engine makes large
outputs in two bands on two threads, so one worker already uses more than one
core, and that bounds what a second can add.
"""

from __future__ import annotations

import math
import os
import resource
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from shiftmedia.engine import render
from shiftmedia.settings import Settings as ServiceSettings
from shiftmedia.storage import Storage
from shiftmedia.warming import Made, plan, run

from .common import Settings, log, table
from .stats import fmt, median, ratio

PRESETS = "thumb=200x200-fill-80-noupscale.webp, hero=1600x0-fit-85-noupscale.jpg"
COPIES = 3


def bench_warm(images: list[Path], data: dict[Path, bytes], settings: Settings, workdir: Path) -> dict[str, Any]:
    """Seconds per round of warming with 1 and 2 workers and of the engine alone, and the derivatives made."""
    root = workdir / "warm-media"
    values = {
        "SHIFTMEDIA_SECRET_KEYS": secrets.token_urlsafe(32),
        "SHIFTMEDIA_STORAGE": "local",
        "SHIFTMEDIA_LOCAL_ROOT": str(root),
        "SHIFTMEDIA_PUBLIC_URL": "http://127.0.0.1:9/media",
        "SHIFTMEDIA_PRESETS": PRESETS,
    }
    service = ServiceSettings.from_values(values)
    storage = Storage.from_settings(service)
    copies = 1 if settings.quick else COPIES
    for path in images:
        for _ in range(copies):
            storage.put(path)
    specs = [spec for _name, spec in storage.presets]
    originals = [data[path] for path in images for _ in range(copies)]
    seconds: dict[str, list[float]] = {"jobs 1": [], "jobs 2": [], "engine": []}
    cores: dict[str, list[float]] = {name: [] for name in seconds}
    count = 0
    for rep in range(settings.engine_reps + 1):
        log(f"warm: round {rep + 1}/{settings.engine_reps + 1} (the first warms up)")
        order = ["jobs 1", "jobs 2", "engine"] if rep % 2 else ["engine", "jobs 2", "jobs 1"]
        for name in order:
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            if name == "engine":
                for original in originals:
                    for spec in specs:
                        render(original, spec)
            else:
                work = plan(storage, ["thumb", "hero"], prefix="")
                made: list[Made] = []
                run(work, service, jobs=int(name[-1]), storage=storage, progress=made.append)
                count = len(made)
                if any(item.error for item in made):
                    raise RuntimeError(f"warm failed: {[item.error for item in made if item.error][:3]}")
            elapsed = time.perf_counter() - started
            busy = (_cpu_seconds() - cpu_before) / elapsed
            if name != "engine":
                for folder in root.iterdir():
                    if folder.name != ".leases":
                        for derived in folder.rglob("*-*upscale-*"):
                            derived.unlink()
            if rep:
                seconds[name].append(elapsed)
                cores[name].append(busy)
    shutil.rmtree(root, ignore_errors=True)
    return {
        "seconds": seconds,
        "cores": cores,
        "derivatives": count,
        "originals": len(originals),
        "specs": [name for name, _spec in storage.presets],
    }


def _cpu_seconds() -> float:
    """CPU seconds of this process: a run in it (one worker, the engine). Two workers run in processes of
    the forkserver's, whose time no rusage of this process holds: their column stays empty."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def print_warm(runs: dict[str, Any]) -> dict[str, Any]:
    """Print the medians and the two ratios; return the summary."""
    count = runs["derivatives"]
    medians = {name: median(values) for name, values in runs["seconds"].items()}
    rates = {name: count / value for name, value in medians.items()}
    busy = {name: median(values) if name != "jobs 2" else None for name, values in runs["cores"].items()}
    rows = [
        [name, fmt(value * 1000), fmt(value * 1000 / count, 1), fmt(rates[name], 2), fmt(busy[name], 2)]
        for name, value in medians.items()
    ]
    print(
        f"\nshiftmedia warm, {runs['originals']} originals x presets {', '.join(runs['specs'])}:"
        f" {count} derivatives a run, local disk, median of rounds"
    )
    print(table(["run", "ms", "ms / derivative", "derivatives/s", "cores busy"], rows))
    rate_ratio = ratio(rates["jobs 2"], rates["jobs 1"])
    cost_ratio = ratio(medians["jobs 1"], medians["engine"])
    ceiling = ratio(float(os.cpu_count() or 1), busy["jobs 1"] or math.nan)
    print(
        f"warm --jobs 2 / --jobs 1 rate {fmt(rate_ratio, 2)} x; warm --jobs 1 / engine time {fmt(cost_ratio, 2)} x;"
        f" one worker already keeps {fmt(busy['jobs 1'], 2)} cores busy (the engine makes large outputs in two"
        f" bands on two threads), so on {os.cpu_count()} cores two can be at most {fmt(ceiling, 2)} x as fast"
    )
    return {
        "medians_s": medians,
        "rate_ratio": rate_ratio,
        "cost_ratio": cost_ratio,
        "cores_busy": busy,
        "ceiling": ceiling,
    }
