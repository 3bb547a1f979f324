"""One render per miss across workers: gunicorn with the shipped settings module, four workers.

Twenty clients ask at once for one derivative nobody asked for before; each of
the four workers coalesces its own requests, and the render lease in the store
(:mod:`shiftmedia.lease`) leaves one render among the workers. Renders are
counted by ``shiftmedia_resizes_total`` (every worker's, through
``PROMETHEUS_MULTIPROC_DIR``) and by the answers marked ``created``. On local
disk and on SeaweedFS; and a holder that crashed delays a miss by its lease only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from shiftmedia.lease import LEASE_PREFIX, Lease, lease_key
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from .conftest import SECRET_KEYS
from .servers.http import Answer, fetch
from .servers.service import Service
from .test_service import metric

pytestmark = pytest.mark.integration

ROUNDS, CLIENTS, WORKERS = 10, 20, 4
#: Rounds (of ten) that must end with exactly one render.
ONE_RENDER_ROUNDS = 9


@dataclass
class Deployment:
    """The service, the Python API on the same settings, and an original to resize."""

    kind: str
    service: Service
    storage: Storage
    media_id: str

    def url(self, key: str) -> str:
        return f"{self.service.base}/media/{key}"


@pytest.fixture(params=["local", "seaweedfs"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path, fixtures: Path) -> Iterator[Deployment]:
    settings = {"SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS), "SHIFTMEDIA_METRICS_PUBLIC": "true"}
    if request.param == "local":
        settings |= {
            "SHIFTMEDIA_STORAGE": "local",
            "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
            "SHIFTMEDIA_PUBLIC_URL": "http://unused.test/media",
        }
    else:
        settings |= {"SHIFTMEDIA_STORAGE": "s3", **request.getfixturevalue("s3_settings")}
    storage = Storage.from_settings(Settings.from_values(settings))
    media_id = storage.put(fixtures / "jpeg_progressive_1280x960.jpg")
    with Service(settings, tmp_path / "gunicorn.log", workers=WORKERS) as service:
        yield Deployment(request.param, service, storage, media_id)


def together(url: str, clients: int) -> list[Answer]:
    """``clients`` GETs of ``url``, released at one instant from a thread each."""
    start = threading.Barrier(clients)

    def one(_: int) -> Answer:
        start.wait()
        return fetch(url)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, range(clients)))


def test_twenty_simultaneous_misses_are_one_render_across_four_workers(deployment: Deployment) -> None:
    base, renders, created = deployment.service.base, [], []
    for round_ in range(ROUNDS):
        key = deployment.storage.resize_key(deployment.media_id, f"{640 + round_}x480", mode="fill", format="avif")
        before = metric(base, "shiftmedia_resizes_total")
        answers = together(deployment.url(key), CLIENTS)
        renders.append(int(metric(base, "shiftmedia_resizes_total") - before))
        created.append([a.headers.get("x-shiftmedia") for a in answers].count("created"))
        assert [a.status for a in answers] == [200] * CLIENTS, [(a.status, a.body[:200]) for a in answers]
        assert len({a.body for a in answers}) == 1
        assert answers[0].body == deployment.storage.backend.read(key)
    figures = f"{deployment.kind}: renders per round of {CLIENTS} misses over {WORKERS} workers: {renders}"
    print(f"\n{figures} (answers marked created: {created})")
    assert renders == created
    assert min(renders) >= 1 and renders.count(1) >= ONE_RENDER_ROUNDS, renders
    assert list(deployment.storage.backend.list(LEASE_PREFIX)) == []


def test_a_crashed_holder_delays_a_miss_by_its_lease_only(deployment: Deployment) -> None:
    key = deployment.storage.resize_key(deployment.media_id, "320x240", mode="fill", format="webp")
    backend = deployment.storage.backend
    expires = time.time() + 2
    assert backend.write(lease_key(key), Lease(key, "crashed:1:0", round(expires, 3)).body(), if_absent=True)
    started = time.monotonic()
    answer = fetch(deployment.url(key))
    took = time.monotonic() - started
    print(f"\n{deployment.kind}: miss behind a lease expiring in 2 s: {answer.status} in {took:.2f} s")
    assert answer.status == 200 and answer.headers["x-shiftmedia"] == "created", answer.body[:300]
    assert time.time() >= expires and took < 2 + 3, took
    assert list(backend.list(LEASE_PREFIX)) == []
