"""Quality of every engine's output: PSNR against the full-resolution reference."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from shiftmedia.engine import render

from .common import log, table
from .local_engines import LOCAL_ENGINES, ours, spec_for
from .peers import VipsWorker
from .quality import psnr_of_encoded, reference, upright_srgb
from .stats import fmt
from .workloads import QUALITY, WORKLOADS


def measure_quality(
    images: list[Path], data: dict[Path, bytes], vips: VipsWorker | None, workdir: Path
) -> dict[str, dict[str, dict[str, float]]]:
    """PSNR in dB against the reference: ``[workload][column][image name]``.

    Columns: ``ours`` (our JPEG q85), ``ours_png`` (our pixels before
    JPEG: the resampling alone), ``reference_jpg`` (the reference itself saved as
    q85 JPEG: what JPEG alone costs), ``pillow`` (naive Pillow's q85 JPEG, no
    colour management) and ``vips`` (pyvips's q85 JPEG).
    """
    result: dict[str, dict[str, dict[str, float]]] = {w.name: {} for w in WORKLOADS}
    for path in images:
        log(f"quality: {path.name}")
        upright = upright_srgb(data[path])
        for workload in WORKLOADS:
            expected = reference(upright, workload)
            outputs = {
                "ours": ours(data[path], workload),
                "ours_png": render(data[path], spec_for(workload, "png")).data,
                "reference_jpg": jpeg_bytes(expected),
                "pillow": LOCAL_ENGINES["pillow"](data[path], workload),
            }
            if vips is not None:
                out = workdir / f"vips-{workload.name}.jpg"
                vips.run(path, workload, out)
                outputs["vips"] = out.read_bytes()
            for column, encoded in outputs.items():
                result[workload.name].setdefault(column, {})[path.name] = psnr_of_encoded(encoded, expected)
    return result


def jpeg_bytes(image: Image.Image) -> bytes:
    """``image`` saved as a JPEG at :data:`QUALITY` with Pillow's defaults."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def print_quality(quality: dict[str, dict[str, dict[str, float]]], images: list[Path]) -> None:
    """Print PSNR per image and the minimum."""
    labels = {
        "ours": "shiftmedia jpg",
        "ours_png": "shiftmedia png",
        "reference_jpg": f"reference q{QUALITY}",
        "pillow": "naive Pillow",
        "vips": "pyvips",
    }
    for workload in WORKLOADS:
        columns = [column for column in labels if column in quality[workload.name]]
        rows = [[path.name, *[fmt(quality[workload.name][c][path.name], 2) for c in columns]] for path in images]
        rows.append(["min", *[fmt(min(quality[workload.name][c].values()), 2) for c in columns]])
        print(f"\nQuality, {workload.label}: PSNR dB vs full-resolution LANCZOS reference (sRGB, 8-bit)")
        print(table(["image", *[labels[c] for c in columns]], rows))
    print(
        f"  shiftmedia png = our pixels before JPEG encoding (the resize alone); reference q{QUALITY} = the"
        " reference itself saved as JPEG (the loss of JPEG alone);\n  naive Pillow skips ICC conversion, so it is"
        " low on images with a non-sRGB profile."
    )
