"""What every part of the benchmark shares: run settings, labels, progress and tables."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .workloads import Corpus

ENGINES = ("ours", "vips", "vips_default", "pillow")
"""Engine columns, in table order. ``vips`` writes the same kind of JPEG as our
engine (progressive, optimised Huffman tables); ``vips_default`` is pyvips
with its default JPEG writer (see :data:`~.workloads.JPEG_SAVES`)."""

ENGINE_LABELS = {
    "ours": "shiftmedia",
    "vips": "pyvips",
    "vips_default": "pyvips default save",
    "pillow": "naive Pillow",
}
SERVERS = ("ours", "thumbor")
SERVER_LABELS = {"ours": "shiftmedia", "thumbor": "thumbor"}
CONCURRENCY = 2
"""Requests in flight at once against each server."""


@dataclass(frozen=True)
class Settings:
    """How much work one run does."""

    quick: bool
    engine_reps: int
    http_rounds: int
    http_batch: int
    memory_runs: int
    max_images: int | None

    @classmethod
    def for_run(cls, quick: bool) -> Settings:
        """The full run (about 5 minutes on 2 cores) or a smoke run (about 1 minute)."""
        if quick:
            return cls(quick=True, engine_reps=1, http_rounds=1, http_batch=2, memory_runs=1, max_images=3)
        return cls(quick=False, engine_reps=5, http_rounds=3, http_batch=4, memory_runs=3, max_images=None)


def log(message: str) -> None:
    """Progress on standard error, so standard output holds the report only."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under headers: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [str(row[0]).ljust(widths[0])] + [str(cell).rjust(widths[i]) for i, cell in enumerate(row) if i]
        lines.append("  ".join(cells))
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def upright_size(path: Path) -> tuple[int, int]:
    """The image's size once turned upright by its EXIF orientation (header only)."""
    with Image.open(path) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def size_ok(actual: tuple[int, int], expected: tuple[int, int]) -> bool:
    """Equal sizes, allowing one pixel of rounding on each side."""
    return abs(actual[0] - expected[0]) <= 1 and abs(actual[1] - expected[1]) <= 1


def pick_images(corpus: Corpus, settings: Settings) -> list[Path]:
    """All images; for ``--quick``, the smallest, the middle and the largest by pixel count."""
    images = list(corpus.images)
    if settings.max_images is None or len(images) <= settings.max_images:
        return images
    by_pixels = sorted(images, key=lambda path: math.prod(upright_size(path)))
    return [by_pixels[0], by_pixels[len(by_pixels) // 2], by_pixels[-1]]
