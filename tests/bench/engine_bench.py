"""Engine timings: our ``render``, pyvips and naive Pillow on the same images, interleaved."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from .common import ENGINE_LABELS, ENGINES, Settings, log, size_ok, table, upright_size
from .local_engines import LOCAL_ENGINES
from .peers import VipsWorker
from .stats import fmt, geomean, median, ratio
from .workloads import QUALITY, WORKLOADS, Workload

Runner = Callable[[Path, Workload], tuple[float, tuple[int, int]]]

VIPS_SAVES = {"vips": "same", "vips_default": "default"}
"""The pyvips engines and the JPEG writer options each uses."""


def engine_runner(
    name: str, data: dict[Path, bytes], vips: VipsWorker | None
) -> Callable[[Path, Workload], tuple[float, tuple[int, int]]] | None:
    """A function timing one resize with engine ``name``: (ms, output size); None if unavailable."""
    if name in VIPS_SAVES:
        if vips is None:
            return None
        worker = vips
        save = VIPS_SAVES[name]

        def run_vips(path: Path, workload: Workload) -> tuple[float, tuple[int, int]]:
            answer = worker.run(path, workload, save=save)
            return float(answer["ms"]), (int(answer["width"]), int(answer["height"]))

        return run_vips
    function = LOCAL_ENGINES[name]

    def run_local(path: Path, workload: Workload) -> tuple[float, tuple[int, int]]:
        start = time.perf_counter()
        out = function(data[path], workload)
        elapsed = time.perf_counter() - start
        with Image.open(io.BytesIO(out)) as image:
            return elapsed * 1000, image.size

    return run_local


def bench_engines(
    images: list[Path], data: dict[Path, bytes], vips: VipsWorker | None, settings: Settings, checks: list[str]
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """ms per resize: ``[workload][engine][image name] -> [ms, ...]``, engines and images interleaved."""
    runners = {name: engine_runner(name, data, vips) for name in ENGINES}
    active = [name for name in ENGINES if runners[name] is not None]
    timings: dict[str, dict[str, dict[str, list[float]]]] = {
        w.name: {name: {path.name: [] for path in images} for name in active} for w in WORKLOADS
    }
    for name in active:
        runner = runners[name]
        assert runner is not None
        for workload in WORKLOADS:
            runner(images[0], workload)
    for rep in range(settings.engine_reps):
        log(f"engines: round {rep + 1}/{settings.engine_reps}")
        for index, path in enumerate(images):
            expected_upright = upright_size(path)
            for workload in WORKLOADS:
                shift = (rep + index) % len(active)
                for name in active[shift:] + active[:shift]:
                    runner = runners[name]
                    assert runner is not None
                    ms, size = runner(path, workload)
                    timings[workload.name][name][path.name].append(ms)
                    expected = workload.target_size(expected_upright)
                    if rep == 0 and not size_ok(size, expected):
                        checks.append(
                            f"{ENGINE_LABELS[name]} {workload.label} of {path.name}: {size}, expected {expected}"
                        )
    return timings


def print_engine_tables(
    timings: dict[str, dict[str, dict[str, list[float]]]], images: list[Path], settings: Settings
) -> dict[str, Any]:
    """Print median ms per image and the geomean, with ratios to pyvips; return the summary."""
    summary: dict[str, Any] = {}
    for workload in WORKLOADS:
        per_engine = timings[workload.name]
        active = [name for name in ENGINES if name in per_engine]
        medians = {name: {path.name: median(per_engine[name][path.name]) for path in images} for name in active}
        geo = {name: geomean(medians[name].values()) for name in active}
        headers = ["image", *[f"{ENGINE_LABELS[name]} ms" for name in active]]
        ratio_names = [name for name in active if name != "vips"] if "vips" in active else []
        headers += [f"{ENGINE_LABELS[name]}/pyvips" for name in ratio_names]
        versus_default = "ours" in active and "vips_default" in active
        if versus_default:
            headers.append(f"{ENGINE_LABELS['ours']}/{ENGINE_LABELS['vips_default']}")
        rows = []
        for key, values in [
            *((path.name, {n: medians[n][path.name] for n in active}) for path in images),
            ("geomean", geo),
        ]:
            row = [key, *[fmt(values[name]) for name in active]]
            row += [fmt(ratio(values[name], values["vips"]), 2) for name in ratio_names]
            if versus_default:
                row.append(fmt(ratio(values["ours"], values["vips_default"]), 2))
            rows.append(row)
        print(
            f"\nEngine, {workload.label} JPEG q{QUALITY}: median ms per image over {settings.engine_reps} run(s), in-process"
        )
        print(table(headers, rows))
        summary[workload.name] = {
            "median_ms": medians,
            "geomean_ms": geo,
            "ratio_to_vips": {name: ratio(geo[name], geo.get("vips", math.nan)) for name in active},
            "ratio_to_vips_default": {name: ratio(geo[name], geo.get("vips_default", math.nan)) for name in active},
            "runs_ms": per_engine,
        }
    return summary
