"""The service's overhead per miss at concurrency 1.

One request at a time through the shipped gunicorn config
(``gunicorn -c python:shiftmedia_webapp.gunicorn_conf``, local disk), every
request a miss that reads the original, renders, stores and answers; against
the same render in-process. Interleaved request by request, so machine noise
hits both alike. The figure is the wall time of a miss over the engine time,
as a geometric mean across images of per-image medians, and the median
difference in milliseconds: what the service adds around the engine (HTTP,
reading the original, storing the derivative, headers, metrics, logging).
"""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shiftmedia.backends.local import LocalBackend
from shiftmedia.engine import render
from shiftmedia.storage import Storage

from .common import Settings, log, table
from .http_load import LoadClient
from .local_engines import spec_for
from .servers import HOST, ManagedServer, free_port
from .stats import fmt, geomean, median, ratio
from .workloads import QUALITY, REPO, WORKLOADS

GUNICORN_CONF = "python:shiftmedia_webapp.gunicorn_conf"


def shipped_server(root: Path, secret: str, workdir: Path) -> ManagedServer:
    """Our service as deployed: the shipped gunicorn config, bound to a free loopback port."""
    port = free_port()
    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(workdir),
        "SHIFTMEDIA_BIND": f"{HOST}:{port}",
        "SHIFTMEDIA_LOCAL_ROOT": str(root),
        "SHIFTMEDIA_SECRET_KEYS": secret,
        "SHIFTMEDIA_PUBLIC_URL": f"http://{HOST}:{port}/media",
        "SHIFTMEDIA_ACCESS_LOG": str(workdir / "overhead-access.log"),
    }
    argv = [str(Path(sys.executable).parent / "gunicorn"), "-c", GUNICORN_CONF]
    return ManagedServer(
        "shiftmedia (shipped config)", argv, port=port, env=env, cwd=REPO, log=workdir / "overhead.log"
    )


def bench_overhead(
    images: list[Path], data: dict[Path, bytes], settings: Settings, workdir: Path, checks: list[str]
) -> dict[str, Any]:
    """Per workload and image: the miss's wall ms and the engine's ms, ``settings.engine_reps`` times each."""
    secret = secrets.token_urlsafe(32)
    root = workdir / "overhead-media"
    server = shipped_server(root, secret, workdir)
    storage = Storage(LocalBackend(root, f"http://{HOST}:{server.port}/media"), [secret])
    ids = {path: storage.put(path) for path in images}
    runs: dict[str, dict[str, dict[str, list[float]]]] = {
        w.name: {"http": {p.name: [] for p in images}, "engine": {p.name: [] for p in images}} for w in WORKLOADS
    }
    log("overhead: starting gunicorn with the shipped config")
    server.start("/livez")
    try:
        with LoadClient(HOST, server.port, 1) as client:
            for rep in range(settings.engine_reps + 1):
                log(f"overhead: round {rep + 1}/{settings.engine_reps + 1} (the first warms up)")
                for index, path in enumerate(images):
                    for workload in WORKLOADS:
                        key = storage.resize_key(
                            ids[path], workload.size, mode=workload.mode, format="jpg", quality=QUALITY
                        )
                        path_of_key = urlsplit(storage.url_for_key(key)).path
                        order = ["http", "engine"] if (rep + index) % 2 else ["engine", "http"]
                        for name in order:
                            if name == "http":
                                reply = client.run([path_of_key]).replies[0]
                                seconds = reply.seconds
                                if reply.status != 200:
                                    checks.append(f"overhead: HTTP {reply.status} for {path.name} {workload.label}")
                            else:
                                start = time.perf_counter()
                                render(data[path], spec_for(workload))
                                seconds = time.perf_counter() - start
                            if rep:
                                runs[workload.name][name][path.name].append(seconds * 1000)
                        storage.backend.delete(key)
    finally:
        server.stop()
    return runs


def print_overhead(runs: dict[str, dict[str, dict[str, list[float]]]], images: list[Path]) -> dict[str, Any]:
    """Print per-image medians, the geomean ratio and the median added ms; return the summary."""
    summary: dict[str, Any] = {}
    for workload in WORKLOADS:
        http = {p.name: median(runs[workload.name]["http"][p.name]) for p in images}
        engine = {p.name: median(runs[workload.name]["engine"][p.name]) for p in images}
        rows = [
            [p.name, fmt(http[p.name]), fmt(engine[p.name]), fmt(http[p.name] - engine[p.name]),
             fmt(ratio(http[p.name], engine[p.name]), 2)]
            for p in images
        ]  # fmt: skip
        added = median([http[p.name] - engine[p.name] for p in images])
        factor = geomean(ratio(http[p.name], engine[p.name]) for p in images)
        rows.append(
            ["all images", fmt(geomean(http.values())), fmt(geomean(engine.values())), fmt(added), fmt(factor, 2)]
        )
        print(f"\nService overhead per miss, {workload.label} JPEG q{QUALITY}: concurrency 1, shipped gunicorn config")
        print(table(["image", "miss ms", "engine ms", "added ms", "miss/engine"], rows))
        summary[workload.name] = {"miss_ms": http, "engine_ms": engine, "added_ms": added, "ratio": factor}
    return summary
