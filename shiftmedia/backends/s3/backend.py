"""The S3 backend: originals and derivatives in an S3 or S3-compatible bucket.

One botocore client per backend (see :mod:`.client`) is shared by every
thread; botocore clients are thread-safe. Keys arrive relative; the backend
adds its own prefix, so callers never see it.

Writes are atomic because S3 makes an object visible only when its PUT (or
``CompleteMultipartUpload``) succeeds. ``if_absent`` uses the conditional
header ``If-None-Match: *`` on that final request, which the store evaluates
atomically: of two racing writers exactly one wins. A HEAD-then-PUT fallback
would not be atomic, so there is none; a store that ignores the header would
silently overwrite (AWS S3, MinIO and SeaweedFS 4.48 all honour it).

Every library failure leaves as an exception of :mod:`shiftmedia.errors`,
translated in one place (:mod:`.errors`).

A hung store must not hang requests: after one attempt timed out, the
circuit breaker (:mod:`.breaker`) fails every call fast for a moment, and
:meth:`S3Backend.check` answers in about two seconds (:mod:`.health`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import quote

import boto3
from boto3.s3.transfer import TransferConfig

from ...errors import ConfigError, InvalidKey, LimitExceeded, NotFound, ShiftMediaError
from ...settings import S3Settings, is_aws_endpoint
from ..base import Backend, ObjectInfo, check_key, check_prefix, content_type_for
from . import errors, listing, multipart
from .breaker import Breaker
from .client import bucket_url, make_client
from .health import HealthCheck
from .ranged import Ranged
from .streams import Body, Prepended, buffered, read_up_to

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

T = TypeVar("T")

MiB = 1024 * 1024
#: Objects up to this size are sent in one PUT; larger ones as a multipart upload.
DEFAULT_MULTIPART_THRESHOLD = 8 * MiB
#: ``DeleteObjects`` accepts at most this many keys per request.
DELETE_BATCH = 1000
#: Read buffer of a downloaded body.
READ_BUFFER = 256 * 1024


class S3Backend(Backend):
    """Objects in ``settings.bucket`` under ``settings.prefix``, through one shared boto3 client.

    ``settings.public_url`` is the base URL that serves the prefix (a CDN or
    website endpoint); without it :meth:`public_url` gives the bucket's own URL
    through the client's endpoint. ``settings.private`` makes :meth:`public_url`
    a presigned GET valid ``settings.presign_expiry`` seconds. ``transfer_config``
    tunes multipart uploads (threshold, part size, concurrency); ``breaker``
    replaces the default circuit breaker (another cooldown, a test clock).
    """

    def __init__(
        self, settings: S3Settings, *, transfer_config: TransferConfig | None = None, breaker: Breaker | None = None
    ) -> None:
        if not settings.bucket:
            raise ConfigError("S3_BUCKET is required for the S3 backend")
        stripped = settings.prefix.strip("/")
        try:
            self.prefix = check_prefix(stripped + "/") if stripped else ""
        except InvalidKey:
            raise ConfigError(f"S3_PREFIX is not a valid key prefix: {settings.prefix!r}") from None
        self.settings = settings
        self.bucket: str = settings.bucket
        self.private = settings.private
        self.presign_expiry = settings.presign_expiry
        self._public_base = settings.public_url.rstrip("/") if settings.public_url else None
        sse = {"ServerSideEncryption": settings.sse, "SSEKMSKeyId": settings.sse_kms_key_id}
        self._sse_args = {name: value for name, value in sse.items() if value}
        self._transfer = transfer_config or TransferConfig(
            multipart_threshold=DEFAULT_MULTIPART_THRESHOLD,
            multipart_chunksize=DEFAULT_MULTIPART_THRESHOLD,
            max_concurrency=4,
            max_io_queue=100,
        )
        pool = max(10, self._transfer.max_request_concurrency + 4)
        session = boto3.session.Session()
        self._client = make_client(settings, max_pool_connections=pool, session=session)
        self.breaker = breaker or Breaker(probe_lease=settings.connect_timeout + settings.read_timeout + 1)
        self.breaker.attach(self._client.meta.events)
        self._health = HealthCheck(settings, self.bucket, self.breaker, session)
        self.region: str = self._client.meta.region_name or "us-east-1"
        self._bucket_url = bucket_url(self._client.meta.endpoint_url, self.bucket, path_style=settings.force_path_style)

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self._client.meta.endpoint_url!r})"

    @property
    def client(self) -> S3Client:
        """The underlying boto3 S3 client (for bucket set-up, tests and advanced use)."""
        return self._client

    @property
    def health_client(self) -> S3Client:
        """The client :meth:`check` sends through: short timeouts, one attempt."""
        return self._health.client

    @property
    def is_aws(self) -> bool:
        """True when the client talks to AWS S3 itself, not to an S3-compatible store.

        Read from the endpoint botocore resolved, so it holds however the
        endpoint was given (``S3_ENDPOINT=https://s3.amazonaws.com``, none at all,
        or botocore's own ``AWS_ENDPOINT_URL`` and config files).
        """
        return is_aws_endpoint(self._client.meta.endpoint_url)

    # -- helpers ---------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def translate(self, exc: BaseException, operation: str, key: str | None) -> ShiftMediaError:
        """The shiftmedia exception for a library failure of ``operation`` on ``key`` (``None``: the bucket)."""
        return errors.translate(exc, operation, self.bucket, None if key is None else self.prefix + key)

    def call(self, operation: str, key: str | None, fn: Callable[..., T], **kwargs: Any) -> T:
        """Run one client call; every library exception leaves as a shiftmedia one."""
        return errors.request(operation, self.bucket, None if key is None else self.prefix + key, fn, **kwargs)

    def _put_args(self, key: str, content_type: str | None, cache_control: str | None) -> dict[str, str]:
        args = {"ContentType": content_type or content_type_for(key), **self._sse_args}
        return {**args, "CacheControl": cache_control} if cache_control else args

    # -- reading ---------------------------------------------------------------

    def exists(self, key: str) -> bool:
        """HEAD the object. A missing bucket also answers 404 to HEAD, so it reads as absent here."""
        try:
            self.stat(key)
        except NotFound:
            return False
        return True

    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag, modification time and content type from a HEAD request."""
        head = self.call("stat", key, self._client.head_object, Bucket=self.bucket, Key=self._full(key))
        return listing.info(
            key, head["ContentLength"], head.get("ETag", ""), head.get("LastModified"), head.get("ContentType")
        )

    def _get(self, key: str) -> tuple[BinaryIO, int]:
        """The object's body, buffered and guarded, and its Content-Length."""
        full = self._full(key)
        response = self.call("open", key, self._client.get_object, Bucket=self.bucket, Key=full)
        body = buffered(Body(response["Body"], self.bucket, full, self.breaker.observe), READ_BUFFER)
        return body, int(response.get("ContentLength", 0))

    def open(self, key: str) -> BinaryIO:
        """The object's body, streamed from a GET; nothing is buffered beyond one read."""
        return self._get(key)[0]

    def open_seekable(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        """The info from a HEAD, and a stream of ranged GETs of that version, sent as it is read (:mod:`.ranged`)."""
        info = self.stat(key)
        raw = Ranged(self._client, self.bucket, self._full(key), info.size, info.etag, self.breaker.observe)
        return buffered(raw, READ_BUFFER), info

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        """The whole object; refuses an over-long one from its Content-Length before downloading."""
        body, length = self._get(key)
        with body:
            if max_bytes is None:
                return body.read()
            if length > max_bytes:
                raise LimitExceeded(f"object is larger than {max_bytes} bytes")
            data = body.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise LimitExceeded(f"object is larger than {max_bytes} bytes")
        return data

    # -- writing ---------------------------------------------------------------

    def write(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
        if_absent: bool = False,
    ) -> bool:
        """Store ``data``: one PUT when small, a multipart upload when large.

        Small bodies (up to the multipart threshold) are read into memory and
        sent with ``PutObject``. Larger file objects are streamed part by part,
        through s3transfer when unconditional, and through :mod:`.multipart`
        when ``if_absent`` (s3transfer does not pass ``IfNoneMatch``). A failed
        or interrupted upload is aborted, so no partial object ever becomes visible.
        """
        full = self._full(key)
        args = self._put_args(key, content_type, cache_control)
        stream: BinaryIO = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        threshold = self._transfer.multipart_threshold
        head = read_up_to(stream, threshold + 1)
        if len(head) <= threshold:
            put: dict[str, Any] = {"Bucket": self.bucket, "Key": full, "Body": head, **args}
            if if_absent:
                return errors.conditional("write", self.bucket, full, self._client.put_object, IfNoneMatch="*", **put)
            self.call("write", key, self._client.put_object, **put)
            return True
        rest = buffered(Prepended(head, stream), MiB)
        if if_absent:
            part_size = self._transfer.multipart_chunksize
            return multipart.upload_if_absent(self._client, self.bucket, full, rest, args, part_size)
        upload = {"Fileobj": rest, "Bucket": self.bucket, "Key": full, "ExtraArgs": args, "Config": self._transfer}
        self.call("write", key, self._client.upload_fileobj, **upload)
        return True

    # -- deleting --------------------------------------------------------------

    def delete(self, key: str) -> bool:
        """Remove one object. S3 answers 204 either way, so a HEAD tells whether it existed."""
        full = self._full(key)
        existed = self.exists(key)
        self.call("delete", key, self._client.delete_object, Bucket=self.bucket, Key=full)
        return existed

    def delete_prefix(self, prefix: str) -> int:
        """Delete everything under ``prefix`` page by page (1,000 keys per ``DeleteObjects``)."""
        full = self.prefix + check_prefix(prefix)
        count = 0
        for page in listing.pages(self._client, self.bucket, full, "delete_prefix"):
            keys = [item["Key"] for item in page.get("Contents") or []]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start : start + DELETE_BATCH]
                delete = {"Objects": [{"Key": k} for k in batch], "Quiet": True}
                answer = self.call(
                    "delete_prefix", prefix, self._client.delete_objects, Bucket=self.bucket, Delete=delete
                )
                if answer.get("Errors"):
                    raise errors.translate_batch(answer["Errors"], "delete_prefix", self.bucket, full)
                count += len(batch)
        return count

    # -- listing ---------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, keys relative to the backend prefix, in key order."""
        full = self.prefix + (check_prefix(prefix) if prefix else "")
        for item in listing.walk(self._client, self.bucket, full):
            name = item["Key"][len(self.prefix) :]
            yield listing.info(name, item.get("Size", 0), item.get("ETag", ""), item.get("LastModified"), None)

    # -- URLs and health -------------------------------------------------------

    def public_url(self, key: str) -> str:
        """A presigned GET when ``private``; else ``public_url`` + key, or the bucket's own URL."""
        full = self._full(key)
        if self.private:
            return self.signed_url(key, self.presign_expiry)
        if self._public_base:
            return f"{self._public_base}/{quote(key)}"
        return self._bucket_url + quote(full)

    def signed_url(self, key: str, expires: int) -> str:
        """A presigned GET of ``key``, valid ``expires`` seconds (signed locally: no request is made)."""
        return self.call(
            "presign",
            key,
            self._client.generate_presigned_url,
            ClientMethod="get_object",
            Params={"Bucket": self.bucket, "Key": self._full(key)},
            ExpiresIn=expires,
        )

    def check(self) -> None:
        """HEAD the bucket: raises unless it exists and the credentials may use it; answers in about 2 s.

        Fails at once while the breaker is open (see :mod:`.health`).
        """
        self._health()
