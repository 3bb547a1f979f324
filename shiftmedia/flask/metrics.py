"""Prometheus metrics of the media endpoint (prometheus-client), one set per app.

Each app gets its own registry, so two apps in one process (tests, an
embedding app with a second service app) never add to each other's counts.
Under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty folder so every worker's samples are collected (prometheus-client's
multiprocess mode); :meth:`Metrics.exposition` then aggregates them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from ..delivery import Derivative

STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The counters, histogram and gauge of one app's media endpoint."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shiftmedia_requests",
            "Media requests answered, by status and outcome.",
            ["status", "outcome"],
            registry=self.registry,
        )
        self.resizes = Counter(
            "shiftmedia_resizes",
            "Resizes the engine ran in this process, by output format.",
            ["format"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "shiftmedia_resize_stage_seconds",
            "Seconds per stage of a resize (fetch, decode, resize, encode, store).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.bytes_in = Counter("shiftmedia_bytes_in", "Bytes of originals read for resizes.", registry=self.registry)
        self.bytes_out = Counter("shiftmedia_bytes_out", "Bytes of image bodies sent.", registry=self.registry)
        self.in_flight = Gauge(
            "shiftmedia_requests_in_flight",
            "Media requests being answered.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Count a request as in flight for the duration of the block, whatever it raises."""
        self.in_flight.inc()
        try:
            yield
        finally:
            self.in_flight.dec()

    def answered(self, status: int, outcome: str, body_bytes: int, made: Derivative | None) -> None:
        """Count one answered request, and the resize it ran, if any."""
        self.requests.labels(str(status), outcome).inc()
        if status in (200, 206):
            self.bytes_out.inc(body_bytes)
        if made is not None and made.rendered:
            self.resizes.labels(made.format).inc()
            self.bytes_in.inc(made.source_bytes)
            for stage, seconds in made.timings.items():
                self.stage_seconds.labels(stage).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The current samples in Prometheus text format, and its content type."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
