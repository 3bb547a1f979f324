"""The backend contract: one suite, run against the local backend and S3 (SeaweedFS).

Everything the rest of shiftmedia relies on is pinned here once, so a backend
that passes can replace another: round trips, metadata, streaming, limits,
conditional writes (including a real race), listing order and isolation,
deletion, key validation and atomic visibility of writes.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shiftmedia.backends.base import Backend, ObjectInfo
from shiftmedia.backends.local import LocalBackend
from shiftmedia.errors import InvalidKey, LimitExceeded, NotFound

REPO = Path(__file__).resolve().parents[2]
INVALID_KEYS = [
    "../x",
    "/abs",
    "a//b",
    "a\x00b",
    "a\nb",
    "a\\b",
    "a\x7fb",
    "a/../b",
    "./a",
    "a/",
    "",
    "a/" + "x" * 256,
    "é" * 128 + ".jpg",
    "a\udcffb",
    "k/" * 512 + "k",
]
#: Keys of objects other tools stored (sources): any character S3 allows but control characters.
ODD_KEYS = ["a b/c d.jpg", "ünï/côdé é.png", "plus+sign/100%.jpg", "q?a#b&c=d.jpg", "日本/写真.webp"]


class Boom(Exception):
    """Raised by a source stream midway through a write."""


class FailingStream(io.RawIOBase):
    """Yields ``fail_after`` bytes of data, then raises :class:`Boom`."""

    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.remaining = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.remaining <= 0:
            raise Boom("source broke")
        n = min(len(buffer), self.remaining, 64 * 1024)
        buffer[:n] = b"x" * n
        self.remaining -= n
        return n


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each backend in turn; S3 on a fresh bucket of the session's SeaweedFS (an integration test)."""
    if request.param == "local":
        return LocalBackend(tmp_path / "root", "http://media.test/media")
    return request.getfixturevalue("s3_backend")


def keys(infos: list[ObjectInfo]) -> list[str]:
    return [info.key for info in infos]


# -- round trips ----------------------------------------------------------------


def test_round_trip_bytes(backend: Backend) -> None:
    data = os.urandom(70_000)
    assert backend.write("id1/photo.jpg", data) is True
    assert backend.read("id1/photo.jpg") == data
    assert backend.exists("id1/photo.jpg")


@pytest.mark.parametrize("key", ODD_KEYS, ids=repr)
def test_odd_keys_round_trip(backend: Backend, key: str) -> None:
    assert backend.write(key, b"odd") is True
    assert backend.read(key) == b"odd" and backend.exists(key)
    folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    assert [info.key for info in backend.list(folder)] == [key]
    assert backend.delete(key) is True and not backend.exists(key)


def test_round_trip_empty_object(backend: Backend) -> None:
    assert backend.write("id1/empty.png", b"") is True
    assert backend.read("id1/empty.png") == b""
    assert backend.stat("id1/empty.png").size == 0


def test_round_trip_file_objects(backend: Backend, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    assert backend.write("id2/a.png", io.BytesIO(data)) is True
    source = tmp_path / "source.bin"
    source.write_bytes(data[::-1])
    with source.open("rb") as handle:
        assert backend.write("id2/b.png", handle) is True
    assert backend.read("id2/a.png") == data
    assert backend.read("id2/b.png") == data[::-1]


def test_overwrite_replaces_content(backend: Backend) -> None:
    backend.write("id3/a.jpg", b"first")
    assert backend.write("id3/a.jpg", b"second version") is True
    assert backend.read("id3/a.jpg") == b"second version"
    assert backend.stat("id3/a.jpg").size == len(b"second version")


# -- metadata -------------------------------------------------------------------


def test_stat_fields(backend: Backend) -> None:
    data = b"\x89PNG" + os.urandom(1234)
    before = time.time()
    backend.write("id4/pic.png", data)
    info = backend.stat("id4/pic.png")
    assert info.key == "id4/pic.png"
    assert info.size == len(data)
    assert isinstance(info.etag, str) and info.etag and '"' not in info.etag
    assert before - 120 < info.modified < time.time() + 120
    assert info.content_type == "image/png"


def test_etag_changes_with_content(backend: Backend) -> None:
    backend.write("id4/a.jpg", b"one")
    first = backend.stat("id4/a.jpg").etag
    backend.write("id4/a.jpg", b"two, longer")
    assert backend.stat("id4/a.jpg").etag != first


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.png", "image/png"),
        ("a.webp", "image/webp"),
        ("a.avif", "image/avif"),
        ("a.gif", "image/gif"),
        ("a.tiff", "image/tiff"),
        ("a.bin", "application/octet-stream"),
    ],
)
def test_content_type_from_extension(backend: Backend, name: str, expected: str) -> None:
    backend.write(f"ct/{name}", b"data")
    assert backend.stat(f"ct/{name}").content_type == expected
    assert next(iter(backend.list("ct/"))).content_type == expected


# -- reading --------------------------------------------------------------------


def test_open_streams(backend: Backend) -> None:
    data = os.urandom(1_000_000)
    backend.write("id5/big.jpg", data)
    parts = []
    with backend.open("id5/big.jpg") as stream:
        while chunk := stream.read(65_536):
            parts.append(chunk)
    assert b"".join(parts) == data
    assert len(parts) > 1


def test_read_max_bytes(backend: Backend) -> None:
    data = os.urandom(10_000)
    backend.write("id6/a.jpg", data)
    assert backend.read("id6/a.jpg", max_bytes=10_000) == data
    assert backend.read("id6/a.jpg", max_bytes=20_000) == data
    with pytest.raises(LimitExceeded):
        backend.read("id6/a.jpg", max_bytes=9_999)


@pytest.mark.parametrize(
    "operation",
    [
        lambda b: b.stat("nope/a.jpg"),
        lambda b: b.open("nope/a.jpg"),
        lambda b: b.read("nope/a.jpg"),
        lambda b: b.read("nope/a.jpg", max_bytes=10),
    ],
    ids=["stat", "open", "read", "read_max"],
)
def test_missing_object_is_not_found(backend: Backend, operation: Callable[[Backend], object]) -> None:
    with pytest.raises(NotFound):
        operation(backend)
    assert backend.exists("nope/a.jpg") is False


# -- conditional writes ---------------------------------------------------------


def test_if_absent(backend: Backend) -> None:
    assert backend.write("id7/d.jpg", b"winner", if_absent=True) is True
    assert backend.write("id7/d.jpg", b"loser", if_absent=True) is False
    assert backend.write("id7/d.jpg", io.BytesIO(b"loser too"), if_absent=True) is False
    assert backend.read("id7/d.jpg") == b"winner"


def test_if_absent_race(backend: Backend) -> None:
    """Two threads released together: exactly one stores, the other is told False."""
    for round_ in range(8):
        key = f"race/{round_}.jpg"
        barrier = threading.Barrier(2)
        results: dict[int, bool] = {}
        errors: list[BaseException] = []

        def writer(
            n: int,
            key: str = key,
            barrier: threading.Barrier = barrier,
            size: int = 50_000 + 10_000 * round_,
            results: dict[int, bool] = results,
            errors: list[BaseException] = errors,
        ) -> None:
            payload = bytes([n]) * size
            barrier.wait()
            try:
                results[n] = backend.write(key, payload, if_absent=True)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert sorted(results.values()) == [False, True]
        winner = next(n for n, stored in results.items() if stored)
        assert backend.read(key) == bytes([winner]) * (50_000 + 10_000 * round_)
        assert keys(list(backend.list("race/"))).count(key) == 1


# -- listing --------------------------------------------------------------------


def test_list_order_and_prefix_isolation(backend: Backend) -> None:
    names = ["b/z.png", "a/2/x.jpg", "a-b/c.jpg", "a/1.jpg", "ab/c.jpg", "a/10.jpg", "A/up.jpg"]
    for name in names:
        backend.write(name, name.encode())
    everything = list(backend.list())
    assert keys(everything) == sorted(names)
    assert keys(list(backend.list(""))) == sorted(names)
    assert keys(list(backend.list("a/"))) == ["a/1.jpg", "a/10.jpg", "a/2/x.jpg"]
    assert keys(list(backend.list("a/2/"))) == ["a/2/x.jpg"]
    assert list(backend.list("missing/")) == []
    by_key = {info.key: info for info in everything}
    assert by_key["a-b/c.jpg"].size == len(b"a-b/c.jpg")
    assert by_key["b/z.png"].content_type == "image/png"


def test_list_pages_beyond_one_request(backend: Backend) -> None:
    names = [f"many/{i:05d}.jpg" for i in range(1_100)]
    for name in names:
        backend.write(name, b"x")
    assert keys(list(backend.list("many/"))) == names


# -- deleting -------------------------------------------------------------------


def test_delete(backend: Backend) -> None:
    backend.write("id8/a.jpg", b"a")
    assert backend.delete("id8/a.jpg") is True
    assert backend.exists("id8/a.jpg") is False
    assert backend.delete("id8/a.jpg") is False
    with pytest.raises(NotFound):
        backend.read("id8/a.jpg")


def test_delete_prefix(backend: Backend) -> None:
    inside = ["id9/orig.jpg", "id9/100x0-fit-80-noupscale-sig.webp", "id9/sub/x.png"]
    outside = ["id9-other/a.jpg", "id99/a.jpg", "id/9.jpg"]
    for name in inside + outside:
        backend.write(name, b"data")
    assert backend.delete_prefix("id9/") == len(inside)
    assert keys(list(backend.list("id9/"))) == []
    assert keys(list(backend.list())) == sorted(outside)
    assert backend.delete_prefix("id9/") == 0


def test_delete_prefix_requires_a_folder(backend: Backend) -> None:
    for bad in ["id9", "", "/", "../", "a//"]:
        with pytest.raises(InvalidKey):
            backend.delete_prefix(bad)


# -- key validation -------------------------------------------------------------


@pytest.mark.parametrize("key", INVALID_KEYS, ids=repr)
@pytest.mark.parametrize(
    "operation",
    [
        lambda b, k: b.exists(k),
        lambda b, k: b.stat(k),
        lambda b, k: b.open(k),
        lambda b, k: b.read(k),
        lambda b, k: b.write(k, b"x"),
        lambda b, k: b.write(k, b"x", if_absent=True),
        lambda b, k: b.delete(k),
        lambda b, k: b.public_url(k),
    ],
    ids=["exists", "stat", "open", "read", "write", "write_if_absent", "delete", "public_url"],
)
def test_invalid_keys_rejected(backend: Backend, key: str, operation: Callable[[Backend, str], object]) -> None:
    with pytest.raises(InvalidKey):
        operation(backend, key)


def test_invalid_list_prefix_rejected(backend: Backend) -> None:
    for bad in ["../", "/abs/", "a//b/", "a\nb/", "a\x00/", "noslash"]:
        with pytest.raises(InvalidKey):
            list(backend.list(bad))


def test_public_url_names_the_key(backend: Backend) -> None:
    url = backend.public_url("id10/100x0-fit-80-noupscale-sig.webp")
    assert url.startswith("http")
    assert "id10/100x0-fit-80-noupscale-sig.webp" in url


# -- atomicity ------------------------------------------------------------------


@pytest.mark.parametrize("size", [200_000, 3_000_000])
def test_failed_stream_leaves_nothing(backend: Backend, size: int) -> None:
    with pytest.raises(Boom):
        backend.write("id11/partial.jpg", FailingStream(size))
    assert backend.exists("id11/partial.jpg") is False
    assert list(backend.list()) == []
    with pytest.raises(Boom):
        backend.write("id11/partial.jpg", FailingStream(size), if_absent=True)
    assert backend.exists("id11/partial.jpg") is False


def test_failed_overwrite_keeps_old_content(backend: Backend) -> None:
    backend.write("id12/a.jpg", b"old")
    with pytest.raises(Boom):
        backend.write("id12/a.jpg", FailingStream(500_000))
    assert backend.read("id12/a.jpg") == b"old"
    assert keys(list(backend.list())) == ["id12/a.jpg"]


# -- the image corpus -------------------------------------------------------------


def test_corpus_round_trip(backend: Backend, corpus: Path) -> None:
    """Every corpus file stored from a file object and read back bit for bit."""
    files = sorted(p for p in corpus.iterdir() if p.is_file() and p.suffix != ".md")
    assert files
    for path in files:
        key = f"corpus/{path.name}"
        with path.open("rb") as handle:
            assert backend.write(key, handle) is True
        assert backend.stat(key).size == path.stat().st_size
        with backend.open(key) as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()  # type: ignore[arg-type]
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest(), path.name
    assert keys(list(backend.list("corpus/"))) == [f"corpus/{p.name}" for p in files]
