"""Prometheus metrics of the media endpoint (prometheus-client).

Under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty folder so every worker's samples are collected (prometheus-client's
multiprocess mode); :func:`exposition` then aggregates them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("shiftmedia_requests", "Media requests answered, by status and outcome.", ["status", "outcome"])
RESIZES = Counter("shiftmedia_resizes", "Resizes the engine ran in this process, by output format.", ["format"])
STAGE_SECONDS = Histogram(
    "shiftmedia_resize_stage_seconds",
    "Seconds per stage of a resize (fetch, decode, resize, encode, store).",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BYTES_IN = Counter("shiftmedia_bytes_in", "Bytes of originals read for resizes.")
BYTES_OUT = Counter("shiftmedia_bytes_out", "Bytes of image bodies sent.")
IN_FLIGHT = Gauge("shiftmedia_requests_in_flight", "Media requests being answered.", multiprocess_mode="livesum")


def exposition() -> tuple[bytes, str]:
    """The current samples in Prometheus text format, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
