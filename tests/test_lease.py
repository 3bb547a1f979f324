"""Render leases (:mod:`shiftmedia.lease`): one render per miss across processes, on local disk and S3 (moto).

Two :class:`Storage` objects over one store stand for two workers or hosts: each
has its own in-process coalescing, so only the lease in the store can keep the
second from rendering what the first is rendering.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import shiftmedia.making as making_module
from shiftmedia.backends.base import Backend
from shiftmedia.backends.local import LocalBackend
from shiftmedia.engine import Rendered, render
from shiftmedia.errors import InvalidImage, InvalidKey, NotFound, Overloaded, StorageError, StorageUnavailable
from shiftmedia.flask import get_storage
from shiftmedia.ids import id_folder
from shiftmedia.lease import LEASE_PREFIX, Lease, RenderLeases, is_lease_key, lease_key
from shiftmedia.mediainfo import info_key
from shiftmedia.migrate import selected
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS

BUCKET = "media"
Store = Callable[[], Backend]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A factory of backends over one store: each call is another process's view of the same objects."""
    if request.param == "local":
        yield lambda: LocalBackend(tmp_path / "media", PUBLIC_URL)
        return
    from moto import mock_aws

    from shiftmedia.backends.s3 import S3Backend
    from shiftmedia.settings import S3Settings

    def s3() -> Backend:
        return S3Backend(S3Settings(bucket=BUCKET, region="us-east-1", access_key_id="A", secret_access_key="B"))

    with mock_aws():
        S3Backend(S3Settings(bucket=BUCKET, region="us-east-1")).client.create_bucket(Bucket=BUCKET)
        yield s3


@pytest.fixture
def image(fixtures: Path) -> bytes:
    return (fixtures / "png_palette_trns.png").read_bytes()


def leases_left(backend: Backend) -> list[str]:
    return [info.key for info in backend.list(LEASE_PREFIX)]


def a_miss(store: Store, image: bytes, **options: Any) -> tuple[Storage, str]:
    """A storage on the store, with an original in it, and the key of a derivative not made yet."""
    storage = Storage(store(), SECRET_KEYS, **options)
    return storage, storage.resize_key(storage.put(image), "40x40", format="png")


class Clock:
    """A Unix clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_take_and_release(store: Store) -> None:
    backend, key = store(), "0f/de.png"
    leases = RenderLeases(backend, 30)
    lease = leases.take("0f/de.png")
    assert lease is not None and lease.key == key and lease.holder.count(":") == 2
    assert time.time() + 29 < lease.expires <= time.time() + 30
    stored = Lease.parse(key, backend.read(lease_key(key)))
    assert stored == lease and leases.held(key) == lease
    assert (
        leases_left(backend)
        == [lease_key(key)]
        == [".leases/103bc777811939888f6af5c63f6e1f4555d55c5625877ae5c0f7323c854589c4"]
    )
    leases.release(lease)
    assert leases.held(key) is None and leases_left(backend) == []
    assert leases.take(key) is not None


def test_a_second_taker_loses(store: Store) -> None:
    first, second = RenderLeases(store()), RenderLeases(store())
    mine = first.take("0f/de.png")
    assert mine is not None
    assert second.take("0f/de.png") is None and first.take("0f/de.png") is None
    assert second.held("0f/de.png") == mine


def test_an_expired_lease_is_taken_over_and_its_late_holder_does_not_release_the_new_one(store: Store) -> None:
    clock = Clock()
    crashed = RenderLeases(store(), 30, clock=clock)
    old = crashed.take("0f/de.png")
    assert old is not None
    clock.now += 31
    taker = RenderLeases(store(), 30, clock=clock)
    new = taker.claim("0f/de.png", time.monotonic() + 5)
    assert isinstance(new, Lease) and new.holder != old.holder
    assert taker.held("0f/de.png") == new
    crashed.release(old)  # the holder comes back after its expiry: the lease is no longer its own
    assert taker.held("0f/de.png") == new
    taker.release(new)
    assert leases_left(store()) == []


def test_a_lease_that_cannot_be_read_counts_as_expired() -> None:
    assert Lease.parse("k", b"not json").expired(0.0)
    assert Lease.parse("k", b'{"holder": "h"}').expired(0.0)
    assert not Lease.parse("k", b'{"holder": "h", "expires": 10}').expired(9.9)


def test_a_loser_gets_the_winners_derivative(store: Store, image: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    first, key = a_miss(store, image)
    second = Storage(store(), SECRET_KEYS)
    gate, rendering, renders = threading.Event(), threading.Event(), []
    real = making_module.render

    def slow_render(*args: Any) -> Rendered:
        renders.append(threading.current_thread().name)
        rendering.set()
        assert gate.wait(10)
        return real(*args)

    monkeypatch.setattr(making_module, "render", slow_render)
    with ThreadPoolExecutor(2) as pool:
        winner = pool.submit(first.get, key)
        assert rendering.wait(10)
        loser = pool.submit(second.get, key)
        time.sleep(0.3)
        assert not loser.done(), "the loser must wait for the winner, not render"
        gate.set()
        won, lost = winner.result(10), loser.result(10)
    assert len(renders) == 1
    assert won.outcome == "created" and won.made is not None and won.made.rendered
    assert lost.outcome == "stored" and lost.made is not None and not lost.made.rendered and not lost.timings
    assert lost.data == won.data and (lost.made.width, lost.made.height) == (won.made.width, won.made.height)
    assert leases_left(first.backend) == []


def test_a_waiter_past_its_budget_is_overloaded(store: Store, image: bytes) -> None:
    storage, key = a_miss(store, image, resize_timeout=0.4)
    held = RenderLeases(store()).take(key)
    started = time.monotonic()
    with pytest.raises(Overloaded):
        storage.get(key)
    assert 0.35 < time.monotonic() - started < 2
    assert RenderLeases(store()).held(key) == held, "a waiter never touches a live lease"


def test_a_crashed_holder_delays_a_miss_by_at_most_its_lease(store: Store, image: bytes) -> None:
    storage, key = a_miss(store, image)
    backend = store()
    backend.write(lease_key(key), Lease(key, "gone:1:dead", time.time() + 1).body(), if_absent=True)
    started = time.monotonic()
    served = storage.get(key)
    took = time.monotonic() - started
    assert served.outcome == "created" and 0.9 < took < 4, took
    assert leases_left(backend) == []


def test_a_lease_of_a_process_of_this_host_that_is_gone_is_taken_over_at_once(store: Store, image: bytes) -> None:
    """A ``shiftmedia warm`` killed mid-render leaves leases whose holders are gone: a rerun takes them now."""
    storage, key = a_miss(store, image, resize_timeout=5)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    backend = store()
    holder = f"{socket.gethostname()}:{gone.pid}:dead"
    backend.write(lease_key(key), Lease(key, holder, time.time() + 60).body(), if_absent=True)
    started = time.monotonic()
    assert storage.get(key).outcome == "created"
    assert time.monotonic() - started < 2
    assert leases_left(backend) == []


def test_a_lease_of_a_live_process_or_another_host_is_waited_for(store: Store) -> None:
    for holder in (f"{socket.gethostname()}:{os.getpid()}:live", "elsewhere.example:1:x", "?"):
        lease = Lease("k", holder, time.time() + 60)
        assert not lease.abandoned(), holder


def test_a_failed_render_releases_its_lease_and_a_waiter_renders_itself(
    store: Store, image: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, key = a_miss(store, image)

    def broken(*_args: Any) -> Rendered:
        raise InvalidImage("broken")

    monkeypatch.setattr(making_module, "render", broken)
    with pytest.raises(InvalidImage):
        storage.get(key)
    assert leases_left(storage.backend) == []

    first, second = RenderLeases(store()), RenderLeases(store())
    held = first.take(key)
    assert held is not None
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(second.claim, key, time.monotonic() + 5)
        time.sleep(0.2)
        first.release(held)  # released, no derivative stored: the waiter must take the lease, not wait on
        claim = waiting.result(5)
    assert isinstance(claim, Lease) and claim.holder != held.holder


def test_a_miss_costs_a_lease_write_and_delete(tmp_path: Path, image: bytes) -> None:
    """Local: the miss's backend calls, lease included (delete is not counted by ``test_door``'s counter)."""
    calls: list[tuple[str, str]] = []

    class Counting(LocalBackend):
        def open(self, key: str) -> Any:
            calls.append(("open", key))
            return super().open(key)

        def write(self, key: str, data: Any, **options: Any) -> bool:
            calls.append(("write", key))
            return super().write(key, data, **options)

        def delete(self, key: str) -> bool:
            calls.append(("delete", key))
            return super().delete(key)

    storage = Storage(Counting(tmp_path / "media", PUBLIC_URL), SECRET_KEYS)
    media_id = storage.put(image)
    key = storage.resize_key(media_id, "40x40", format="png")
    calls.clear()
    assert storage.get(key).outcome == "created"
    original = storage.original_key(media_id)
    expected = [("open", key), ("write", lease_key(key)), ("open", original), ("write", key)]
    assert calls == [*expected, ("delete", lease_key(key))]


def test_an_s3_miss_and_a_losers_requests(image: bytes) -> None:
    """moto: what a miss asks of S3 now, and what a loser asks while it waits."""
    from moto import mock_aws

    from shiftmedia.backends.s3 import S3Backend
    from shiftmedia.settings import S3Settings

    settings = S3Settings(bucket=BUCKET, region="us-east-1", access_key_id="A", secret_access_key="B")
    with mock_aws():
        backend = S3Backend(settings)
        backend.client.create_bucket(Bucket=BUCKET)
        storage = Storage(backend, SECRET_KEYS)
        media_id = storage.put(image)
        key = storage.resize_key(media_id, "40x40", format="png")
        operations: list[str] = []
        backend.client.meta.events.register("before-call.s3.*", lambda model, **_: operations.append(model.name))
        assert storage.get(key).outcome == "created"
        assert operations == ["GetObject", "PutObject", "GetObject", "PutObject", "HeadObject", "DeleteObject"]

        other = storage.resize_key(media_id, "20x20", format="png")
        holder = RenderLeases(S3Backend(settings))
        held = holder.take(other)
        assert held is not None
        operations.clear()
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(storage.get, other)
            time.sleep(0.4)  # polls at about 0, 0.05, 0.15, 0.35 s
            _key, _id, spec = storage.verify(other)
            S3Backend(settings).write(other, render(image, spec).data, if_absent=True)  # another worker stores it...
            holder.release(held)  # ...and releases the lease
            assert waiting.result(5).outcome == "stored"
        assert operations[:3] == ["GetObject", "PutObject", "GetObject"]  # derivative 404, lease 412, lease read
        polls = operations[3:-1]
        assert set(polls) == {"GetObject"} and 3 <= len(polls) <= 6 and operations[-1] == "GetObject", operations


def test_nothing_of_a_lease_is_served_or_listed_as_an_original(app: Flask, image: bytes, media_root: Path) -> None:
    with app.app_context():
        storage = get_storage()
    media_id = storage.put(image, filename="photo.png")
    key = storage.resize_key(media_id, "40x40", format="png")
    lease = RenderLeases(storage.backend).take(key)
    assert lease is not None
    leased = lease_key(key)
    assert is_lease_key(leased) and not leased.startswith(id_folder(media_id)) and not is_lease_key(key)

    fresh = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS)
    assert fresh.original_key(media_id) == storage.original_key(media_id) == f"{id_folder(media_id)}/photo.png"
    with pytest.raises(InvalidKey):
        storage.get(leased)
    with pytest.raises(InvalidKey):
        storage.remove(leased)
    for path in (f"/media/{leased}", f"/media/{LEASE_PREFIX}{id_folder(media_id)}/photo.png"):
        answer = app.test_client().get(path)
        assert answer.status_code in (400, 404) and lease.holder.encode() not in answer.data
    assert list(storage.retired_derivatives()) == []
    original = storage.original_key(media_id)
    assert [info.key for info in selected(storage.backend, derivatives=False)] == [original, info_key(original)]

    storage.get(storage.resize_key(media_id, "30x30", format="png"))
    assert storage.delete(media_id) == 3  # the original, its media info and its derivative; not the lease
    assert leases_left(storage.backend) == [leased]


class Failing(LocalBackend):
    """A local backend whose deletes fail with ``error``, and whose writes of leases answer 404 when told."""

    def __init__(self, root: Path, error: Exception) -> None:
        super().__init__(root, PUBLIC_URL)
        self.error, self.writes_404 = error, False

    def delete(self, key: str) -> bool:
        raise self.error

    def write(self, key: str, data: Any, **options: Any) -> bool:
        if self.writes_404 and is_lease_key(key):
            raise NotFound(f"no object at {key}")
        return super().write(key, data, **options)


@pytest.mark.parametrize("error", [StorageUnavailable("down"), NotFound("gone already")])
def test_a_release_that_fails_never_fails_the_request(tmp_path: Path, image: bytes, error: Exception) -> None:
    storage = Storage(Failing(tmp_path / "media", error), SECRET_KEYS)
    key = storage.resize_key(storage.put(image), "40x40", format="png")
    assert storage.get(key).outcome == "created"  # the lease stays behind, to expire by itself
    assert leases_left(storage.backend) == [lease_key(key)]


def test_a_404_to_the_lease_write_is_unavailable_not_not_found(tmp_path: Path, image: bytes) -> None:
    backend = Failing(tmp_path / "media", StorageUnavailable("down"))
    storage = Storage(backend, SECRET_KEYS)
    key = storage.resize_key(storage.put(image), "40x40", format="png")
    backend.writes_404 = True  # a store still starting answers a write 404: the image exists all the same
    with pytest.raises(StorageUnavailable):
        storage.get(key)


def test_leases_taken_and_released_in_one_folder_at_once_never_fail(tmp_path: Path) -> None:
    """The local backend prunes folders a delete leaves empty; a write racing it makes the folder again."""
    errors: list[Exception] = []

    def churn(n: int) -> None:
        leases = RenderLeases(LocalBackend(tmp_path / "media", PUBLIC_URL))
        for _ in range(2000):
            try:
                if (lease := leases.take(f"0f/de/{n}.png")) is not None:
                    leases.release(lease)
            except StorageError as error:
                errors.append(error)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
