"""The benchmark: ``python -m tests.bench.run [--quick] [--json FILE]`` from the repository root.

It measures, in one run, the issue's targets for the engine and the service:

- engine time: our ``render`` against pyvips's ``thumbnail_buffer`` (writing
  the same progressive JPEG with optimised tables; its default baseline
  writer is timed too and shown beside) and a naive Pillow resize,
  in-process, interleaved image by image so machine noise hits every engine
  alike (median ms per image, geometric mean across images);
- HTTP throughput at concurrency 2: our service under gunicorn (every request a
  miss that creates and stores a derivative) against thumbor, same client;
- the service's overhead per miss at concurrency 1: a miss through the shipped
  gunicorn config against the in-process engine for the same work;
- quality: PSNR of our output against a full-resolution LANCZOS reference;
- memory: peak RSS growth of one resize of the 22 MP JPEG, in a fresh process.
- ``shiftmedia warm``: derivatives per second with two workers against one,
  and its time per derivative against the engine's (:mod:`.warm_bench`);
- video: a poster frame of a 1080p H.264 clip against Debian's ``ffmpeg``,
  and its peak RSS growth (:mod:`.video_bench`).

It prints the tables, then each target with PASS or FAIL, and exits 0 either
way: it is a measurement, not a test. Peers missing from their venvs (see
``install-peers.sh``) are reported and their columns left empty.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import PIL
from PIL import features

from .common import Settings, log, pick_images
from .engine_bench import bench_engines, print_engine_tables
from .http_bench import bench_http, print_http
from .memory import measure_memory, memory_image, print_memory
from .overhead_bench import bench_overhead, print_overhead
from .peers import VipsWorker, vips_available
from .quality_bench import measure_quality, print_quality
from .servers import THUMBOR_VENV, WORKERS, thumbor_available
from .stats import fmt, ratio
from .video_bench import TARGET_VIDEO_MEMORY_MIB, TARGET_VIDEO_RATIO, bench_video, print_video
from .warm_bench import bench_warm, print_warm
from .workloads import FILL_400, FIT_1280, MEMORY_IMAGE, QUALITY, WORKLOADS, Corpus, find_corpus

TARGET_ENGINE_RATIO = {FILL_400.name: 0.9, FIT_1280.name: 1.2}
"""Highest allowed geomean time of our engine as a multiple of pyvips's, both
writing the same kind of JPEG (progressive, optimised Huffman tables)."""

TARGET_HTTP_RATIO = {FILL_400.name: 3.0, FIT_1280.name: 1.5}
"""Lowest allowed images/s of our service as a multiple of thumbor's."""

TARGET_OVERHEAD_RATIO = 1.10
"""Highest allowed wall time of a miss through the shipped gunicorn config, at concurrency 1,
as a multiple of the in-process engine time for the same work."""

TARGET_WARM_RATE_RATIO = 1.8
"""Lowest allowed rate of ``shiftmedia warm --jobs 2`` as a multiple of ``--jobs 1``, on 2 cores."""

TARGET_WARM_COST_RATIO = 1.15
"""Highest allowed time per derivative of ``shiftmedia warm --jobs 1`` as a multiple of the engine's."""

TARGET_PSNR_DB = 40.0
TARGET_MEMORY_MIB = 40.0


@dataclass(frozen=True)
class Target:
    """One of the issue's targets and the measured value."""

    name: str
    value: float
    limit: float
    at_most: bool
    unit: str
    note: str = ""

    @property
    def verdict(self) -> str:
        """PASS, FAIL, or N/A when the value could not be measured."""
        if math.isnan(self.value):
            return "N/A"
        ok = self.value <= self.limit if self.at_most else self.value >= self.limit
        return "PASS" if ok else "FAIL"

    def line(self) -> str:
        """The target as one printed line."""
        relation = "<=" if self.at_most else ">="
        value = fmt(self.value, 2)
        note = f"  ({self.note})" if self.note else ""
        return f"{self.verdict:4}  {self.name:42} {value:>8} {self.unit:6} target {relation} {self.limit:g}{note}"


def versions(vips_info: dict[str, Any] | None) -> dict[str, str]:
    """Versions of everything measured, and the machine."""
    found = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        "pillow": f"{PIL.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')})",
    }
    if vips_info:
        found["pyvips"] = f"{vips_info['pyvips']} (libvips {vips_info['libvips']}, {vips_info['concurrency']} threads)"
    if thumbor_available():
        probe = subprocess.run(
            [
                str(THUMBOR_VENV / "bin" / "python"),
                "-c",
                "import thumbor, PIL; print(thumbor.__version__, PIL.__version__)",
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if probe.returncode == 0:
            thumbor_version, pillow_version = probe.stdout.split()
            found["thumbor"] = f"{thumbor_version} (Pillow {pillow_version})"
    return found


def targets(
    engine: dict[str, Any] | None,
    http: dict[str, Any] | None,
    quality: dict[str, dict[str, dict[str, float]]] | None,
    memory: dict[str, dict[str, dict[str, Any]]] | None,
    memory_path: Path | None,
    corpus: Corpus,
    overhead: dict[str, Any] | None = None,
    warm: dict[str, Any] | None = None,
    video: dict[str, Any] | None = None,
) -> list[Target]:
    """The issue's targets with the measured values (NaN where not measured)."""
    found: list[Target] = []
    for workload in WORKLOADS:
        value = engine[workload.name]["ratio_to_vips"].get("ours", math.nan) if engine else math.nan
        found.append(
            Target(f"engine {workload.label}: time / pyvips", value, TARGET_ENGINE_RATIO[workload.name], True, "x")
        )
    for workload in WORKLOADS:
        value = math.nan
        if http and "thumbor" in http[workload.name]:
            value = ratio(http[workload.name]["ours"]["images_per_s"], http[workload.name]["thumbor"]["images_per_s"])
        found.append(
            Target(f"HTTP c=2 {workload.label}: img/s / thumbor", value, TARGET_HTTP_RATIO[workload.name], False, "x")
        )
    for workload in WORKLOADS:
        value = overhead[workload.name]["ratio"] if overhead else math.nan
        added = f"{fmt(overhead[workload.name]['added_ms'], 1)} ms added, median" if overhead else ""
        found.append(
            Target(f"service c=1 {workload.label}: miss / engine", value, TARGET_OVERHEAD_RATIO, True, "x", added)
        )
    found.append(
        Target(
            "warm --jobs 2 / --jobs 1: derivatives/s",
            warm["rate_ratio"] if warm else math.nan,
            TARGET_WARM_RATE_RATIO,
            False,
            "x",
            f"{os.cpu_count()} CPUs; one worker keeps {fmt(warm['cores_busy']['jobs 1'], 2)} busy, so at most"
            f" {fmt(warm['ceiling'], 2)} x"
            if warm
            else "",
        )
    )
    found.append(
        Target(
            "warm --jobs 1: time / engine time",
            warm["cost_ratio"] if warm else math.nan,
            TARGET_WARM_COST_RATIO,
            True,
            "x",
        )
    )
    found.append(
        Target(
            "video poster 1080p H.264 400x225: time / ffmpeg",
            video["ratio"] if video else math.nan,
            TARGET_VIDEO_RATIO,
            True,
            "x",
        )
    )
    found.append(
        Target(
            "video poster: peak RSS growth",
            video["rss_mib"] if video else math.nan,
            TARGET_VIDEO_MEMORY_MIB,
            True,
            "MiB",
        )
    )
    note = "fallback images, not the cam_* corpus" if corpus.fallback else ""
    for workload in WORKLOADS:
        value = min(quality[workload.name]["ours_png"].values()) if quality else math.nan
        found.append(Target(f"PSNR {workload.label} (resize, lossless), min", value, TARGET_PSNR_DB, False, "dB", note))
    memory_note = "" if memory_path is None or memory_path.name == MEMORY_IMAGE else f"measured on {memory_path.name}"
    for workload in WORKLOADS:
        value = memory[workload.name]["ours"]["mib"] if memory else math.nan
        found.append(Target(f"memory {workload.label}, 22 MP JPEG", value, TARGET_MEMORY_MIB, True, "MiB", memory_note))
    return found


def default_save_context(engine: dict[str, Any]) -> list[str]:
    """Notes beside the engine targets: our time against pyvips with its default JPEG writer.

    The targets compare like with like: pyvips writes the progressive JPEG
    with optimised tables that our engine writes. Its default writer (baseline,
    standard tables) does less work for a larger file; the ratio to it is shown
    here so that neither figure hides the other.
    """
    lines = []
    for workload in WORKLOADS:
        value = engine[workload.name]["ratio_to_vips_default"].get("ours", math.nan)
        if not math.isnan(value):
            lines.append(
                f"engine {workload.label}: time / pyvips with its default (baseline) JPEG writer {fmt(value, 2)} x"
            )
    return lines


def psnr_context(quality: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Notes beside the PSNR targets: our JPEG against what any q85 JPEG of the reference reaches.

    The target judges the resize (the fast path must not blur), so it is
    measured before JPEG encoding; the JPEG figures show the encoder's own loss.
    """
    lines = []
    for workload in WORKLOADS:
        columns = quality[workload.name]
        ours = fmt(min(columns["ours"].values()), 2)
        ceiling = fmt(min(columns["reference_jpg"].values()), 2)
        lines.append(
            f"PSNR {workload.label}: our q{QUALITY} JPEG min {ours} dB;"
            f" the reference itself saved as q{QUALITY} JPEG min {ceiling} dB"
        )
    return lines


def clean_json(value: Any) -> Any:
    """``value`` with NaN and infinities as None and paths as strings, for strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): clean_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 images, one repetition")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results to FILE")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything, print the report, return 0."""
    args = parse_args(argv)
    settings = Settings.for_run(args.quick)
    started = time.monotonic()
    corpus = find_corpus()
    if not corpus.images:
        print("no images found: neither the corpus nor tests/fixtures/*.jpg")
        return 0
    images = pick_images(corpus, settings)
    data = {path: path.read_bytes() for path in images}
    checks: list[str] = []
    results: dict[str, Any] = {"settings": settings.__dict__, "corpus": corpus.source, "fallback": corpus.fallback}
    engine_summary = http_summary = overhead_summary = warm_summary = video_summary = None
    quality = memory = None
    memory_path: Path | None = None

    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="shiftmedia-bench-") as tmp:
        workdir = Path(tmp)
        vips: VipsWorker | None = None
        if vips_available():
            vips = stack.enter_context(VipsWorker())
        else:
            checks.append("pyvips is not installed (bash tests/bench/install-peers.sh): no pyvips column")
        found_versions = versions(vips.info() if vips else None)
        results["versions"] = found_versions

        print(f"shiftmedia benchmark{' (--quick)' if settings.quick else ''}")
        for name, version in found_versions.items():
            print(f"  {name:8} {version}")
        if corpus.fallback:
            print(f"  images   FALLBACK: the corpus is absent, using {len(images)} JPEGs from {corpus.source}")
        else:
            print(f"  images   {len(images)} cam_* JPEGs from {corpus.source}")
        print(
            f"  engines  shiftmedia.engine.render; pyvips thumbnail_buffer (crop=centre / size=down), jpegsave"
            f" Q={QUALITY} progressive with optimised tables as ours (pyvips default save: baseline, standard"
            f" tables); naive Pillow: full decode, exif_transpose, LANCZOS, q{QUALITY}"
        )
        print(
            f"  HTTP     gunicorn 'shiftmedia_webapp:create_app()' {WORKERS} sync workers, every request a miss;"
            f" thumbor --processes {WORKERS}, PIL engine, file loader, no storage, RESPECT_ORIENTATION, QUALITY {QUALITY}"
        )

        timings = bench_engines(images, data, vips, settings, checks)
        engine_summary = print_engine_tables(timings, images, settings)
        results["engine"] = engine_summary

        try:
            http = bench_http(images, settings, workdir, checks)
            http_summary = print_http(http, images, settings)
        except Exception as error:  # noqa: BLE001 - one failed part must not hide the others
            checks.append(f"HTTP benchmark failed: {type(error).__name__}: {error}")
        results["http"] = http_summary

        try:
            overhead = bench_overhead(images, data, settings, workdir, checks)
            overhead_summary = print_overhead(overhead, images)
        except Exception as error:  # noqa: BLE001 - one failed part must not hide the others
            checks.append(f"overhead benchmark failed: {type(error).__name__}: {error}")
        results["overhead"] = overhead_summary

        try:
            warm_summary = print_warm(bench_warm(images, data, settings, workdir))
        except Exception as error:  # noqa: BLE001 - one failed part must not hide the others
            checks.append(f"warm benchmark failed: {type(error).__name__}: {error}")
        results["warm"] = warm_summary

        try:
            video_summary = print_video(bench_video(settings, workdir))
        except Exception as error:  # noqa: BLE001 - one failed part must not hide the others
            checks.append(f"video benchmark failed: {type(error).__name__}: {error}")
        results["video"] = video_summary

        log("quality")
        quality = measure_quality(images, data, vips, workdir)
        print_quality(quality, images)
        results["quality_psnr_db"] = quality

        log("memory")
        memory_path = memory_image(images, corpus)
        try:
            memory = measure_memory(memory_path, vips is not None, settings)
            print_memory(memory, memory_path, settings)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
            checks.append(f"memory measurement failed: {error}")
        results["memory"] = {"image": memory_path.name, "by_workload": memory}

    found_targets = targets(
        engine_summary,
        http_summary,
        quality,
        memory,
        memory_path,
        corpus,
        overhead_summary,
        warm_summary,
        video_summary,
    )
    print("\nTargets")
    for target in found_targets:
        print("  " + target.line())
    results["targets"] = [{**target.__dict__, "verdict": target.verdict} for target in found_targets]
    if engine_summary:
        for line in default_save_context(engine_summary):
            print("        " + line)
    if quality:
        for line in psnr_context(quality):
            print("        " + line)
    if checks:
        print("\nChecks")
        for check in checks:
            print(f"  ! {check}")
    results["checks"] = checks
    elapsed = time.monotonic() - started
    results["elapsed_s"] = elapsed
    passed = sum(target.verdict == "PASS" for target in found_targets)
    print(
        f"\n{passed}/{len(found_targets)} targets pass; run time {elapsed:.0f} s. Exit status 0: a measurement, not a test."
    )
    if args.json:
        args.json.write_text(json.dumps(clean_json(results), indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
