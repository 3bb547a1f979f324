"""Slow clients must not stall the service: the shipped nginx sites take them, gunicorn never sees them.

gunicorn's ``gthread`` worker (the packaged settings: one worker per core, four threads each) gives
a connection a thread as soon as its first byte arrives, and the thread then blocks until the
request is read; so does a thread reading an upload. A client that sends its headers or its body a
few bytes at a time holds that thread as long as it likes: a handful of them, one per thread, and
nothing else is answered; gunicorn itself has no time limit on reading a request. gunicorn's
documentation says it: it must sit behind a buffering proxy.
:func:`test_gunicorn_alone_is_stalled_by_slow_clients` shows the stall, so this file can fail.

The shipped sites (``deploy/nginx/``) are that proxy: nginx reads a request whole before it asks
the service, and drops a client that takes too long (``client_header_timeout``,
``client_body_timeout``). The other tests run Debian's nginx with a site as it ships in front of
gunicorn with the packaged settings, time normal requests (a hit: GET of a stored resize; a miss:
GET of a new signed resize that the service creates) with no slow client, then while
:data:`SLOW_HEADERS` clients trickle their headers (one byte every :data:`TICK` seconds) and
:data:`SLOW_BODIES` clients trickle a large upload's body (a few bytes each tick), and again after
they are gone. For hits and for misses, the loaded p99 must stay within twice the unloaded p99
(before and after together; see :func:`allowed_p99` for the absolute floor) and no normal request
may fail. The loaded phase lasts until nginx's ``client_header_timeout`` has cut
the first slow headers (each slow client is replaced as soon as it is cut, so the count never
drops); nothing a slow client sent reaches the service. All traffic stays on 127.0.0.1; every phase
is bounded in time and in requests.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import pytest

from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.s3 import S3Backend
from shiftmedia.backends.s3.bucket import bucket_policy
from shiftmedia.storage import Storage

from .conftest import REPO, SECRET_KEYS
from .servers.http import free_port
from .servers.nginx import Nginx
from .servers.seaweedfs import SeaweedFS
from .servers.service import Service

pytestmark = pytest.mark.integration

SITES = REPO / "deploy" / "nginx"
#: A small original, so a miss costs the service a few milliseconds of CPU, not the test's time.
ORIGINAL = "png_palette_trns.png"
API_TOKEN = "slow-clients-test-token-0123456789"
#: The service's default upload limit (SHIFTMEDIA_MAX_INPUT_BYTES): what a slow upload announces.
UPLOAD_BYTES = 50 * 1024 * 1024

#: Seconds between two sends of every slow client.
TICK = 0.5
#: Slow clients in front of nginx: headers trickled one byte a tick, upload bodies a few bytes a tick.
SLOW_HEADERS = 64
SLOW_BODIES = 64
HEADER_STEP = 1
BODY_STEP = 4
#: Seconds the slow clients get to connect and start trickling before requests are timed.
SETTLE = 2 * TICK

#: Hit-and-miss pairs timed with no slow client (half before, half after) and at least as many with them.
PAIRS = 100
#: Upper bound on the pairs of any phase (the loaded one goes on until client_header_timeout has passed).
MAX_PAIRS = 2000
#: A normal request through nginx that takes longer than this counts as failed.
REQUEST_TIMEOUT = 10.0
#: The absolute floor of the comparison: a p99 of a few milliseconds may double from scheduling
#: noise alone (the machine runs other work), so the loaded p99 may also be this much above it.
P99_FLOOR = 0.050

#: The demonstration without nginx: gunicorn workers (SHIFTMEDIA_WORKERS; the threads stay the
#: packaged 4), slow clients of each kind (twice the threads), normal requests sent at once, and how
#: long each may take. One worker because the kernel shares new connections between gunicorn's
#: workers unevenly and unpredictably (one usually accepts nearly all, sometimes not): with two, an
#: idle second worker would answer a request now and then, and the test would depend on luck.
DIRECT_WORKERS = 1
DIRECT_THREADS = 4
DIRECT_SLOW = 8
DIRECT_PROBES = 8
DIRECT_TIMEOUT = 3.0


# -- slow clients ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlowRequest:
    """What a slow client sends: ``head`` at once, then ``trickle``, ``step`` bytes every :data:`TICK`."""

    head: bytes
    trickle: bytes
    step: int


def slow_headers(host: str, path: str) -> SlowRequest:
    """A GET whose request line and headers arrive one byte a tick and never end within a test."""
    padding = "x" * 400
    text = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slow-headers\r\nX-Padding: {padding}\r\n\r\n"
    return SlowRequest(b"", text.encode(), HEADER_STEP)


def slow_upload(host: str) -> SlowRequest:
    """An authorised multipart POST to ``/api/v1/media`` announcing :data:`UPLOAD_BYTES`, sent a few bytes a tick."""
    boundary = "slowclientboundary"
    head = (
        "POST /api/v1/media HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Authorization: Bearer {API_TOKEN}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {UPLOAD_BYTES}\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="slow.jpg"\r\n'
        "Content-Type: image/jpeg\r\n"
        "\r\n"
    )
    return SlowRequest(head.encode(), b"\xff" * 4096, BODY_STEP)


def slow_body_get(host: str, path: str, length: int) -> SlowRequest:
    """A GET carrying a ``length``-byte body, sent a few bytes a tick (a site that takes no uploads)."""
    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n\r\n"
    return SlowRequest(head.encode(), b"x" * length, BODY_STEP)


@dataclass
class _Connection:
    kind: str
    request: SlowRequest
    sock: socket.socket
    opened: float
    sent: int = 0


@dataclass(frozen=True)
class Ended:
    """A slow connection the server ended: when it was opened, after how long, and its answer's status line."""

    kind: str
    opened: float
    seconds: float
    answer: str


class SlowClients:
    """Slow clients to ``address``: ``plan`` maps a kind to its request and how many stay connected.

    One thread drives every connection (non-blocking sockets): each :data:`TICK` it sends each
    connection the next ``step`` bytes of its request. A connection that the server closes, resets
    or answers is recorded in :attr:`ended` and replaced at once, so the count of each kind never
    drops, as an attacker would keep it (a replacement that cannot connect is recorded in
    :attr:`errors`). Leaving the ``with`` block closes them all.
    """

    def __init__(self, address: tuple[str, int], plan: Mapping[str, tuple[SlowRequest, int]]) -> None:
        self.address = address
        self.plan = dict(plan)
        self.started = 0.0
        self.ended: list[Ended] = []
        self.reopened = 0
        self.errors: list[str] = []
        self._connections: list[_Connection] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)

    def __enter__(self) -> Self:
        self.started = time.monotonic()
        try:
            for kind, (request, count) in self.plan.items():
                self._connections.extend(self._open(kind, request) for _ in range(count))
        except BaseException:
            self._close_all()
            raise
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(10)
        self._close_all()

    def ended_of(self, kind: str) -> list[Ended]:
        """The connections of ``kind`` the server has ended so far."""
        with self._lock:
            return [item for item in self.ended if item.kind == kind]

    def _open(self, kind: str, request: SlowRequest) -> _Connection:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(request.head + request.trickle[: request.step])
        sock.setblocking(False)
        return _Connection(kind, request, sock, time.monotonic(), sent=request.step)

    def _run(self) -> None:
        next_tick = time.monotonic() + TICK
        while not self._stop.wait(max(0.0, next_tick - time.monotonic())):
            next_tick += TICK
            kept: list[_Connection] = []
            for connection in self._connections:
                answer = self._advance(connection)
                if answer is None:
                    kept.append(connection)
                    continue
                ended = Ended(connection.kind, connection.opened, time.monotonic() - connection.opened, answer)
                with self._lock:
                    self.ended.append(ended)
                connection.sock.close()
                try:
                    kept.append(self._open(connection.kind, connection.request))
                    self.reopened += 1
                except OSError as exc:
                    self.errors.append(f"{connection.kind}: {type(exc).__name__} ({exc})")
            self._connections = kept

    @staticmethod
    def _advance(connection: _Connection) -> str | None:
        """Send the next bytes; ``None`` while the server keeps listening, else its status line ("" if none)."""
        try:
            data = connection.sock.recv(4096)
        except BlockingIOError:
            data = None
        except OSError:
            return ""
        if data is not None:
            return data.split(b"\r\n", 1)[0].decode("latin-1")
        chunk = connection.request.trickle[connection.sent : connection.sent + connection.request.step]
        if chunk:
            try:
                connection.sock.send(chunk)
            except BlockingIOError:
                return None
            except OSError:
                return ""
            connection.sent += len(chunk)
        return None

    def _close_all(self) -> None:
        for connection in self._connections:
            connection.sock.close()
        self._connections.clear()


# -- normal requests ------------------------------------------------------------------------------


@dataclass
class Timings:
    """Latencies of normal requests, in seconds, by kind; and every request that failed."""

    hit: list[float] = field(default_factory=list)
    miss: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __add__(self, other: Timings) -> Timings:
        return Timings(self.hit + other.hit, self.miss + other.miss, self.failures + other.failures)

    def summary(self) -> dict[str, object]:
        """Counts and p99s in milliseconds, for the report."""
        return {
            "hits": len(self.hit),
            "misses": len(self.miss),
            "hit_p99_ms": round(p99(self.hit) * 1000, 1),
            "miss_p99_ms": round(p99(self.miss) * 1000, 1),
            "failures": len(self.failures),
        }


def p99(samples: list[float]) -> float:
    """The 99th percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def allowed_p99(unloaded: float) -> float:
    """The loaded p99 allowed: twice the unloaded one, or the unloaded one plus :data:`P99_FLOOR`."""
    return max(2 * unloaded, unloaded + P99_FLOOR)


def timed_get(url: str, timeout: float) -> tuple[float, str | None]:
    """Seconds a GET of ``url`` took (new connection, body read) and what went wrong, if anything."""
    parts = urlsplit(url)
    started = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        body = response.read()
        error = None if response.status == 200 and body else f"{response.status} for {parts.path}"
    except OSError as exc:
        error = f"{type(exc).__name__} ({exc}) for {parts.path}"
    finally:
        connection.close()
    return time.perf_counter() - started, error


def time_requests(hit_url: str, misses: Iterator[str], pairs: int, until: Callable[[], bool] = lambda: True) -> Timings:
    """Time ``pairs`` hits and misses, alternating, then more while ``until()`` is false (at most
    :data:`MAX_PAIRS` in all)."""
    timings = Timings()
    for count in itertools.count():
        if count >= MAX_PAIRS or (count >= pairs and until()):
            break
        for url, samples in ((hit_url, timings.hit), (next(misses), timings.miss)):
            seconds, error = timed_get(url, REQUEST_TIMEOUT)
            samples.append(seconds)
            if error:
                timings.failures.append(error)
    return timings


def miss_urls(storage: Storage, media_id: str) -> Iterator[str]:
    """A new signed resize of ``media_id`` each time: a miss the service has to create."""
    for index in itertools.count():
        yield storage.resize_url(media_id, f"{16 + index % 256}x{16 + index // 256}")


def site_seconds(site: Path, directive: str) -> float:
    """The ``<directive> <n>s;`` value of a shipped site file, in seconds."""
    match = re.search(rf"^\s*{directive}\s+(\d+)s;", site.read_text(), re.MULTILINE)
    assert match, f"{site.name} sets no {directive}"
    return float(match.group(1))


# -- through nginx --------------------------------------------------------------------------------


@dataclass
class LoadOutcome:
    """The three phases of :func:`run_under_load` and what the slow clients met."""

    before: Timings
    loaded: Timings
    after: Timings
    #: The slow-header clients connected from the start that nginx cut, and every slow body it cut.
    header_ends: list[Ended]
    body_ends: list[Ended]
    reopened: int
    errors: list[str]
    loaded_seconds: float

    @property
    def unloaded(self) -> Timings:
        return self.before + self.after


def run_under_load(
    nginx: Nginx,
    hit_url: str,
    misses: Iterator[str],
    slow: Mapping[str, tuple[SlowRequest, int]],
    header_timeout: float,
) -> LoadOutcome:
    """Time normal requests unloaded, then with the ``slow`` clients connected, then unloaded again.

    The loaded phase goes on until every first slow-header client has been cut by nginx (at most
    ``header_timeout`` plus a few seconds), so it includes nginx dropping them and their successors
    connecting.
    """
    before = time_requests(hit_url, misses, PAIRS // 2)
    with SlowClients(("127.0.0.1", nginx.port), slow) as clients:
        time.sleep(SETTLE)
        deadline = clients.started + header_timeout + 5 * TICK + 2

        def first_headers() -> list[Ended]:
            return [item for item in clients.ended_of("header") if item.opened < clients.started + SETTLE]

        def first_headers_cut() -> bool:
            return len(first_headers()) >= slow["header"][1] or time.monotonic() > deadline

        loaded = time_requests(hit_url, misses, PAIRS, until=first_headers_cut)
        loaded_seconds = time.monotonic() - clients.started - SETTLE
        while not first_headers_cut():  # only if MAX_PAIRS came first
            time.sleep(TICK)
        header_ends, body_ends = first_headers(), clients.ended_of("body")
        reopened, errors = clients.reopened, list(clients.errors)
    after = time_requests(hit_url, misses, PAIRS // 2)
    return LoadOutcome(before, loaded, after, header_ends, body_ends, reopened, errors, loaded_seconds)


def report(name: str, outcome: LoadOutcome, record_property: Callable[[str, object], None]) -> None:
    """Print and record the figures of ``outcome`` (``pytest -rP`` shows them)."""
    figures = {
        "unloaded": outcome.unloaded.summary(),
        "loaded": {**outcome.loaded.summary(), "seconds": round(outcome.loaded_seconds, 1)},
        "slow_clients": {
            "header_cut_by_nginx": len(outcome.header_ends),
            "header_seconds_before_cut": sorted({round(item.seconds, 1) for item in outcome.header_ends}),
            "header_answers": sorted({item.answer for item in outcome.header_ends}),
            "body_cut_by_nginx": len(outcome.body_ends),
            "reopened": outcome.reopened,
        },
    }
    record_property(name, json.dumps(figures))
    print(f"{name}: {json.dumps(figures)}")


def local_service(media_root: Path, public_url: str, log_path: Path, **options: int) -> Service:
    """gunicorn with the packaged settings on a local-disk root, the API open to :data:`API_TOKEN`."""
    settings = {
        "SHIFTMEDIA_STORAGE": "local",
        "SHIFTMEDIA_LOCAL_ROOT": str(media_root),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": public_url,
        "SHIFTMEDIA_API_TOKENS": API_TOKEN,
    }
    return Service(settings, log_path=log_path, **options)


def assert_unaffected(outcome: LoadOutcome, header_timeout: float, first_headers: int) -> None:
    """No normal request failed; each kind's loaded p99 is within :func:`allowed_p99` of its unloaded p99;
    nginx cut the slow headers at ``client_header_timeout``."""
    for timings in (outcome.before, outcome.loaded, outcome.after):
        assert not timings.failures, timings.failures[:5]
    assert not outcome.errors, f"slow clients could not reconnect: {outcome.errors[:5]}"
    for kind in ("hit", "miss"):
        unloaded, loaded = p99(getattr(outcome.unloaded, kind)), p99(getattr(outcome.loaded, kind))
        assert loaded <= allowed_p99(unloaded), (
            f"{kind} p99 {loaded * 1000:.1f} ms under load, {unloaded * 1000:.1f} ms without "
            f"(allowed {allowed_p99(unloaded) * 1000:.1f} ms)"
        )
    assert len(outcome.header_ends) == first_headers, (
        f"nginx cut {len(outcome.header_ends)} of {first_headers} slow headers in {outcome.loaded_seconds:.1f} s"
    )
    for item in outcome.header_ends:
        # Seen by the client at its next tick; nginx closes without an answer (a 408 in its log only).
        assert header_timeout - TICK <= item.seconds <= header_timeout + 2 * TICK + 1, item


def test_selfhosted_nginx_keeps_slow_clients_off_the_service(
    tmp_path: Path, fixtures: Path, record_property: Callable[[str, object], None]
) -> None:
    site = SITES / "shiftmedia-selfhosted.conf"
    header_timeout = site_seconds(site, "client_header_timeout")
    media_root = tmp_path / "media"
    media_root.mkdir()
    service_port = free_port()
    nginx = Nginx.for_site(site, tmp_path / "nginx", media_root=str(media_root), service=f"127.0.0.1:{service_port}")
    public_url = f"{nginx.url}/media"
    service = local_service(media_root, public_url, tmp_path / "gunicorn.log", port=service_port)
    with nginx, service:
        storage = Storage(LocalBackend(media_root, public_url), SECRET_KEYS)
        media_id = storage.put(fixtures / ORIGINAL)
        hit_url = storage.resize_url(media_id, "120x90")
        misses = miss_urls(storage, media_id)
        assert timed_get(hit_url, REQUEST_TIMEOUT)[1] is None  # created now: every later GET is a hit
        time_requests(hit_url, misses, 5)  # warm both gunicorn workers
        slow_path = urlsplit(next(misses)).path
        outcome = run_under_load(
            nginx,
            hit_url,
            misses,
            {
                "header": (slow_headers(nginx.listen, slow_path), SLOW_HEADERS),
                "body": (slow_upload(nginx.listen), SLOW_BODIES),
            },
            header_timeout,
        )
    report("selfhosted", outcome, record_property)
    assert_unaffected(outcome, header_timeout, SLOW_HEADERS)
    assert not outcome.body_ends, "nginx dropped slow uploads that kept sending: client_body_timeout is per read"
    log = service.log()
    assert "POST /api/v1/media" not in log and slow_path not in log, "a slow request reached the service"
    assert sum(line.status == 408 for line in nginx.access_lines()) >= SLOW_HEADERS


def test_cdn_failover_nginx_keeps_slow_clients_off_the_service(
    seaweedfs: SeaweedFS,
    s3_bucket: str,
    s3_settings: dict[str, str],
    make_s3_backend: Callable[..., S3Backend],
    tmp_path: Path,
    fixtures: Path,
    record_property: Callable[[str, object], None],
) -> None:
    """The failover site takes clients directly too (GET and HEAD only): the same directives, the same test,
    with slow bodies on GET (the site accepts at most ``client_max_body_size 1k`` of body)."""
    site = SITES / "shiftmedia-cdn-failover.conf"
    header_timeout = site_seconds(site, "client_header_timeout")
    seaweedfs.client().put_bucket_policy(Bucket=s3_bucket, Policy=json.dumps(bucket_policy(s3_bucket, "media/")))
    service_port = free_port()
    nginx = Nginx.for_site(
        site,
        tmp_path / "nginx",
        bucket_origin=f"{seaweedfs.endpoint}/{s3_bucket}/media/",
        service=f"127.0.0.1:{service_port}",
    )
    public_url = f"{nginx.url}/media"
    service = Service(
        {
            "SHIFTMEDIA_STORAGE": "s3",
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": public_url,
            **s3_settings,
        },
        log_path=tmp_path / "gunicorn.log",
        port=service_port,
    )
    with nginx, service:
        storage = Storage(make_s3_backend(seaweedfs, s3_bucket, prefix="media", public_url=public_url), SECRET_KEYS)
        media_id = storage.put(fixtures / ORIGINAL)
        hit_url = storage.resize_url(media_id, "120x90")
        misses = miss_urls(storage, media_id)
        assert timed_get(hit_url, REQUEST_TIMEOUT)[1] is None  # created now: every later GET is a bucket hit
        time_requests(hit_url, misses, 5)
        slow_path = urlsplit(next(misses)).path
        outcome = run_under_load(
            nginx,
            hit_url,
            misses,
            {
                "header": (slow_headers(nginx.listen, slow_path), SLOW_HEADERS),
                "body": (slow_body_get(nginx.listen, slow_path, 1024), SLOW_BODIES),
            },
            header_timeout,
        )
    report("cdn_failover", outcome, record_property)
    assert_unaffected(outcome, header_timeout, SLOW_HEADERS)
    assert not outcome.body_ends, "nginx dropped slow bodies that kept sending: client_body_timeout is per read"
    assert slow_path not in service.log(), "a slow request reached the service"


# -- without nginx --------------------------------------------------------------------------------


def probe(urls: list[str]) -> list[str | None]:
    """GET every URL at once, each on its own connection with :data:`DIRECT_TIMEOUT`; the errors, in order."""
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return [error for _, error in pool.map(lambda url: timed_get(url, DIRECT_TIMEOUT), urls)]


def test_gunicorn_alone_is_stalled_by_slow_clients(
    tmp_path: Path, fixtures: Path, record_property: Callable[[str, object], None]
) -> None:
    """Why a front is required: :data:`DIRECT_SLOW` slow headers and as many slow uploads, sent straight
    to gunicorn with the packaged settings (one worker, see :data:`DIRECT_WORKERS`), hold its threads, and
    normal requests wait until they give up; once the slow clients leave, it answers again."""
    media_root = tmp_path / "media"
    port = free_port()
    public_url = f"http://127.0.0.1:{port}/media"
    service = local_service(media_root, public_url, tmp_path / "gunicorn.log", port=port, workers=DIRECT_WORKERS)
    with service:
        storage = Storage(LocalBackend(media_root, public_url), SECRET_KEYS)
        media_id = storage.put(fixtures / ORIGINAL)
        misses = miss_urls(storage, media_id)
        hit_url = next(misses)
        assert timed_get(hit_url, REQUEST_TIMEOUT)[1] is None

        def probes() -> list[str]:
            return [hit_url if index % 2 else next(misses) for index in range(DIRECT_PROBES)]

        before = probe(probes())
        slow = {
            "header": (slow_headers(service.address, urlsplit(hit_url).path), DIRECT_SLOW),
            "body": (slow_upload(service.address), DIRECT_SLOW),
        }
        with SlowClients(("127.0.0.1", service.port), slow) as clients:
            time.sleep(SETTLE)
            started = time.monotonic()
            during = probe(probes())
            stalled_seconds = time.monotonic() - started
            ended = list(clients.ended)
        after = probe(probes())
    figures = {
        "threads": DIRECT_WORKERS * DIRECT_THREADS,
        "slow_clients": 2 * DIRECT_SLOW,
        "before_failed": sum(error is not None for error in before),
        "during_failed": sum(error is not None for error in during),
        "during_seconds": round(stalled_seconds, 2),
        "after_failed": sum(error is not None for error in after),
        "slow_clients_ended": len(ended),
    }
    record_property("direct", json.dumps(figures))
    print(f"direct: {json.dumps(figures)} during: {during}")
    assert before == [None] * DIRECT_PROBES
    assert all(error is not None and "timed out" in error for error in during), during
    assert not ended, "gunicorn dropped a slow client: it has no header or body timeout of its own"
    assert after == [None] * DIRECT_PROBES, "the service did not recover once the slow clients left"
