"""S3-specific behaviour: batching, multipart, presigned URLs, outages, error mapping, the circuit breaker.

The integration tests run against real SeaweedFS servers; the unit tests at
the end use moto (in-process), botocore's Stubber, a closed local port, a
listening socket that never answers (a frozen store) and a fake clock, so
they are fast and need no server.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import botocore.exceptions as bce
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.stub import Stubber

from shiftmedia.backends.s3 import S3Backend
from shiftmedia.backends.s3.breaker import Breaker, CircuitOpen, unanswered
from shiftmedia.backends.s3.streams import Body
from shiftmedia.errors import AccessDenied, ConfigError, NotFound, StorageError, StorageUnavailable
from shiftmedia.settings import S3Settings, Settings
from tests.servers.seaweedfs import SeaweedFS, free_ports

MiB = 1024 * 1024
#: The timeouts a miss is bounded with (the proposed S3Settings defaults): large uploads must still pass.
SHORT_TIMEOUTS: dict[str, Any] = {"connect_timeout": 2.0, "read_timeout": 5.0}


def count_calls(backend: S3Backend, operation: str) -> list[int]:
    """A list that grows by one for each ``operation`` request the backend's client sends."""
    calls: list[int] = []
    backend.client.meta.events.register(f"before-call.s3.{operation}", lambda **_: calls.append(1))
    return calls


def sha256_stream(stream: Any) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(MiB):
        digest.update(chunk)
    return digest.hexdigest()


# -- against SeaweedFS ------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_delete_prefix_2500_objects_in_batches(s3_backend: S3Backend) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3_backend.write(f"big-id/{i:05d}.jpg", b"x"), range(2_500)))
    s3_backend.write("big-id-2/keep.jpg", b"keep")
    s3_backend.write("big-idx/keep.jpg", b"keep")
    batches = count_calls(s3_backend, "DeleteObjects")
    started = time.monotonic()
    assert s3_backend.delete_prefix("big-id/") == 2_500
    elapsed = time.monotonic() - started
    assert len(batches) == 3
    assert list(s3_backend.list("big-id/")) == []
    assert [i.key for i in s3_backend.list()] == ["big-id-2/keep.jpg", "big-idx/keep.jpg"]
    assert elapsed < 60


@pytest.fixture
def file_60mb(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    path = tmp_path / "original.tif"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(60):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            out.write(chunk)
    yield path, digest.hexdigest()


@pytest.mark.integration
@pytest.mark.slow
def test_60mb_original_is_a_multipart_upload(
    seaweedfs: SeaweedFS,
    s3_bucket: str,
    file_60mb: tuple[Path, str],
    make_s3_backend: Callable[..., S3Backend],
) -> None:
    path, expected = file_60mb
    backend = make_s3_backend(
        seaweedfs,
        s3_bucket,
        transfer_config=TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB),
        **SHORT_TIMEOUTS,
    )
    puts, parts = count_calls(backend, "PutObject"), count_calls(backend, "UploadPart")
    with path.open("rb") as handle:
        assert backend.write("orig/original.tif", handle) is True
    assert puts == [] and len(parts) == 8
    info = backend.stat("orig/original.tif")
    assert info.size == 60 * MiB
    assert info.etag.endswith("-8")  # a multipart ETag: md5-of-part-md5s, dash, part count
    with backend.open("orig/original.tif") as stream:
        assert sha256_stream(stream) == expected


@pytest.mark.integration
@pytest.mark.slow
def test_large_conditional_write_uses_conditional_multipart(
    seaweedfs: SeaweedFS,
    s3_bucket: str,
    file_60mb: tuple[Path, str],
    make_s3_backend: Callable[..., S3Backend],
) -> None:
    path, expected = file_60mb
    backend = make_s3_backend(seaweedfs, s3_bucket, **SHORT_TIMEOUTS)
    completes = count_calls(backend, "CompleteMultipartUpload")
    with path.open("rb") as handle:
        assert backend.write("orig/a.tif", handle, if_absent=True) is True
    assert backend.write("orig/a.tif", io.BytesIO(b"y" * 9 * MiB), if_absent=True) is False
    assert len(completes) == 2
    with backend.open("orig/a.tif") as stream:
        assert sha256_stream(stream) == expected
    uploads = seaweedfs.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert uploads == []  # the losing upload was aborted


@pytest.mark.integration
def test_cache_control_content_type_and_sse_are_stored(
    seaweedfs: SeaweedFS, s3_bucket: str, make_s3_backend: Callable[..., S3Backend]
) -> None:
    backend = make_s3_backend(seaweedfs, s3_bucket, sse="AES256")
    backend.write("x/d.webp", b"data", cache_control="public, max-age=31536000, immutable")
    backend.write("x/e.bin", b"data", content_type="image/webp")
    head = seaweedfs.client().head_object(Bucket=s3_bucket, Key="x/d.webp")
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["ContentType"] == "image/webp"
    assert head.get("ServerSideEncryption") == "AES256"
    assert backend.stat("x/e.bin").content_type == "image/webp"


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.integration
def test_presigned_url(seaweedfs: SeaweedFS, s3_bucket: str, make_s3_backend: Callable[..., S3Backend]) -> None:
    backend = make_s3_backend(seaweedfs, s3_bucket, prefix="m", private=True, presign_expiry=600)
    data = os.urandom(5_000)
    backend.write("id/photo.jpg", data)
    url = backend.public_url("id/photo.jpg")
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.path == f"/{s3_bucket}/m/id/photo.jpg"
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["600"]
    assert seaweedfs.secret_key not in url
    assert _fetch(url) == (200, data)

    signature = query["X-Amz-Signature"][0]
    query["X-Amz-Signature"] = [signature[:-1] + ("0" if signature[-1] != "0" else "1")]
    tampered = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    status, _ = _fetch(tampered)
    assert status == 403

    other_key = urlunsplit(parts._replace(path=parts.path.replace("photo", "photp")))
    assert _fetch(other_key)[0] == 403


@pytest.mark.integration
def test_presigned_url_expires(seaweedfs: SeaweedFS, s3_bucket: str, make_s3_backend: Callable[..., S3Backend]) -> None:
    backend = make_s3_backend(seaweedfs, s3_bucket, private=True, presign_expiry=1)
    backend.write("id/a.jpg", b"a")
    url = backend.public_url("id/a.jpg")
    time.sleep(2.5)
    assert _fetch(url)[0] == 403


@pytest.mark.integration
def test_missing_bucket_on_real_server(seaweedfs: SeaweedFS, make_s3_backend: Callable[..., S3Backend]) -> None:
    backend = make_s3_backend(seaweedfs, "no-such-bucket-here")
    with pytest.raises(StorageError, match="no-such-bucket-here") as info:
        backend.check()
    assert not isinstance(info.value, NotFound)
    with pytest.raises(StorageError, match="no-such-bucket-here"):
        backend.write("a/b.jpg", b"x")
    with pytest.raises(StorageError, match="no-such-bucket-here"):
        list(backend.list())


@pytest.mark.integration
def test_wrong_secret_is_access_denied(seaweedfs: SeaweedFS, s3_bucket: str) -> None:
    settings = S3Settings(
        bucket=s3_bucket,
        endpoint_url=seaweedfs.endpoint,
        region="us-east-1",
        access_key_id=seaweedfs.access_key,
        secret_access_key="wrong-secret-value-123",
        force_path_style=True,
    )
    backend = S3Backend(settings)
    for operation in (lambda: backend.write("a/b.jpg", b"x"), lambda: list(backend.list()), backend.check):
        with pytest.raises(AccessDenied) as info:
            operation()
        assert "wrong-secret-value-123" not in str(info.value)


class SlowSource(io.RawIOBase):
    """``total`` bytes, setting ``halfway`` once half are read, then pausing so the server can die."""

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total
        self.sent = 0
        self.halfway = threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.sent >= self.total:
            return 0
        if self.sent >= self.total // 2 and not self.halfway.is_set():
            self.halfway.set()
            time.sleep(1.0)
        n = min(len(buffer), self.total - self.sent, MiB)
        buffer[:n] = b"z" * n
        self.sent += n
        return n


@pytest.mark.integration
@pytest.mark.slow
def test_server_stopped_mid_run(weed_data_dir: Path, make_s3_backend: Callable[..., S3Backend]) -> None:
    """A store that dies mid-upload: StorageUnavailable, and no object appears after restart."""
    server = SeaweedFS(weed_data_dir)
    server.start()
    try:
        server.client().create_bucket(Bucket="outage")
        backend = make_s3_backend(
            server,
            "outage",
            connect_timeout=1,
            read_timeout=5,
            max_attempts=3,  # every attempt counts: a store just restarted may answer 500 once
            transfer_config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=1),
        )
        backend.write("id/kept.jpg", b"kept")
        source = SlowSource(40 * MiB)
        outcome: dict[str, BaseException | bool] = {}

        def upload() -> None:
            try:
                outcome["result"] = backend.write("id/huge.tif", source)
            except BaseException as exc:  # noqa: BLE001 - inspected below
                outcome["error"] = exc

        thread = threading.Thread(target=upload)
        thread.start()
        assert source.halfway.wait(60)
        server.kill()
        thread.join(120)
        assert not thread.is_alive()
        assert isinstance(outcome.get("error"), StorageUnavailable), outcome

        started = time.monotonic()
        for operation in (
            lambda: backend.stat("id/kept.jpg"),
            lambda: backend.read("id/kept.jpg"),
            lambda: backend.write("id/new.jpg", b"n"),
            lambda: list(backend.list()),
            lambda: backend.delete_prefix("id/"),
            backend.check,
        ):
            with pytest.raises(StorageUnavailable):
                operation()
        assert time.monotonic() - started < 30

        server.start()
        time.sleep(backend.breaker.cooling_down())  # then the next call is the probe that closes it
        assert backend.exists("id/huge.tif") is False
        assert backend.read("id/kept.jpg") == b"kept"
        assert [i.key for i in backend.list()] == ["id/kept.jpg"]
    finally:
        server.stop()


# -- unit tests: moto, Stubber, a closed port ------------------------------------------

#: Credentials for moto and the Stubber; the secret must never show in a message.
KEYS = {"access_key_id": "AKIDTEST", "secret_access_key": "unit-secret-xyz"}
KEY_VALUES = {"S3_ACCESS_KEY_ID": "AKIDTEST", "S3_SECRET_ACCESS_KEY": "unit-secret-xyz"}


@pytest.fixture
def moto_aws() -> Iterator[None]:
    """An in-process moto S3 for the test's duration."""
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        yield


@pytest.fixture
def moto_backend(moto_aws: None) -> S3Backend:
    """A backend on the moto S3, with one bucket, ``bucket``."""
    backend = S3Backend(S3Settings(bucket="bucket", region="us-east-1", **KEYS))
    backend.client.create_bucket(Bucket="bucket")
    return backend


def put_arguments(backend: S3Backend) -> list[dict[str, Any]]:
    """A list that grows by the parameters of each ``PutObject`` the backend's client sends."""
    calls: list[dict[str, Any]] = []
    backend.client.meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: calls.append(dict(params))
    )
    return calls


def test_moto_round_trip_with_sse(moto_backend: S3Backend) -> None:
    backend = S3Backend(S3Settings(bucket="bucket", prefix="p/q", region="us-east-1", sse="AES256", **KEYS))
    assert backend.write("id/a.jpg", b"abc", cache_control="no-cache") is True
    head = backend.client.head_object(Bucket="bucket", Key="p/q/id/a.jpg")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["CacheControl"] == "no-cache"
    assert [i.key for i in backend.list()] == ["id/a.jpg"]
    assert backend.read("id/a.jpg") == b"abc"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"S3_SSE": "S3"}, {"ServerSideEncryption": "AES256"}),
        ({"S3_SSE": "KMS"}, {"ServerSideEncryption": "aws:kms"}),
        (
            {"S3_SSE": "kms", "S3_SSE_KMS_KEY_ID": "kms-key-1"},
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "kms-key-1"},
        ),
    ],
)
def test_sse_spellings_reach_put_object(
    moto_backend: S3Backend, values: dict[str, str], expected: dict[str, str]
) -> None:
    """Immich's ``S3_SSE=S3|KMS`` become the header values S3 knows, on every PUT."""
    settings = Settings.from_values({"S3_BUCKET": "bucket", "S3_REGION": "us-east-1", **KEY_VALUES, **values})
    backend = S3Backend(settings.s3)
    puts = put_arguments(backend)
    assert backend.write("id/a.jpg", b"abc") is True
    assert backend.write("id/b.jpg", b"abc", if_absent=True) is True
    sse = [{k: v for k, v in put.items() if k in ("ServerSideEncryption", "SSEKMSKeyId")} for put in puts]
    assert sse == [expected, expected]


@pytest.mark.parametrize(
    ("endpoint", "region"),
    [("https://s3.amazonaws.com", "eu-west-1"), ("https://s3.us-west-2.amazonaws.com/", "us-west-2")],
)
def test_an_aws_endpoint_is_aws(moto_aws: None, endpoint: str, region: str) -> None:
    """FOVEA documents ``S3_ENDPOINT=https://s3.amazonaws.com``: that is AWS, in the region's own endpoint."""
    regional = f"https://s3.{region}.amazonaws.com"
    from_values = Settings.from_values(
        {"S3_BUCKET": "media", "S3_ENDPOINT": endpoint, "S3_REGION": region, **KEY_VALUES}
    )
    direct = S3Settings(bucket="media", endpoint_url=endpoint, region=region, **KEYS)
    for settings in (from_values.s3, direct):
        backend = S3Backend(settings)
        assert backend.is_aws
        assert backend.client.meta.endpoint_url == regional
        assert backend.public_url("id/a.jpg") == f"https://media.s3.{region}.amazonaws.com/id/a.jpg"
    backend.client.create_bucket(Bucket="media", CreateBucketConfiguration={"LocationConstraint": region})
    assert backend.write("id/a.jpg", b"abc") is True
    assert backend.read("id/a.jpg") == b"abc"


@pytest.mark.parametrize("endpoint_name", ["S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_endpoint_and_region_aliases_reach_the_client(endpoint_name: str) -> None:
    """InvenioRDM's ``S3_ENDPOINT_URL``/``S3_REGION_NAME`` (and botocore's own name) configure the client."""
    settings = Settings.from_values(
        {"S3_BUCKET": "b", endpoint_name: "http://127.0.0.1:9000/", "S3_REGION_NAME": "eu-central-1", **KEY_VALUES}
    )
    backend = S3Backend(settings.s3)
    assert backend.client.meta.endpoint_url == "http://127.0.0.1:9000"
    assert backend.client.meta.region_name == backend.region == "eu-central-1"
    assert not backend.is_aws


@pytest.mark.parametrize(
    ("values", "retries"),
    [
        ({}, {"mode": "standard", "total_max_attempts": 3}),
        ({"AWS_MAX_ATTEMPTS": "7", "AWS_RETRY_MODE": "adaptive"}, {"mode": "adaptive", "total_max_attempts": 7}),
    ],
)
def test_retry_settings_reach_the_client(values: dict[str, str], retries: dict[str, Any]) -> None:
    """``AWS_MAX_ATTEMPTS`` counts every attempt, the first included, as it does for botocore itself."""
    backend = S3Backend(Settings.from_values({"S3_BUCKET": "b", **values}).s3)
    assert backend.client.meta.config.retries == retries


class InternalErrors(http.server.BaseHTTPRequestHandler):
    """An S3 endpoint that answers every request ``500 InternalError``: a store that answers, badly."""

    def do_GET(self) -> None:
        body = b"<Error><Code>InternalError</Code><Message>try again</Message></Error>"
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads the answers, not a log."""


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), InternalErrors)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.mark.parametrize("mode", ["standard", "legacy", "adaptive"])
def test_max_attempts_counts_the_first_attempt(failing_endpoint: str, mode: str) -> None:
    """Errors the store answers are retried as AWS_MAX_ATTEMPTS says, and leave the breaker closed."""
    settings = S3Settings(
        bucket="bucket",
        endpoint_url=failing_endpoint,
        region="us-east-1",
        force_path_style=True,
        max_attempts=2,
        retry_mode=mode,
        **KEYS,
    )
    backend = S3Backend(settings)
    sends: list[int] = []
    backend.client.meta.events.register("before-send", lambda **_: sends.append(1))
    with pytest.raises(StorageUnavailable, match="InternalError"):
        backend.read("a/b.jpg")
    assert len(sends) == 2
    assert backend.breaker.state == "closed"


def test_moto_no_such_bucket(moto_backend: S3Backend) -> None:
    backend = S3Backend(S3Settings(bucket="absent-bucket", region="us-east-1", **KEYS))
    for operation in (
        backend.check,
        lambda: backend.write("a/b.jpg", b"x"),
        lambda: backend.read("a/b.jpg"),
        lambda: list(backend.list()),
        lambda: backend.delete_prefix("a/"),
    ):
        with pytest.raises(StorageError, match="absent-bucket") as info:
            operation()
        assert not isinstance(info.value, NotFound)
        assert KEYS["secret_access_key"] not in str(info.value)


def test_moto_missing_key(moto_backend: S3Backend) -> None:
    with pytest.raises(NotFound):
        moto_backend.read("a/b.jpg")
    with pytest.raises(NotFound):
        moto_backend.stat("a/b.jpg")
    assert moto_backend.delete("a/b.jpg") is False


def stub_backend() -> S3Backend:
    """A backend whose client is only ever stubbed: one attempt, nothing listening."""
    return S3Backend(S3Settings(bucket="bucket", region="us-east-1", max_attempts=1, **KEYS))


@pytest.mark.parametrize(
    ("operation", "code", "status", "expected"),
    [
        ("head_object", "403", 403, AccessDenied),
        ("get_object", "AccessDenied", 403, AccessDenied),
        ("put_object", "InvalidAccessKeyId", 403, AccessDenied),
        ("put_object", "SignatureDoesNotMatch", 403, AccessDenied),
        ("get_object", "NoSuchKey", 404, NotFound),
        ("get_object", "NoSuchBucket", 404, StorageError),
        ("head_bucket", "404", 404, StorageError),
        ("head_bucket", "403", 403, AccessDenied),
        ("put_object", "SlowDown", 503, StorageUnavailable),
        ("put_object", "InternalError", 500, StorageUnavailable),
        ("put_object", "InvalidRequest", 400, StorageError),
    ],
)
def test_error_mapping(operation: str, code: str, status: int, expected: type[Exception]) -> None:
    backend = stub_backend()
    calls = {
        "head_object": lambda: backend.stat("a/b.jpg"),
        "get_object": lambda: backend.read("a/b.jpg"),
        "put_object": lambda: backend.write("a/b.jpg", b"x"),
        "head_bucket": backend.check,
    }
    client = backend.health_client if operation == "head_bucket" else backend.client  # check() has its own
    with Stubber(client) as stubber:
        stubber.add_client_error(operation, service_error_code=code, http_status_code=status)
        with pytest.raises(expected) as info:
            calls[operation]()
    assert type(info.value) is expected
    assert KEYS["secret_access_key"] not in str(info.value)


def test_delete_errors_are_translated() -> None:
    backend = stub_backend()
    listing = {"Contents": [{"Key": "a/1.jpg"}, {"Key": "a/2.jpg"}], "IsTruncated": False}
    with Stubber(backend.client) as stubber:
        for code, expected in (("AccessDenied", AccessDenied), ("InternalError", StorageError)):
            stubber.add_response("list_objects_v2", listing)
            stubber.add_response("delete_objects", {"Errors": [{"Key": "a/1.jpg", "Code": code, "Message": "no"}]})
            with pytest.raises(expected) as info:
                backend.delete_prefix("a/")
            assert type(info.value) is expected and "s3://bucket/a/" in str(info.value)


@pytest.mark.parametrize(("code", "status"), [("PreconditionFailed", 412), ("ConditionalRequestConflict", 409)])
def test_conditional_conflicts_return_false(code: str, status: int) -> None:
    backend = stub_backend()
    with Stubber(backend.client) as stubber:
        stubber.add_client_error("put_object", service_error_code=code, http_status_code=status)
        assert backend.write("a/b.jpg", b"x", if_absent=True) is False


def test_conflict_without_if_absent_is_an_error() -> None:
    backend = stub_backend()
    with Stubber(backend.client) as stubber:
        stubber.add_client_error("put_object", service_error_code="PreconditionFailed", http_status_code=412)
        with pytest.raises(StorageError):
            backend.write("a/b.jpg", b"x")


def test_unreachable_endpoint_is_unavailable_quickly() -> None:
    (port,) = free_ports(1)  # nothing listens there once the probe socket is closed
    settings = S3Settings(
        bucket="bucket",
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        access_key_id="AKIDTEST",
        secret_access_key="unreachable-secret",
        force_path_style=True,
        connect_timeout=0.5,
        read_timeout=0.5,
        max_attempts=2,
    )
    backend = S3Backend(settings)
    started = time.monotonic()
    for operation in (
        backend.check,
        lambda: backend.exists("a/b.jpg"),
        lambda: backend.read("a/b.jpg"),
        lambda: backend.write("a/b.jpg", b"x", if_absent=True),
        lambda: list(backend.list("a/")),
    ):
        with pytest.raises(StorageUnavailable) as info:
            operation()
        assert "unreachable-secret" not in str(info.value)
    assert time.monotonic() - started < 10


class DyingBody:
    """A response body whose store stopped answering in the middle of it."""

    def read(self, n: int) -> bytes:
        raise bce.ReadTimeoutError(endpoint_url="http://127.0.0.1:1")

    def close(self) -> None:
        """Nothing to release: the body never opened a connection."""


def test_stream_errors_are_translated() -> None:
    with io.BufferedReader(Body(DyingBody(), "b", "k")) as stream, pytest.raises(StorageUnavailable) as info:
        stream.read()
    assert "s3://b/k" in str(info.value)


def test_public_urls() -> None:
    aws = S3Backend(S3Settings(bucket="media-bucket", prefix="img", region="eu-west-1", **KEYS))
    assert aws.public_url("id/a.jpg") == "https://media-bucket.s3.eu-west-1.amazonaws.com/img/id/a.jpg"
    path_style = S3Backend(S3Settings(bucket="media-bucket", region="eu-west-1", force_path_style=True, **KEYS))
    assert path_style.public_url("id/a.jpg") == "https://s3.eu-west-1.amazonaws.com/media-bucket/id/a.jpg"
    dotted = S3Backend(S3Settings(bucket="media.example.com", region="eu-west-1", **KEYS))
    assert dotted.public_url("id/a.jpg") == "https://s3.eu-west-1.amazonaws.com/media.example.com/id/a.jpg"
    custom = S3Backend(
        S3Settings(bucket="media", endpoint_url="https://s3.example.com:9000/", force_path_style=True, **KEYS)
    )
    assert custom.public_url("id/a.jpg") == "https://s3.example.com:9000/media/id/a.jpg"
    virtual = S3Backend(S3Settings(bucket="media", endpoint_url="https://s3.wasabisys.com", **KEYS))
    assert virtual.public_url("id/a.jpg") == "https://media.s3.wasabisys.com/id/a.jpg"
    cdn = S3Backend(S3Settings(bucket="media", prefix="img", public_url="https://cdn.example.com/img/", **KEYS))
    assert cdn.public_url("id/a.jpg") == "https://cdn.example.com/img/id/a.jpg"


def test_private_public_url_is_presigned() -> None:
    settings = S3Settings(
        bucket="media",
        region="us-east-1",
        access_key_id="AKIDTEST",
        secret_access_key="presign-secret",
        private=True,
        presign_expiry=120,
    )
    url = S3Backend(settings).public_url("id/a.jpg")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["120"] and "X-Amz-Signature" in query
    assert "presign-secret" not in url


def test_settings_configure_the_backend() -> None:
    settings = Settings.from_values(
        {
            "S3_ENDPOINT": "http://127.0.0.1:9",
            "S3_REGION": "eu-central-1",
            "S3_BUCKET": "b-1",
            "S3_PREFIX": "/media/",
            "S3_ACCESS_KEY_ID": "AKID",
            "S3_SECRET_ACCESS_KEY": "secret",
            "S3_FORCE_PATH_STYLE": "yes",
            "S3_SSE": "aws:kms",
            "S3_SSE_KMS_KEY_ID": "kms-key",
            "SHIFTMEDIA_S3_PRIVATE": "1",
            "SHIFTMEDIA_PRESIGN_EXPIRY": "900",
        }
    )
    backend = S3Backend(settings.s3)
    assert (backend.bucket, backend.prefix, backend.region) == ("b-1", "media/", "eu-central-1")
    assert backend.private and backend.presign_expiry == 900
    assert backend.client.meta.endpoint_url == "http://127.0.0.1:9" and not backend.is_aws
    assert backend.client.meta.config.s3["addressing_style"] == "path"
    put = {"Bucket": "b-1", "Key": "media/id/a.jpg", "Body": b"x", "ContentType": "image/jpeg"}
    with Stubber(backend.client) as stubber:
        stubber.add_response("put_object", {}, {**put, "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "kms-key"})
        assert backend.write("id/a.jpg", b"x") is True

    aws = S3Backend(Settings.from_values({"S3_BUCKET": "b-2", "S3_ENDPOINT": "", "S3_FORCE_PATH_STYLE": "false"}).s3)
    assert aws.is_aws and aws.client.meta.endpoint_url.endswith(".amazonaws.com")
    assert aws.client.meta.config.s3["addressing_style"] == "auto" and not aws.private


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"S3_BUCKET": ""},
        {"S3_BUCKET": "b", "S3_FORCE_PATH_STYLE": "maybe"},
        {"S3_BUCKET": "b", "S3_SSE": "rot13"},
        {"S3_BUCKET": "b", "S3_SSE_KMS_KEY_ID": "k"},
        {"S3_BUCKET": "b", "S3_ACCESS_KEY_ID": "only-the-id"},
        {"S3_BUCKET": "b", "SHIFTMEDIA_PRESIGN_EXPIRY": "soon"},
        {"S3_BUCKET": "b", "S3_PREFIX": "../up"},
        {"S3_BUCKET": "b", "AWS_MAX_ATTEMPTS": "0"},
        {"S3_BUCKET": "b", "AWS_RETRY_MODE": "eager"},
    ],
)
def test_bad_settings_are_config_errors(values: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        S3Backend(Settings.from_values(values).s3)


class BrokenAfter(io.RawIOBase):
    """``limit`` bytes, then an error: a client that disconnects mid-upload."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.remaining = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            raise ConnectionResetError("client went away")
        n = min(len(buffer), self.remaining)
        buffer[:n] = b"q" * n
        self.remaining -= n
        return n


@pytest.mark.integration
@pytest.mark.parametrize("if_absent", [False, True])
def test_failed_multipart_upload_is_aborted(
    seaweedfs: SeaweedFS, s3_bucket: str, make_s3_backend: Callable[..., S3Backend], if_absent: bool
) -> None:
    backend = make_s3_backend(
        seaweedfs, s3_bucket, transfer_config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    )
    with pytest.raises(ConnectionResetError):
        backend.write("id/broken.tif", BrokenAfter(17 * MiB), if_absent=if_absent)
    assert backend.exists("id/broken.tif") is False
    assert list(backend.list()) == []
    assert seaweedfs.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


# -- the circuit breaker: a store that does not answer ----------------------------------


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_breaker_closed_open_half_open() -> None:
    clock = FakeClock()
    breaker = Breaker(cooldown=2.0, probe_lease=10.0, clock=clock)
    breaker.allow()
    assert breaker.state == "closed" and breaker.cooling_down() == 0.0

    breaker.failed()  # an attempt timed out
    assert breaker.state == "open" and breaker.trips == 1
    with pytest.raises(CircuitOpen, match="next try in 2.0 s"):
        breaker.allow()
    clock.advance(1.5)
    assert breaker.cooling_down() == pytest.approx(0.5)
    with pytest.raises(CircuitOpen):
        breaker.allow()

    clock.advance(0.5)
    assert breaker.state == "half-open" and breaker.cooling_down() == 0.0
    breaker.allow()  # the probe goes out...
    with pytest.raises(CircuitOpen, match="probe"):
        breaker.allow()  # ...and nothing else meanwhile
    breaker.failed()  # the probe timed out too: a whole cooldown again, and still one trip
    assert breaker.state == "open" and breaker.trips == 1

    clock.advance(2.0)
    breaker.allow()
    clock.advance(10.0)  # a probe that never reported back frees its place after its lease
    breaker.allow()
    breaker.succeeded()
    assert breaker.state == "closed"
    breaker.allow()
    breaker.allow()


def _timeout_inside_a_closed_connection() -> BaseException:
    """What a frozen store gives a large upload: a send that timed out, wrapped by urllib3 and botocore."""
    exc = bce.ConnectionClosedError(endpoint_url="http://127.0.0.1:1")
    exc.__context__ = TimeoutError("timed out")
    return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (bce.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (bce.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (bce.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (_timeout_inside_a_closed_connection(), True),
        (bce.ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), False),  # answered, then reset: retried
        (bce.ClientError({"Error": {"Code": "InternalError"}}, "GetObject"), False),
    ],
)
def test_what_counts_as_unanswered(exc: BaseException, expected: bool) -> None:
    assert unanswered(exc) is expected


@pytest.fixture
def frozen_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections (the kernel's backlog) and never answers: a SIGSTOPped store."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def frozen_backend(endpoint: str, clock: FakeClock, **options: Any) -> S3Backend:
    settings = S3Settings(
        bucket="bucket",
        endpoint_url=endpoint,
        region="us-east-1",
        force_path_style=True,
        connect_timeout=0.5,
        read_timeout=0.5,
        **KEYS,
        **options,
    )
    return S3Backend(settings, breaker=Breaker(clock=clock))


@pytest.mark.parametrize("mode", ["standard", "legacy", "adaptive"])
def test_a_timeout_costs_one_wait_then_calls_fail_fast(frozen_endpoint: str, mode: str) -> None:
    clock = FakeClock()
    backend = frozen_backend(frozen_endpoint, clock, max_attempts=3, retry_mode=mode)
    sent: list[int] = []
    backend.client.meta.events.register("before-send", lambda **_: sent.append(1))  # runs after the breaker's
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="ReadTimeoutError"):
        backend.read("id/a.jpg")
    first = time.monotonic() - started
    assert len(sent) == 1 and first < 1.4, f"{len(sent)} attempts in {first:.2f} s: retried after a timeout"
    assert backend.breaker.state == "open"

    started = time.monotonic()
    for operation in (
        lambda: backend.stat("id/a.jpg"),
        lambda: backend.write("id/b.jpg", b"x", if_absent=True),
        lambda: backend.write("id/c.tif", io.BytesIO(b"y" * 9 * MiB)),  # s3transfer's multipart upload
        lambda: list(backend.list("id/")),
        lambda: backend.delete_prefix("id/"),
        backend.check,
    ):
        with pytest.raises(StorageUnavailable, match="did not answer") as info:
            operation()
        assert "unit-secret-xyz" not in str(info.value)
    rest = time.monotonic() - started
    # No attempt left the process (``sent``); the time only has to stay under six read timeouts (3 s),
    # with room for a loaded machine (9 MiB of test data and s3transfer's threads are set up here too).
    assert len(sent) == 1 and rest < 2.5, f"{len(sent)} attempts, {rest:.2f} s while the breaker was open"

    clock.advance(2.0)  # half-open: the next attempt is the probe, which the frozen store fails again
    with pytest.raises(StorageUnavailable, match="ReadTimeoutError"):
        backend.stat("id/a.jpg")
    assert len(sent) == 2 and backend.breaker.state == "open"


def test_the_probe_or_the_check_closes_the_breaker(moto_aws: None) -> None:
    clock = FakeClock()
    backend = S3Backend(S3Settings(bucket="bucket", region="us-east-1", **KEYS), breaker=Breaker(clock=clock))
    backend.client.create_bucket(Bucket="bucket")
    backend.write("id/a.jpg", b"abc")

    backend.breaker.failed()  # as after a timeout
    for operation in (lambda: backend.read("id/a.jpg"), backend.check):
        with pytest.raises(StorageUnavailable, match="did not answer"):
            operation()
    clock.advance(2.0)
    assert backend.read("id/a.jpg") == b"abc"  # the probe: the store answers
    assert backend.breaker.state == "closed"

    backend.breaker.failed()
    clock.advance(2.0)
    backend.check()  # a readiness probe that reaches the store closes it too
    assert backend.breaker.state == "closed"


def test_check_answers_in_two_seconds_from_a_frozen_store(frozen_endpoint: str) -> None:
    """Data timeouts of 30 s and five attempts do not reach the readiness check."""
    settings = S3Settings(
        bucket="bucket",
        endpoint_url=frozen_endpoint,
        region="us-east-1",
        force_path_style=True,
        connect_timeout=5,
        read_timeout=30,
        max_attempts=5,
        **KEYS,
    )
    backend = S3Backend(settings)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        backend.check()
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"check took {elapsed:.2f} s (1.5 s read timeout, one attempt)"
    config = backend.health_client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (1.0, 1.5)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert backend.client.meta.config.read_timeout == 30
    assert backend.breaker.state == "closed"  # a slow check alone does not open it


def test_a_body_that_stalls_opens_the_breaker() -> None:
    breaker = Breaker()
    with io.BufferedReader(Body(DyingBody(), "b", "k", breaker.observe)) as stream, pytest.raises(StorageUnavailable):
        stream.read()
    assert breaker.state == "open"
