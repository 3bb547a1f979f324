"""Seekable reads of stored objects: what serving an original with ``Range`` support relies on.

Every backend's :meth:`~shiftmedia.backends.base.Backend.open_seekable` is
checked against the bytes it stored: random seeks and reads equal slices of
the data, the info comes before any read, a 64 MiB object streams through a
few buffers, and an object replaced meanwhile never mixes two versions (a
local file keeps the opened version; S3 refuses with :class:`ObjectChanged`).
On S3 the requests are counted too: one GET for a sequential read, a new one
only after a seek elsewhere.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shiftmedia.backends.base import Backend
from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.readonly import ReadOnly
from shiftmedia.backends.s3 import S3Backend
from shiftmedia.errors import NotFound, ObjectChanged, StorageError, StorageUnavailable
from shiftmedia.settings import S3Settings

MiB = 1024 * 1024
#: Bigger than the S3 read buffer, so random reads cross it and seeks leave it.
DATA_SIZE = 700_000
#: Seek targets and read sizes (``-1``: to the end) the property test draws.
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["set", "cur", "end"]), st.integers(0, DATA_SIZE + 100)),
        st.tuples(st.just("read"), st.integers(-1, 300_000)),
    ),
    max_size=12,
)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each backend in turn; S3 on a fresh bucket of the session's SeaweedFS (an integration test)."""
    if request.param == "local":
        return LocalBackend(tmp_path / "root", "http://media.test/media")
    backend: Backend = request.getfixturevalue("s3_backend")
    return backend


def get_requests(backend: S3Backend) -> list[dict[str, str]]:
    """A list that grows by the headers of each GET the backend's client sends."""
    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append({name: request.headers[name].decode() for name in ("Range", "If-Match") if name in request.headers})

    backend.client.meta.events.register("before-send.s3.GetObject", record)
    return sent


def apply(stream: Any, operation: tuple[str, int], size: int) -> bytes | int:
    """Seek to an absolute target (written with each ``whence``), or read; the result to compare."""
    kind, value = operation
    if kind == "read":
        return bytes(stream.read(value))
    offset = {"set": value, "cur": value - stream.tell(), "end": value - size}[kind]
    return int(stream.seek(offset, {"set": os.SEEK_SET, "cur": os.SEEK_CUR, "end": os.SEEK_END}[kind]))


# -- every backend -------------------------------------------------------------------


def test_random_seeks_and_reads_equal_slices(backend: Backend) -> None:
    data = os.urandom(DATA_SIZE)
    backend.write("id/movie.mp4", data)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(OPERATIONS)
    def check(operations: list[tuple[str, int]]) -> None:
        model = io.BytesIO(data)
        stream, _ = backend.open_seekable("id/movie.mp4")
        with stream:
            for operation in operations:
                assert apply(stream, operation, DATA_SIZE) == apply(model, operation, DATA_SIZE)
                assert stream.tell() == model.tell()

    check()


def test_info_comes_with_the_stream(backend: Backend) -> None:
    data = b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000)
    before = time.time()
    backend.write("id/clip.mp4", data)
    stream, info = backend.open_seekable("id/clip.mp4")
    with stream:
        assert info == backend.stat("id/clip.mp4")
        assert (info.key, info.size, info.content_type) == ("id/clip.mp4", len(data), "video/mp4")
        assert info.etag and '"' not in info.etag
        assert before - 120 < info.modified < time.time() + 120
        assert stream.seekable() and stream.read() == data


def test_empty_object(backend: Backend) -> None:
    backend.write("id/empty.jpg", b"")
    stream, info = backend.open_seekable("id/empty.jpg")
    with stream:
        assert info.size == 0
        assert stream.read() == b"" and stream.read(10) == b""
        assert stream.seek(0, os.SEEK_END) == 0
        assert stream.seek(50) == 50 and stream.read(1) == b""


def test_reading_past_the_end_gives_nothing(backend: Backend) -> None:
    backend.write("id/a.jpg", b"0123456789")
    stream, _ = backend.open_seekable("id/a.jpg")
    with stream:
        assert stream.seek(-3, os.SEEK_END) == 7 and stream.read(10) == b"789"
        assert stream.read(10) == b""
        assert stream.seek(1000) == 1000 and stream.read() == b""
        assert stream.seek(2) == 2 and stream.read(3) == b"234"
        with pytest.raises((ValueError, OSError)):
            stream.seek(-20, os.SEEK_CUR)


def test_missing_object_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.open_seekable("nope/a.jpg")


def test_read_only_view_passes_through(backend: Backend) -> None:
    backend.write("src/a.png", b"source bytes")
    stream, info = ReadOnly(backend).open_seekable("src/a.png")
    with stream:
        assert info.size == 12 and stream.seek(7) == 7 and stream.read() == b"bytes"


@pytest.mark.slow
def test_64_mib_streams_through_a_few_buffers(backend: Backend) -> None:
    block = os.urandom(MiB)
    expected = hashlib.sha256(block * 64).hexdigest()
    backend.write("big/original.mov", io.BytesIO(block * 64))
    del block
    tracemalloc.start()
    try:
        stream, info = backend.open_seekable("big/original.mov")
        digest = hashlib.sha256()
        with stream:
            while chunk := stream.read(64 * 1024):
                digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == 64 * MiB and digest.hexdigest() == expected
    assert peak < 2 * MiB, f"peak {peak} bytes while streaming"


# -- local disk ------------------------------------------------------------------------


def test_local_file_replaced_meanwhile_keeps_the_opened_version(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "root", "http://media.test/media")
    old, new = os.urandom(300_000), os.urandom(100_000)
    backend.write("id/a.mov", old)
    stream, info = backend.open_seekable("id/a.mov")
    with stream:
        assert stream.read(1000) == old[:1000]
        backend.write("id/a.mov", new)  # a new file renamed over the old one
        assert stream.seek(200_000) == 200_000 and stream.read() == old[200_000:]
    assert info.size == len(old)
    assert backend.stat("id/a.mov").etag != info.etag


# -- S3 (SeaweedFS) ----------------------------------------------------------------------


@pytest.mark.integration
def test_s3_sequential_read_is_one_get(s3_backend: S3Backend) -> None:
    data = os.urandom(3 * MiB)
    s3_backend.write("id/a.mov", data)
    stream, info = s3_backend.open_seekable("id/a.mov")
    sent = get_requests(s3_backend)
    with stream:
        assert sent == []  # the info came from a HEAD; nothing is fetched before a read
        parts = []
        while chunk := stream.read(64 * 1024):
            parts.append(chunk)
    assert b"".join(parts) == data
    assert sent == [{"Range": "bytes=0-", "If-Match": f'"{info.etag}"'}]


@pytest.mark.integration
def test_s3_seeks_elsewhere_reopen_and_others_cost_nothing(s3_backend: S3Backend) -> None:
    data = os.urandom(2 * MiB)
    s3_backend.write("id/a.mov", data)
    stream, _ = s3_backend.open_seekable("id/a.mov")
    sent = get_requests(s3_backend)
    with stream:
        assert stream.read(1000) == data[:1000]
        assert stream.seek(stream.tell()) == 1000 and stream.seek(5000) == 5000  # within what was fetched
        assert stream.read(1000) == data[5000:6000]
        assert len(sent) == 1
        assert stream.seek(MiB) == MiB and stream.read(10) == data[MiB : MiB + 10]
        assert stream.seek(100) == 100 and stream.read(10) == data[100:110]  # backwards
        assert stream.seek(0, os.SEEK_END) == len(data) and stream.read() == b""  # at the end: no request
    assert [request["Range"] for request in sent] == ["bytes=0-", f"bytes={MiB}-", "bytes=100-"]


@pytest.mark.integration
def test_s3_object_replaced_mid_stream_is_refused(s3_backend: S3Backend) -> None:
    old, new = os.urandom(2 * MiB), os.urandom(2 * MiB)
    s3_backend.write("id/a.mov", old)
    stream, _ = s3_backend.open_seekable("id/a.mov")
    with stream:
        assert stream.read(1000) == old[:1000]
        s3_backend.write("id/a.mov", new)
        stream.seek(MiB)
        with pytest.raises(ObjectChanged) as raised:
            stream.read(1000)
    assert "id/a.mov" in str(raised.value)
    assert isinstance(raised.value, StorageError)


@pytest.mark.integration
def test_s3_object_replaced_before_the_first_read_is_refused(s3_backend: S3Backend) -> None:
    s3_backend.write("id/a.mov", b"old bytes")
    stream, _ = s3_backend.open_seekable("id/a.mov")
    s3_backend.write("id/a.mov", b"new bytes")
    with stream, pytest.raises(ObjectChanged):
        stream.read()


# -- S3 answers that SeaweedFS does not give (botocore's Stubber) --------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[S3Backend, Stubber]]:
    """A backend whose client only answers what the test queued: one attempt, nothing listening."""
    backend = S3Backend(
        S3Settings(bucket="bucket", region="us-east-1", max_attempts=1, access_key_id="AKIDTEST", secret_access_key="x")
    )
    with Stubber(backend.client) as stubber:
        stubber.add_response("head_object", {"ContentLength": 10, "ETag": '"abc"', "ContentType": "video/mp4"})
        yield backend, stubber


def test_a_store_that_ignores_range_is_an_error(stubbed: tuple[S3Backend, Stubber]) -> None:
    backend, stubber = stubbed
    whole = {"Body": StreamingBody(io.BytesIO(b"0123456789"), 10), "ContentLength": 10}
    expected = {"Bucket": "bucket", "Key": "a.mp4", "Range": "bytes=4-", "IfMatch": '"abc"'}
    stubber.add_response("get_object", whole, expected)
    stream, _ = backend.open_seekable("a.mp4")
    stream.seek(4)
    with stream, pytest.raises(StorageError, match="Range"):
        stream.read()


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [("PreconditionFailed", 412, ObjectChanged), ("ServiceUnavailable", 503, StorageUnavailable)],
)
def test_ranged_get_failures_are_translated(
    stubbed: tuple[S3Backend, Stubber], code: str, status: int, expected: type[StorageError]
) -> None:
    backend, stubber = stubbed
    stubber.add_client_error("get_object", service_error_code=code, http_status_code=status)
    stream, _ = backend.open_seekable("a.mp4")
    with stream, pytest.raises(expected) as raised:
        stream.read()
    assert type(raised.value) is expected and "s3://bucket/a.mp4" in str(raised.value)
