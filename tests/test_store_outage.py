"""A hung or vanished store must not hang requests: the service over a SeaweedFS that is frozen, then killed.

gunicorn runs the shipped settings module (two gthread workers) on a SeaweedFS
bucket of the test's own; an original goes in through the Python API. Then:

- frozen (SIGSTOP): the kernel still accepts connections, nothing answers. A
  miss answers 503 with ``Retry-After`` in under 10 s, ``/readyz`` and
  ``/healthz`` 503 in under 3 s, ``/livez`` 200 at once, even while a miss hangs;
- thawed (SIGCONT): misses answer 200 again within 5 s;
- killed (SIGKILL): misses answer 503 quickly, readiness too;
- restarted on the same ports and data folder: misses answer 200 within 5 s
  of the store serving again (a restarted ``weed mini`` answers 500, even 404,
  for a few seconds while its volume server registers: the store's warm-up,
  measured and printed apart).

Never a 500, never a traceback in a body. Each miss names a new size, so it
is a real miss: GET of the derivative (404), LIST of the id's folder (the
worker never saw the upload), GET of the original, PUT of the derivative.
The figures measured are in every assertion message, and printed (``-s``).
"""

from __future__ import annotations

import http.client
import itertools
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from .conftest import SECRET_KEYS
from .servers.seaweedfs import SeaweedFS
from .servers.service import Service

pytestmark = pytest.mark.integration

BUCKET = "outage"
#: Seconds: a miss while the store hangs, readiness while it hangs, liveness, service back after the store.
MISS_BOUND, READY_BOUND, LIVE_BOUND, RECOVERY_BOUND = 10.0, 3.0, 1.0, 5.0
#: Seconds a miss may take while nothing listens: connections are refused at once, so it is quick.
DEAD_BOUND = 2.0


@dataclass(frozen=True)
class Timed:
    """One answer of the service and how long it took."""

    status: int
    seconds: float
    retry_after: str | None
    body: bytes


@dataclass
class Stack:
    """The store, the service on it, the Python API on the same settings, and an id to resize."""

    store: SeaweedFS
    service: Service
    storage: Storage
    media_id: str
    widths: Iterator[int]

    def get(self, path: str) -> Timed:
        """GET ``path`` of the service, timed; a hang shows as a failed bound, not a stuck test (60 s)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.service.port, timeout=60)
        started = time.monotonic()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        return Timed(response.status, time.monotonic() - started, response.getheader("Retry-After"), body)

    def miss(self) -> Timed:
        """Ask for a derivative never asked for before."""
        return self.get("/media/" + self.storage.resize_key(self.media_id, str(next(self.widths)), format="png"))

    def store_serves_the_original(self, bound: float = 60.0) -> float:
        """Seconds until the store itself serves the original again, through a plain client.

        A restarted ``weed mini`` answers ListBuckets (its readiness) seconds
        before its volume server has registered again: until then a GET answers
        500 InternalError, or even 404. That is the store's own warm-up; the
        service's recovery is measured from the end of it.
        """
        client, key = self.store.client(), "media/" + self.storage.original_key(self.media_id)
        started = time.monotonic()
        while True:
            try:
                client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                return time.monotonic() - started
            except Exception:  # any failure means "not serving yet"; re-raised after the bound
                if time.monotonic() - started > bound:
                    raise
                time.sleep(0.1)

    def until_ok(self, bound: float, path: str | None = None) -> tuple[float, list[int]]:
        """Send misses (or GET ``path``) until one answers 200, or ``2 * bound`` passes: seconds, statuses."""
        started, statuses = time.monotonic(), []
        while time.monotonic() - started < 2 * bound:
            statuses.append((self.get(path) if path else self.miss()).status)
            if statuses[-1] == 200:
                break
            time.sleep(0.2)
        return time.monotonic() - started, statuses


@pytest.fixture
def stack(tmp_path: Path, fixtures: Path) -> Iterator[Stack]:
    store = SeaweedFS(tmp_path / "weed").start()
    try:
        store.client().create_bucket(Bucket=BUCKET)
        settings = {
            "SHIFTMEDIA_STORAGE": "s3",
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "S3_ENDPOINT": store.endpoint,
            "S3_REGION": "us-east-1",
            "S3_BUCKET": BUCKET,
            "S3_PREFIX": "media",
            "S3_ACCESS_KEY_ID": store.access_key,
            "S3_SECRET_ACCESS_KEY": store.secret_key,
            "S3_FORCE_PATH_STYLE": "true",
        }
        storage = Storage.from_settings(Settings.from_values(settings))
        media_id = storage.put(fixtures / "jpeg_progressive_1280x960.jpg")
        with Service(settings, tmp_path / "gunicorn.log") as service:
            yield Stack(store, service, storage, media_id, itertools.count(100))
    finally:
        store.stop()


def assert_unavailable(answer: Timed, bound: float, what: str, log: str, *, retry_after: bool = True) -> None:
    """A 503 within ``bound`` seconds, with ``Retry-After`` (a miss's answer), and no traceback."""
    figures = f"{what}: {answer.status} in {answer.seconds:.2f} s (bound {bound:g} s)"
    assert answer.status == 503, f"{figures}\n{answer.body[:300]!r}\n{log[-3000:]}"
    assert answer.seconds < bound, figures
    assert answer.retry_after or not retry_after, f"{figures}: no Retry-After"
    assert b"Traceback" not in answer.body, f"{figures}: {answer.body[:300]!r}"


def test_frozen_store_answers_503_fast_then_recovers(stack: Stack) -> None:
    baseline = stack.miss()
    assert baseline.status == 200, f"before the outage: {baseline.status} {baseline.body[:200]!r}"

    stack.store.freeze()
    with ThreadPoolExecutor(1) as pool:
        hanging = pool.submit(stack.miss)  # the first miss waits one read timeout...
        time.sleep(0.5)
        live = stack.get("/livez")  # ...and liveness answers meanwhile
        first = hanging.result()
    misses = [first] + [stack.miss() for _ in range(3)]
    ready, health = stack.get("/readyz"), stack.get("/healthz")
    print(
        f"\nfrozen: misses {[round(m.seconds, 2) for m in misses]} s, readyz {ready.seconds:.2f} s,"
        f" healthz {health.seconds:.2f} s, livez {live.seconds:.3f} s"
    )
    log = stack.service.log()
    for number, miss in enumerate(misses, 1):
        assert_unavailable(miss, MISS_BOUND, f"frozen miss {number}", log)
    assert_unavailable(ready, READY_BOUND, "frozen /readyz", log, retry_after=False)
    assert_unavailable(health, READY_BOUND, "frozen /healthz", log, retry_after=False)
    assert live.status == 200 and live.seconds < LIVE_BOUND, f"/livez: {live.status} in {live.seconds:.3f} s"

    stack.store.thaw()
    took, statuses = stack.until_ok(RECOVERY_BOUND)
    ready_took, ready_statuses = stack.until_ok(RECOVERY_BOUND, "/readyz")  # either worker may answer
    print(f"thawed: misses 200 after {took:.2f} s {statuses}, /readyz 200 {ready_took:.2f} s later {ready_statuses}")
    assert statuses[-1] == 200 and took < RECOVERY_BOUND, f"misses after SIGCONT: {statuses} in {took:.2f} s"
    assert set(statuses) <= {200, 503}, statuses
    assert ready_statuses[-1] == 200 and ready_took < RECOVERY_BOUND, f"/readyz: {ready_statuses} in {ready_took:.2f} s"


def test_killed_store_answers_503_then_recovers_after_restart(stack: Stack) -> None:
    assert stack.miss().status == 200

    stack.store.kill()
    misses = [stack.miss() for _ in range(4)]
    ready = stack.get("/readyz")
    print(f"\nkilled: misses {[round(m.seconds, 2) for m in misses]} s, readyz {ready.seconds:.2f} s")
    log = stack.service.log()
    for number, miss in enumerate(misses, 1):
        assert_unavailable(miss, RECOVERY_BOUND, f"killed-store miss {number}", log)
    assert_unavailable(ready, READY_BOUND, "killed-store /readyz", log, retry_after=False)

    restarted = time.monotonic()
    stack.store.restart()
    answering = time.monotonic()
    serving = stack.store_serves_the_original()
    took, statuses = stack.until_ok(RECOVERY_BOUND)
    ready_took, ready_statuses = stack.until_ok(RECOVERY_BOUND, "/readyz")
    print(
        f"restarted: store answering S3 after {answering - restarted:.2f} s, serving the original"
        f" {serving:.2f} s later; misses 200 {took:.2f} s after that {statuses},"
        f" /readyz 200 {ready_took:.2f} s after that {ready_statuses}"
    )
    assert statuses[-1] == 200 and took < RECOVERY_BOUND, f"misses after the restart: {statuses} in {took:.2f} s"
    assert set(statuses) <= {200, 503}, statuses
    assert ready_statuses[-1] == 200 and ready_took < RECOVERY_BOUND, f"/readyz: {ready_statuses} in {ready_took:.2f} s"
