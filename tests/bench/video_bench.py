"""Video poster frames: our engine against Debian's ffmpeg, and the memory one costs.

The clip is generated once per run with PyAV: 1080p H.264 (x264 ``veryfast``,
B-frames, CABAC), 10 s at 30 fps with a keyframe every 60 frames, a moving
picture under fresh grain in every frame, so that it runs at a phone's bit
rate (about 5 Mbit/s) rather than a few hundred kbit/s. For each of :data:`TIMES` (late in a group of
pictures, in the middle of one, early in one) each round times, in an
alternating order, our ``render`` of a 400×225 JPEG of the frame at that time
(reading the file included, as the service reads the original) and
``ffmpeg -ss T -i in.mp4 -frames:v 1 -vf scale=400:-1 out.jpg`` for the same
frame; the first round warms up. The figure is the sum of the medians, ours
over ffmpeg's. Memory is the peak RSS growth of one such render in a fresh
process (``python -m tests.bench.video_bench PATH SECONDS``), measured as
:mod:`.memory_probe` measures an image resize.

Run alone: ``python -m tests.bench.video_bench`` prints the section; the
benchmark's ``run.py`` calls :func:`bench_video` and :func:`print_video`.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from shiftmedia.engine import render
from shiftmedia.spec import ResizeSpec

from .common import Settings, log, table
from .memory import run_probe
from .memory_probe import _reset_peak, _status
from .stats import fmt, median, ratio

TIMES = (1.9, 5.5, 8.3)
"""Frame times, in seconds: 57, 45 and 9 frames after the keyframe before them."""

SIZE, SECONDS, FPS, GOP = (1920, 1080), 10, 30, 60
"""The clip: 1080p, 10 s at 30 fps, a keyframe every 60 frames."""

GRAIN_SHIFT = 251
"""How far, in pixels, each frame's grain is cut from a different place of one noise picture."""

TARGET_VIDEO_RATIO = 1.2
"""Highest allowed time of our poster frame as a multiple of Debian's ffmpeg's."""

TARGET_VIDEO_MEMORY_MIB = 100.0
"""Highest allowed peak RSS growth of one poster frame of the 1080p clip."""


def make_clip(path: Path) -> Path:
    """Write the benchmark's 1080p H.264 clip to ``path`` (once; a later call reuses it)."""
    if path.is_file():
        return path
    import av

    width, height = SIZE
    backdrop = Image.linear_gradient("L").resize((width * 2, height)).convert("RGB")
    draw = ImageDraw.Draw(backdrop)
    for x in range(0, width * 2, 97):
        draw.line((x, 0, x + height // 2, height), fill=(200, 60 + x % 150, 40), width=9)
    grain = Image.effect_noise((width + GRAIN_SHIFT, height + GRAIN_SHIFT), 40).convert("RGB")
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.codec_context.options = {"preset": "veryfast", "sc_threshold": "0"}
        for index in range(SECONDS * FPS):
            shift = index * 7919 % GRAIN_SHIFT, index * 104729 % GRAIN_SHIFT
            noise = grain.crop((*shift, shift[0] + width, shift[1] + height))
            picture = Image.blend(backdrop.crop((index * 3, 0, index * 3 + width, height)), noise, 0.12)
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]  # PyAV leaves it unannotated
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def spec_at(seconds: float) -> ResizeSpec:
    """The poster frame the benchmark asks for: 400×225 JPEG at ``seconds``."""
    return ResizeSpec.create("400x225", format="jpg", time=seconds)


def ours(path: Path, seconds: float) -> bytes:
    """Our poster frame, the file read as the service reads an original."""
    return render(path.read_bytes(), spec_at(seconds)).data


def theirs(ffmpeg: str, path: Path, seconds: float, out: Path) -> bytes:
    """Debian's ffmpeg's poster frame of the same time."""
    command = [ffmpeg, "-v", "error", "-y", "-ss", str(seconds), "-i", str(path), "-frames:v", "1"]
    subprocess.run([*command, "-vf", "scale=400:-1", str(out)], check=True, timeout=120)
    return out.read_bytes()


def bench_video(settings: Settings, workdir: Path) -> dict[str, Any]:
    """Seconds per frame time for ours and ffmpeg's, and our peak RSS growth; raises when ffmpeg is missing."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("Debian's ffmpeg is not installed (apt-get install ffmpeg)")
    log("video: generating the 1080p H.264 clip")
    clip = make_clip(workdir / "poster-1080p.mp4")
    seconds: dict[str, dict[float, list[float]]] = {"ours": {t: [] for t in TIMES}, "ffmpeg": {t: [] for t in TIMES}}
    for rep in range(settings.engine_reps + 1):
        log(f"video: round {rep + 1}/{settings.engine_reps + 1} (the first warms up)")
        for at in TIMES:
            for name in ("ours", "ffmpeg") if rep % 2 else ("ffmpeg", "ours"):
                started = time.perf_counter()
                made = ours(clip, at) if name == "ours" else theirs(ffmpeg, clip, at, workdir / "poster.jpg")
                elapsed = time.perf_counter() - started
                if Image.open(io.BytesIO(made)).size != (400, 225):
                    raise RuntimeError(f"{name} made a poster of the wrong size at {at} s")
                if rep:
                    seconds[name][at].append(elapsed)
    runs = [_memory(clip, TIMES[1]) for _ in range(settings.memory_runs)]
    return {"seconds": seconds, "memory": runs, "clip_bytes": clip.stat().st_size}


def print_video(runs: dict[str, Any]) -> dict[str, Any]:
    """Print the medians, the ratio and the memory; return the summary."""
    medians = {
        name: {at: median(values) for at, values in by_time.items()} for name, by_time in runs["seconds"].items()
    }
    rows = [
        [f"t = {at} s", fmt(medians["ours"][at] * 1000), fmt(medians["ffmpeg"][at] * 1000)]
        + [fmt(ratio(medians["ours"][at], medians["ffmpeg"][at]), 2)]
        for at in TIMES
    ]
    total = {name: sum(by_time.values()) for name, by_time in medians.items()}
    rows.append(
        ["all", fmt(total["ours"] * 1000), fmt(total["ffmpeg"] * 1000), fmt(ratio(total["ours"], total["ffmpeg"]), 2)]
    )
    growth = max(run["increase_kib"] for run in runs["memory"]) / 1024
    baseline = runs["memory"][0]["baseline_kib"] / 1024
    print(
        f"\nVideo poster frame: 1080p H.264 {SECONDS} s at {FPS} fps, GOP {GOP} ({runs['clip_bytes'] / 2**20:.1f} MiB),"
        " 400x225 JPEG; median ms of rounds, ours (file read + render) vs Debian's"
        " `ffmpeg -ss T -i in.mp4 -frames:v 1 -vf scale=400:-1 out.jpg`"
    )
    print(table(["frame", "ours ms", "ffmpeg ms", "ours / ffmpeg"], rows))
    print(f"peak RSS growth of one poster, fresh process: {fmt(growth)} MiB (baseline {fmt(baseline)} MiB)")
    summary = {"medians_s": medians, "ratio": ratio(total["ours"], total["ffmpeg"]), "rss_mib": growth}
    for name, value, limit, unit in (
        ("time / ffmpeg", summary["ratio"], TARGET_VIDEO_RATIO, "x"),
        ("peak RSS growth", growth, TARGET_VIDEO_MEMORY_MIB, "MiB"),
    ):
        print(
            f"{'PASS' if value <= limit else 'FAIL':4}  video poster {name}: {fmt(value, 2)} {unit}, target <= {limit:g}"
        )
    return summary


def _memory(clip: Path, seconds: float) -> dict[str, Any]:
    """One poster frame of ``clip`` in a fresh interpreter: its peak RSS growth (see :func:`main`)."""
    return run_probe([sys.executable, "-m", "tests.bench.video_bench", str(clip), str(seconds)], "video memory probe")


def main(argv: list[str]) -> None:
    """With ``PATH SECONDS``: measure one poster frame and print ``baseline_kib``,
    ``peak_kib``, ``increase_kib`` and ``reset`` as :mod:`.memory_probe` does,
    after a first poster of a tiny clip has loaded every library. Without
    arguments: run the section alone."""
    if not argv:
        with tempfile.TemporaryDirectory() as folder:
            print_video(bench_video(Settings.for_run(quick=False), Path(folder)))
        return
    path, seconds = Path(argv[0]), float(argv[1])
    warm = path.with_name("warm-up.mp4")
    if not warm.is_file():
        make_tiny(warm)
    ours(warm, 0.1)
    data = path.read_bytes()
    reset = _reset_peak()
    baseline = _status("VmRSS") if reset else _status("VmHWM")
    render(data, spec_at(seconds))
    peak = _status("VmHWM")
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "increase_kib": peak - baseline, "reset": reset}))


def make_tiny(path: Path) -> None:
    """A 64×36 H.264 clip of a few frames, to load the decoder before the measurement."""
    import av

    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 36, "yuv420p"
        for index in range(6):
            picture = Image.linear_gradient("L").resize((64, 36)).rotate(index * 30).convert("RGB")
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]  # PyAV leaves it unannotated
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)


if __name__ == "__main__":
    main(sys.argv[1:])
