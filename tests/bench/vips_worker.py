"""The pyvips peer, run in ``.venv-bench-vips`` as ``python -m tests.bench.vips_worker``.

It reads one JSON request per line on standard input and answers one JSON line
on standard output, so the benchmark can time pyvips per call without pyvips in
the project venv. Requests:

- ``{"op": "info"}``: versions and libvips's thread count;
- ``{"op": "run", "path": P, "workload": NAME, "save": SAVE, "out": OPTIONAL_PATH}``:
  resize the file at ``P`` (read once, then kept in memory), write the JPEG with
  the :data:`~.workloads.JPEG_SAVES` options named ``SAVE`` (default ``same``)
  and answer ``ms`` (decode to encoded bytes, timed here so the pipe is not
  counted), ``width``, ``height`` and ``bytes``; with ``out``, also write the
  JPEG there.

Any failure answers ``{"error": MESSAGE}`` and the worker goes on.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pyvips

from .workloads import BY_NAME, JPEG_SAVES, Workload

FIT_HEIGHT = 100_000
"""A height no photo reaches, so a fit is bounded by its width only."""


def resize(data: bytes, workload: Workload, save: str = "same") -> tuple[bytes, int, int]:
    """pyvips's thumbnail of ``data`` for ``workload`` as a q85 JPEG written with
    the ``save`` options of :data:`~.workloads.JPEG_SAVES`: bytes, width, height."""
    if workload.mode == "fill":
        image = pyvips.Image.thumbnail_buffer(data, workload.width, height=workload.height, crop="centre")
    else:
        image = pyvips.Image.thumbnail_buffer(data, workload.width, height=FIT_HEIGHT, size="down")
    return image.write_to_buffer(".jpg", **JPEG_SAVES[save]), image.width, image.height


def info() -> dict[str, Any]:
    """pyvips and libvips versions and the libvips thread count."""
    return {
        "pyvips": pyvips.__version__,
        "libvips": f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
        "concurrency": pyvips.concurrency_get(),
    }


def handle(request: dict[str, Any], cache: dict[str, bytes]) -> dict[str, Any]:
    """Answer one request (see the module doc)."""
    if request.get("op") == "info":
        return info()
    if request.get("op") != "run":
        return {"error": f"unknown op {request.get('op')!r}"}
    path = request["path"]
    if path not in cache:
        with open(path, "rb") as stream:
            cache[path] = stream.read()
    start = time.perf_counter()
    data, width, height = resize(cache[path], BY_NAME[request["workload"]], request.get("save", "same"))
    elapsed = time.perf_counter() - start
    if request.get("out"):
        with open(request["out"], "wb") as stream:
            stream.write(data)
    return {"ms": elapsed * 1000, "width": width, "height": height, "bytes": len(data)}


def main() -> None:
    """Serve requests until standard input closes."""
    pyvips.cache_set_max(0)
    cache: dict[str, bytes] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line), cache)
        except Exception as error:  # noqa: BLE001 - reported to the caller, which decides
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
