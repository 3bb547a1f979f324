"""HTTP throughput at concurrency 2: our service under gunicorn against thumbor."""

from __future__ import annotations

import io
import secrets
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.storage import Storage

from .common import CONCURRENCY, SERVER_LABELS, SERVERS, Settings, log, size_ok, table, upright_size
from .http_load import Batch, LoadClient
from .servers import HOST, WORKERS, ManagedServer, shiftmedia_server, thumbor_available, thumbor_server
from .stats import fmt, median, ratio
from .workloads import QUALITY, WORKLOADS, Workload

UNEVEN_SHARE = 0.5
"""A server's least busy worker process should use at least this share of the
busiest one's CPU time; less means the load did not reach all its processes."""


@dataclass
class HttpTally:
    """Requests and seconds of one server on one workload, per image."""

    requests: dict[str, int]
    seconds: dict[str, float]
    latencies: list[float]
    errors: int = 0

    @classmethod
    def empty(cls, images: list[Path]) -> HttpTally:
        """No request yet."""
        return cls({path.name: 0 for path in images}, {path.name: 0.0 for path in images}, [])

    def add(self, image: str, batch: Batch, errors: int) -> None:
        """Count one batch."""
        self.requests[image] += len(batch.replies)
        self.seconds[image] += batch.seconds
        self.latencies.extend(reply.seconds for reply in batch.replies)
        self.errors += errors

    def rate(self, image: str | None = None) -> float:
        """Images per second for ``image``, or over all images (total requests / total time)."""
        if image is None:
            return ratio(float(sum(self.requests.values())), sum(self.seconds.values()))
        return ratio(float(self.requests[image]), self.seconds[image])


def _cpu_list(seconds: list[float]) -> str:
    return ", ".join(fmt(value, 1) for value in seconds) or "none"


class OurService:
    """Our service under gunicorn, with every original stored ``copies`` times so that
    each request of a batch asks for a derivative of its own id; after each batch the
    derivatives are deleted, so every request is a miss that creates one."""

    def __init__(self, server: ManagedServer, storage: Storage, images: list[Path], copies: int) -> None:
        self.server = server
        self.storage = storage
        self.ids = {path.name: [storage.put(path) for _ in range(copies)] for path in images}

    def keys(self, image: str, workload: Workload) -> list[str]:
        """The derivative keys one batch on ``image`` requests."""
        return [
            self.storage.resize_key(media_id, workload.size, mode=workload.mode, format="jpg", quality=QUALITY)
            for media_id in self.ids[image]
        ]

    def paths(self, image: str, workload: Workload) -> list[str]:
        """The request paths of one batch."""
        return [urlsplit(self.storage.backend.public_url(key)).path for key in self.keys(image, workload)]

    def clear(self, image: str, workload: Workload) -> int:
        """Delete one batch's derivatives; return how many existed (each request created one)."""
        return sum(self.storage.backend.delete(key) for key in self.keys(image, workload))


def thumbor_paths(image: str, workload: Workload, count: int) -> list[str]:
    """thumbor URLs: ``/unsafe/400x400/<file>`` crops to fill around the centre, ``/unsafe/1280x0/<file>``
    scales to 1280 wide."""
    return [f"/unsafe/{workload.width}x{workload.height}/{quote(image)}"] * count


def check_batch(batch: Batch, expected: tuple[int, int], label: str, checks: list[str]) -> int:
    """Count the replies that are not a JPEG of the expected size; note the first ones."""
    errors = 0
    for reply in batch.replies:
        problem = ""
        if reply.status != 200 or not reply.content_type.startswith("image/jpeg"):
            problem = f"HTTP {reply.status} {reply.content_type}: {reply.body[:120]!r}"
        else:
            with Image.open(io.BytesIO(reply.body)) as image:
                if not size_ok(image.size, expected):
                    problem = f"size {image.size}, expected {expected}"
        if problem:
            errors += 1
            if len(checks) < 40:
                checks.append(f"{label}: {problem}")
    return errors


def bench_http(images: list[Path], settings: Settings, workdir: Path, checks: list[str]) -> dict[str, Any]:
    """Images/s at concurrency 2 of our service and thumbor, interleaved image by image."""
    folders = {path.parent for path in images}
    if len(folders) != 1:
        raise RuntimeError("the images must share one folder (thumbor's file loader root)")
    have_thumbor = thumbor_available()
    tallies = {w.name: {name: HttpTally.empty(images) for name in SERVERS} for w in WORKLOADS}
    created = 0
    requested = 0
    with ExitStack() as stack:
        secret = secrets.token_urlsafe(32)
        root = workdir / "media"
        server = shiftmedia_server(Path(sys.executable), root, secret, workdir)
        storage = Storage(LocalBackend(root, f"http://{HOST}:{server.port}/media"), [secret])
        log("http: storing originals")
        service = OurService(server, storage, images, settings.http_batch)
        log("http: starting gunicorn" + (" and thumbor" if have_thumbor else ""))
        stack.callback(server.stop)
        server.start("/")
        servers = {"ours": server}
        clients = {"ours": stack.enter_context(LoadClient(HOST, server.port, CONCURRENCY))}
        if have_thumbor:
            thumbor = thumbor_server(folders.pop(), workdir)
            stack.callback(thumbor.stop)
            thumbor.start("/healthcheck")
            servers["thumbor"] = thumbor
            clients["thumbor"] = stack.enter_context(LoadClient(HOST, thumbor.port, CONCURRENCY))
        else:
            checks.append("thumbor is not installed (bash tests/bench/install-peers.sh): no HTTP comparison")

        def one_batch(name: str, path: Path, workload: Workload) -> tuple[Batch, int]:
            nonlocal created, requested
            if name == "ours":
                batch = clients[name].run(service.paths(path.name, workload))
                created += service.clear(path.name, workload)
                requested += len(batch.replies)
            else:
                batch = clients[name].run(thumbor_paths(path.name, workload, settings.http_batch))
            label = f"{SERVER_LABELS[name]} {workload.label} {path.name}"
            return batch, check_batch(batch, workload.target_size(upright_size(path)), label, checks)

        for workload in WORKLOADS:
            for name in clients:
                one_batch(name, images[0], workload)
        created = requested = 0
        cpu_before = {name: managed.worker_cpu() for name, managed in servers.items()}
        for round_index in range(settings.http_rounds):
            log(f"http: round {round_index + 1}/{settings.http_rounds}")
            for index, path in enumerate(images):
                for workload in WORKLOADS:
                    names = list(clients)
                    if (round_index + index) % 2:
                        names.reverse()
                    for name in names:
                        batch, errors = one_batch(name, path, workload)
                        tallies[workload.name][name].add(path.name, batch, errors)
        worker_cpu = {
            name: [seconds - cpu_before[name].get(pid, 0.0) for pid, seconds in sorted(managed.worker_cpu().items())]
            for name, managed in servers.items()
        }
    for name, seconds in worker_cpu.items():
        if len(seconds) < WORKERS or min(seconds) < UNEVEN_SHARE * max(seconds):
            checks.append(
                f"{SERVER_LABELS[name]}: its worker processes did uneven work ({_cpu_list(seconds)} CPU s):"
                " the throughput is not that of all its processes"
            )
    if created != requested:
        checks.append(f"shiftmedia: {requested} requests created {created} derivatives (each should create one)")
    return {
        "tallies": tallies,
        "servers": list(clients),
        "worker_cpu": worker_cpu,
        "created": created,
        "requested": requested,
    }


def print_http(http: dict[str, Any], images: list[Path], settings: Settings) -> dict[str, Any]:
    """Print images/s per image and overall, and the ratio; return the summary."""
    summary: dict[str, Any] = {}
    servers = http["servers"]
    for workload in WORKLOADS:
        tallies: dict[str, HttpTally] = http["tallies"][workload.name]
        headers = ["image", *[f"{SERVER_LABELS[name]} img/s" for name in servers]]
        if "thumbor" in servers:
            headers.append("shiftmedia/thumbor")
        rows = []
        for path in [*images, None]:
            key = path.name if path else None
            rates = [tallies[name].rate(key) for name in servers]
            row = [key or "all images", *[fmt(rate, 2) for rate in rates]]
            if "thumbor" in servers:
                row.append(fmt(ratio(rates[0], rates[1]), 2))
            rows.append(row)
        latency_row = ["median latency ms", *[fmt(median(tallies[name].latencies) * 1000) for name in servers]]
        if "thumbor" in servers:
            latency_row.append("")
        rows.append(latency_row)
        per_image = settings.http_rounds * settings.http_batch
        print(
            f"\nHTTP, {workload.label} JPEG q{QUALITY}: images/s at concurrency {CONCURRENCY}, {WORKERS} server"
            f" processes each, {per_image} requests per image per server"
        )
        print(table(headers, rows))
        summary[workload.name] = {
            name: {
                "images_per_s": tallies[name].rate(),
                "per_image": {path.name: tallies[name].rate(path.name) for path in images},
                "median_latency_ms": median(tallies[name].latencies) * 1000,
                "requests": sum(tallies[name].requests.values()),
                "seconds": sum(tallies[name].seconds.values()),
                "errors": tallies[name].errors,
            }
            for name in servers
        }
    cpu = "; ".join(f"{SERVER_LABELS[name]} {_cpu_list(seconds)}" for name, seconds in http["worker_cpu"].items())
    print(f"  CPU seconds of each worker process over the timed requests (one connection per request): {cpu}")
    print(f"  shiftmedia derivatives created by the timed requests: {http['created']} of {http['requested']}")
    return summary
