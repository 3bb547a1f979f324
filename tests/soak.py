"""A soak of the service as production runs it: gunicorn with the shipped settings module, mixed load.

``make soak`` (``SOAK_SECONDS=60 make soak`` for a short one) runs::

    python -m tests.soak --seconds 600

It stores a few fixture images under a temporary local-disk root, starts gunicorn
(``tests.servers.service.Service``: the packaged ``shiftmedia_webapp.gunicorn_conf``) on
127.0.0.1, and sends a bounded mix of requests from a few client threads:

* misses: a signed derivative not made yet (several images, sizes, modes and formats),
* hits: a derivative made earlier,
* originals: the stored original's key, with its access token,
* 404s: a signed derivative of an id with no original, and an unknown key,
* 403s: a derivative name with a forged signature.

It prints requests per second, the count of each status, the median and 99th percentile
latency, and each worker's resident memory and open file descriptors at the start and at
the end, then stops gunicorn by its PID. Nothing but 127.0.0.1 is contacted.

:func:`run_load` and :func:`worker_stats` are also what ``tests/test_worker_memory.py`` uses.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shiftmedia.access import ACCESS_PARAM
from shiftmedia.backends.local import LocalBackend
from shiftmedia.ids import new_id
from shiftmedia.spec import looks_like_derivative
from shiftmedia.storage import Storage

from .servers.service import Service

FIXTURES = Path(__file__).parent / "fixtures"
SECRET_KEYS = ["soak-secret-key-newest-0123456789", "soak-secret-key-older-0123456789"]
#: Fixture images small enough for thousands of resizes in minutes on two cores, in five input formats; the
#: largest decodes to 12 MiB, the size of block whose freeing raised glibc's mmap threshold.
IMAGES = (
    "png_rgba_2048x1536.png",
    "exif_orient_6.jpg",
    "jpeg_progressive_1280x960.jpg",
    "png_palette_trns.png",
    "webp_alpha_300x300.webp",
    "gif_animated_trns_30f.gif",
    "tiff_cmyk_fogra39.tif",
)
FORMATS = ("webp", "jpg", "png", "avif")
MODES = ("fit", "fill", "pad")
#: Share of each kind of request (the rest are hits; the first requests are misses until one exists).
MIX = {"miss": 0.35, "original": 0.10, "404": 0.10, "403": 0.05}
CLIENT_TIMEOUT = 60.0
#: Requests a client sends on one connection before it opens another: a kept-alive connection stays
#: with the worker that accepted it, and new ones spread the load over the workers.
REQUESTS_PER_CONNECTION = 10


@dataclass
class Workload:
    """The media a load is made of: stored originals, and signers of new and known derivatives."""

    storage: Storage
    originals: list[tuple[str, str]]  # (id, original key)
    seed: int = 0
    made: list[str] = field(default_factory=list)
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_width: int = 40

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    @classmethod
    def on_disk(cls, root: Path, public_url: str, images: Iterable[str | Path] = IMAGES, seed: int = 0) -> Workload:
        """Store each of ``images`` (fixture names, or paths) under ``root``, as the service will find them."""
        storage = Storage(LocalBackend(root, public_url), SECRET_KEYS)
        originals = []
        for name in images:
            media_id = storage.put(FIXTURES / name)
            originals.append((media_id, storage.original_key(media_id)))
        return cls(storage, originals, seed)

    def next_request(self) -> tuple[str, str]:
        """``(kind, path)`` of the next request, drawn from :data:`MIX`."""
        with self._lock:
            roll = self._random.random()
            for kind, share in MIX.items():
                if roll < share:
                    break
                roll -= share
            else:
                kind = "hit" if self.made else "miss"
            key = self._key(kind)
        path = "/media/" + quote(key)
        if kind in ("original", "404") and not looks_like_derivative(key.rsplit("/", 1)[1]):
            return kind, f"{path}?{ACCESS_PARAM}={self.storage.access.signer.token(key)}"
        return kind, path

    def _key(self, kind: str) -> str:
        rnd = self._random
        media_id, original = rnd.choice(self.originals)
        if kind == "miss":
            # A width not asked for in the last 600 misses (they cycle through 40..639), with a random
            # image, mode, format and quality: a new resize (a repeat of all of them is rare).
            width, self._next_width = self._next_width, 40 + (self._next_width - 39) % 600
            mode = rnd.choice(MODES)
            height = 0 if mode == "fit" and rnd.random() < 0.5 else width * 3 // 4
            key = self.storage.resize_key(
                media_id, (width, height), mode=mode, format=rnd.choice(FORMATS), quality=rnd.randrange(50, 95)
            )
            self.made.append(key)
            return key
        if kind == "hit":
            return rnd.choice(self.made)
        if kind == "original":
            return original
        if kind == "404":
            if rnd.random() < 0.5:
                return self.storage.resize_key(new_id(), (rnd.randrange(40, 400), 0))
            return f"{original.rsplit('/', 1)[0]}/no-such-file-{rnd.randrange(10**6)}.jpg"
        stem, ext = self.storage.resize_key(media_id, (rnd.randrange(40, 400), 0)).rsplit(".", 1)
        return f"{stem[:-43]}{'A' * 43}.{ext}"


@dataclass
class LoadResult:
    """What a load saw: per status and kind counts, latencies, failures, and how long it ran."""

    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def percentile(self, fraction: float) -> float:
        """Latency in milliseconds at ``fraction`` (0.5: median)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def run_load(
    base_port: int,
    workload: Workload,
    *,
    requests: int | None = None,
    seconds: float | None = None,
    clients: int = 4,
    result: LoadResult | None = None,
) -> LoadResult:
    """Send requests from ``clients`` keep-alive connections to 127.0.0.1 until ``requests`` were sent
    or ``seconds`` passed (whichever is given; both bound it when both are)."""
    if requests is None and seconds is None:
        raise ValueError("bound the load with requests or seconds")
    result = result or LoadResult()
    deadline = time.monotonic() + seconds if seconds is not None else None
    budget = [requests]
    lock = threading.Lock()

    def take() -> bool:
        with lock:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if budget[0] is not None:
                if budget[0] <= 0:
                    return False
                budget[0] -= 1
            return True

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", base_port, timeout=CLIENT_TIMEOUT)
        sent = 0
        try:
            while take():
                if sent and sent % REQUESTS_PER_CONNECTION == 0:
                    connection.close()
                sent += 1
                kind, path = workload.next_request()
                started = time.perf_counter()
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    with lock:
                        result.errors.append(f"{kind} {path}: {exc!r}")
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    result.statuses[response.status] += 1
                    result.kinds[(kind, response.status)] += 1
                    result.latencies.append(elapsed)
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds += time.monotonic() - started
    return result


# -- the workers ---------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (gunicorn's master: its workers), by PID."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces: the parent PID is the second field after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass(frozen=True)
class WorkerStats:
    """One worker's resident memory (KiB, total and anonymous) and open file descriptors."""

    pid: int
    rss_kib: int
    anon_kib: int
    fds: int

    def __str__(self) -> str:
        return f"pid {self.pid}: RSS {self.rss_kib / 1024:.1f} MiB (anon {self.anon_kib / 1024:.1f}), {self.fds} fds"


def worker_stats(master_pid: int) -> list[WorkerStats]:
    """Each worker's :class:`WorkerStats`, from ``/proc/<pid>/status`` and ``/proc/<pid>/fd``."""
    stats = []
    for pid in children(master_pid):
        try:
            status = dict(
                line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
            )
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
        stats.append(
            WorkerStats(pid, int(status["VmRSS"].split()[0]), int(status.get("RssAnon", "0 kB").split()[0]), fds)
        )
    return stats


def wait_for_workers(service: Service, workers: int, timeout: float = 60.0) -> list[int]:
    """Send requests for an unknown key until each of ``workers`` workers has logged one (its PID is
    on its JSON line), so every worker has loaded the app; their PIDs."""
    assert service.process is not None
    master = service.process.pid
    deadline = time.monotonic() + timeout
    while True:
        pids = children(master)
        seen = {int(pid) for pid in re.findall(r"^\[[^\]]+\] \[(\d+)\] \[INFO\] \{", service.log(), re.MULTILINE)}
        if len(pids) == workers and seen >= set(pids):
            return pids
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{len(seen & set(pids))} of {workers} workers answered in {timeout:g} s\n{service.log()}"
            )
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=CLIENT_TIMEOUT)
        with contextlib.closing(connection), contextlib.suppress(OSError, http.client.HTTPException):
            connection.request("GET", "/media/no-such-key.jpg")
            connection.getresponse().read()
        time.sleep(0.05)


def start_service(
    root: Path, log_path: Path, workers: int = 2, images: Iterable[str | Path] = IMAGES, **env: str
) -> tuple[Service, Workload]:
    """gunicorn with the shipped settings serving a fresh local root holding ``images``, once every
    worker has answered a request."""
    service = Service({}, log_path, workers=workers)
    public_url = f"{service.base}/media"
    workload = Workload.on_disk(root, public_url, images)
    service.settings = {
        "SHIFTMEDIA_STORAGE": "local",
        "SHIFTMEDIA_LOCAL_ROOT": str(root),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": public_url,
        **env,
    }
    service.start()
    try:
        wait_for_workers(service, workers)
    except BaseException:
        service.stop()
        raise
    return service, workload


# -- make soak -------------------------------------------------------------------


def _report(result: LoadResult, say: Callable[[str], Any]) -> None:
    rate = result.count / result.seconds if result.seconds else 0.0
    say(f"requests: {result.count} in {result.seconds:.1f} s = {rate:.1f}/s; client errors: {len(result.errors)}")
    say("statuses: " + ", ".join(f"{status}: {n}" for status, n in sorted(result.statuses.items())))
    say("by kind:  " + ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(result.kinds.items())))
    say(f"latency:  p50 {result.percentile(0.5):.1f} ms, p99 {result.percentile(0.99):.1f} ms")
    if result.latencies:
        say(
            f"          mean {statistics.fmean(result.latencies) * 1000:.1f} ms, max {max(result.latencies) * 1000:.1f} ms"
        )
    for error in result.errors[:5]:
        say(f"  error: {error}")


def _log_summary(log: str, say: Callable[[str], Any]) -> None:
    """How many lines of each level gunicorn's error log holds, and the first warnings and errors."""
    levels: Counter[str] = Counter()
    alarms = []
    for line in log.splitlines():
        match = re.match(r"^\[[^\]]+\] \[\d+\] \[([A-Z]+)\] (.*)$", line)
        if match:
            levels[match[1]] += 1
            if match[1] in ("WARNING", "ERROR", "CRITICAL"):
                alarms.append(line)
        elif line.startswith("Traceback"):
            levels["Traceback"] += 1
    say("gunicorn error log: " + ", ".join(f"{level} {n}" for level, n in sorted(levels.items())))
    for line in alarms[:10]:
        say(f"  {line}")


def _workers(label: str, master: int, say: Callable[[str], Any]) -> list[WorkerStats]:
    stats = worker_stats(master)
    say(f"workers {label}:")
    for line in stats:
        say(f"  {line}")
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS") or 600))
    parser.add_argument("--clients", type=int, default=4, help="client connections (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between progress lines (default 60)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for gunicorn"
    )
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)

    def say(text: str) -> None:
        print(text, flush=True)

    with tempfile.TemporaryDirectory(prefix="shiftmedia-soak-") as folder:
        service, workload = start_service(Path(folder) / "media", Path(folder) / "gunicorn.log", args.workers, **env)
        try:
            assert service.process is not None
            master = service.process.pid
            say(f"gunicorn {master} on {service.base}, {args.workers} workers, soak of {args.seconds:.0f} s")
            start = _workers("at start", master, say)
            result = LoadResult()
            remaining = args.seconds
            while remaining > 0:
                step = min(args.every, remaining)
                run_load(service.port, workload, seconds=step, clients=args.clients, result=result)
                remaining -= step
                rss = ", ".join(f"{w.pid} {w.rss_kib / 1024:.0f} MiB/{w.fds} fds" for w in worker_stats(master))
                say(f"[{result.seconds:5.0f} s] {result.count} requests, {len(workload.made)} made; {rss}")
            _report(result, say)
            end = _workers("at end", master, say)
            gone = sorted({w.pid for w in start} - {w.pid for w in end})
            if gone:
                say(f"workers replaced during the soak (max_requests recycling or a crash): {gone}")
            prometheus = sorted(service.log_path.with_suffix(".prometheus").glob("*.db"))
            size = sum(path.stat().st_size for path in prometheus)
            say(f"prometheus multiprocess files: {len(prometheus)}, {size / 1024:.0f} KiB")
        finally:
            service.stop()
        _log_summary(service.log(), say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
