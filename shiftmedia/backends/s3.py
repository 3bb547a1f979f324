"""The S3 backend: originals and derivatives in an S3 or S3-compatible bucket.

One botocore client per backend, created with explicit timeouts and retries,
is shared by every thread (botocore clients are thread-safe). Keys arrive
relative; the backend adds its own prefix, so callers never see it.

Writes are atomic because S3 makes an object visible only when its PUT (or
``CompleteMultipartUpload``) succeeds. ``if_absent`` uses the conditional
header ``If-None-Match: *`` on that final request, which the store evaluates
atomically: of two racing writers exactly one wins. A HEAD-then-PUT fallback
would not be atomic, so there is none; a store that ignores the header would
silently overwrite (AWS S3, MinIO and SeaweedFS 4.48 all honour it).

Every botocore, s3transfer and urllib3 failure is translated into the
exceptions of :mod:`shiftmedia.errors`; messages name the bucket, key and
operation but never credentials.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO, NoReturn, TypeVar
from urllib.parse import quote, urlsplit

import boto3
import botocore.exceptions as bce
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from ..errors import (
    AccessDenied,
    ConfigError,
    InvalidKey,
    LimitExceeded,
    NotFound,
    ShiftMediaError,
    StorageError,
    StorageUnavailable,
)
from .base import Backend, ObjectInfo, check_key, check_prefix, content_type_for

try:  # urllib3 is a dependency of botocore; its errors can surface from a streamed body.
    from urllib3.exceptions import HTTPError as _Urllib3Error
except ImportError:  # pragma: no cover - botocore always installs urllib3
    _Urllib3Error = OSError  # type: ignore[assignment,misc]

__all__ = ["S3Backend"]

T = TypeVar("T")

MiB = 1024 * 1024
#: Objects up to this size are sent in one PUT; larger ones as a multipart upload.
DEFAULT_MULTIPART_THRESHOLD = 8 * MiB
#: ``DeleteObjects`` accepts at most this many keys per request.
DELETE_BATCH = 1000

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_DENIED_CODES = frozenset(
    {
        "403",
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "AccountProblem",
    }
)
_UNAVAILABLE_CODES = frozenset(
    {
        "500",
        "502",
        "503",
        "504",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
    }
)
_CONFLICT_CODES = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    bce.EndpointConnectionError,
    bce.ConnectTimeoutError,
    bce.ReadTimeoutError,
    bce.ConnectionClosedError,
    bce.ConnectionError,
    bce.HTTPClientError,
    bce.IncompleteReadError,
    _Urllib3Error,
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _error_code(exc: bce.ClientError) -> tuple[str, int]:
    """The S3 error code and HTTP status of a ``ClientError``."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return str(error.get("Code", status)), int(status or 0)


def _is_conflict(exc: bce.ClientError) -> bool:
    """True for the answers to a failed ``If-None-Match: *``: 412, or 409 for a racing write."""
    code, status = _error_code(exc)
    return code in _CONFLICT_CODES or status in (409, 412)


class _Body(io.RawIOBase):
    """A GET response body whose transport errors become :class:`StorageUnavailable`.

    botocore's ``StreamingBody`` raises botocore and urllib3 exceptions while
    it is read (a timeout or a reset in the middle of an object); callers of
    :meth:`S3Backend.open` must only ever see shiftmedia's exceptions.
    """

    def __init__(self, body: Any, describe: str) -> None:
        super().__init__()
        self._body = body
        self._describe = describe

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            chunk = self._body.read(len(buffer))
        except _UNAVAILABLE_ERRORS as exc:
            raise StorageUnavailable(f"reading {self._describe} failed: {type(exc).__name__}") from None
        except bce.BotoCoreError as exc:
            raise StorageError(f"reading {self._describe} failed: {type(exc).__name__}") from None
        n = len(chunk)
        buffer[:n] = chunk
        return n

    def close(self) -> None:
        if not self.closed:
            # Closing a dead connection must not mask the caller's result.
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class _Prepended(io.RawIOBase):
    """``head`` followed by the rest of ``stream``: replays what was read to size the object."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        chunk = self._stream.read(len(buffer))
        n = len(chunk or b"")
        buffer[:n] = chunk or b""
        return n


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """Read until ``size`` bytes or end of stream (``read`` may return short)."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _parse_bool(name: str, value: str | None) -> bool:
    """Read a boolean environment value; :class:`ConfigError` for anything else."""
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


class S3Backend(Backend):
    """Objects in ``bucket`` under ``prefix``, through one shared boto3 client.

    ``endpoint_url`` selects an S3-compatible store (MinIO, SeaweedFS, R2, B2,
    Wasabi); ``None`` means AWS. Without ``access_key_id``/``secret_access_key``
    boto3's default chain applies (environment, shared files, instance role).
    ``public_url`` is the base URL that serves this backend's prefix (a CDN or
    website endpoint); without it :meth:`public_url` builds the bucket's own
    URL. ``private`` makes :meth:`public_url` return presigned GET URLs valid
    for ``presign_expiry`` seconds. ``transfer_config`` tunes multipart
    uploads (threshold, part size, concurrency).
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        force_path_style: bool = False,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
        public_url: str | None = None,
        private: bool = False,
        presign_expiry: int = 3600,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        max_attempts: int = 3,
        transfer_config: TransferConfig | None = None,
    ) -> None:
        if not bucket:
            raise ConfigError("an S3 bucket name is required")
        if bool(access_key_id) != bool(secret_access_key):
            raise ConfigError("set both the S3 access key id and secret access key, or neither")
        if sse not in (None, "", "AES256", "aws:kms"):
            raise ConfigError(f"S3 server-side encryption must be AES256 or aws:kms, not {sse!r}")
        if sse_kms_key_id and sse != "aws:kms":
            raise ConfigError("an SSE KMS key id needs server-side encryption aws:kms")
        if presign_expiry < 1 or presign_expiry > 7 * 24 * 3600:
            raise ConfigError("the presigned URL expiry must be between 1 second and 7 days")
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        stripped = prefix.strip("/")
        self.bucket = bucket
        try:
            self.prefix = check_prefix(stripped + "/") if stripped else ""
        except InvalidKey:
            raise ConfigError(f"invalid S3 prefix {prefix!r}") from None
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.force_path_style = force_path_style
        self.private = private
        self.presign_expiry = presign_expiry
        self._public_base = public_url.rstrip("/") if public_url else None
        self._sse_args: dict[str, str] = {}
        if sse:
            self._sse_args["ServerSideEncryption"] = sse
        if sse_kms_key_id:
            self._sse_args["SSEKMSKeyId"] = sse_kms_key_id
        self._transfer = transfer_config or TransferConfig(
            multipart_threshold=DEFAULT_MULTIPART_THRESHOLD,
            multipart_chunksize=DEFAULT_MULTIPART_THRESHOLD,
            max_concurrency=4,
            max_io_queue=100,
        )
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "max_attempts": max_attempts},
            s3={"addressing_style": "path" if force_path_style else "auto"},
            signature_version="s3v4",
            max_pool_connections=max(10, self._transfer.max_request_concurrency + 4),
            # Several S3-compatible stores reject the aws-chunked trailing
            # checksums that botocore >= 1.36 sends by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session()
        try:
            self._client = session.client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=region or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                config=config,
            )
        except (ValueError, bce.BotoCoreError) as exc:
            raise ConfigError(f"invalid S3 configuration: {type(exc).__name__}") from None
        self.region = self._client.meta.region_name or "us-east-1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> S3Backend:
        """Build a backend from the ``S3_*`` and ``SHIFTMEDIA_*`` variables in ``environ``."""

        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        bucket = get("S3_BUCKET")
        if not bucket:
            raise ConfigError("S3_BUCKET is required for the S3 backend")
        expiry_text = get("SHIFTMEDIA_PRESIGN_EXPIRY")
        try:
            expiry = int(expiry_text) if expiry_text else 3600
        except ValueError:
            raise ConfigError(f"SHIFTMEDIA_PRESIGN_EXPIRY must be a number of seconds, not {expiry_text!r}") from None
        return cls(
            bucket,
            prefix=get("S3_PREFIX") or "",
            endpoint_url=get("S3_ENDPOINT"),
            region=get("S3_REGION"),
            access_key_id=get("S3_ACCESS_KEY_ID"),
            secret_access_key=get("S3_SECRET_ACCESS_KEY"),
            force_path_style=_parse_bool("S3_FORCE_PATH_STYLE", environ.get("S3_FORCE_PATH_STYLE")),
            sse=get("S3_SSE"),
            sse_kms_key_id=get("S3_SSE_KMS_KEY_ID"),
            public_url=get("SHIFTMEDIA_PUBLIC_URL"),
            private=_parse_bool("SHIFTMEDIA_S3_PRIVATE", environ.get("SHIFTMEDIA_S3_PRIVATE")),
            presign_expiry=expiry,
        )

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})"

    @property
    def client(self) -> Any:
        """The underlying boto3 S3 client (for tests and advanced use)."""
        return self._client

    # -- helpers ---------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _raise(self, exc: BaseException, operation: str, key: str | None = None) -> NoReturn:
        """Translate a botocore/boto3/urllib3 failure into a shiftmedia exception."""
        raise self.translate(exc, operation, key) from None

    def translate(self, exc: BaseException, operation: str, key: str | None) -> ShiftMediaError:
        """The shiftmedia exception for a botocore/boto3/urllib3 failure of ``operation``."""
        where = f"s3://{self.bucket}/{self.prefix}{key}" if key is not None else f"bucket {self.bucket!r}"
        cause: BaseException | None = exc
        while cause is not None:  # boto3 wraps s3transfer failures; find the S3 answer inside.
            if isinstance(cause, bce.ClientError):
                exc = cause
                break
            cause = cause.__cause__ or cause.__context__
        if isinstance(exc, bce.ClientError):
            code, status = _error_code(exc)
            if code == "NoSuchBucket":
                return StorageError(f"S3 bucket {self.bucket!r} does not exist ({operation})")
            if code in _NOT_FOUND_CODES or status == 404:
                return NotFound(f"no object at {where}")
            if code in _DENIED_CODES or status == 403:
                return AccessDenied(f"S3 denied {operation} on {where} ({code})")
            if code in _UNAVAILABLE_CODES or status >= 500:
                return StorageUnavailable(f"S3 {operation} on {where} failed: {code}")
            return StorageError(f"S3 {operation} on {where} failed: {code}")
        if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
            return AccessDenied(f"no S3 credentials available for {operation} on {where}")
        if isinstance(exc, _UNAVAILABLE_ERRORS):
            return StorageUnavailable(f"S3 {operation} on {where}: store unreachable ({type(exc).__name__})")
        return StorageError(f"S3 {operation} on {where} failed ({type(exc).__name__})")

    def call(self, operation: str, key: str | None, fn: Callable[..., T], **kwargs: Any) -> T:
        """Run one client call; every library exception leaves as a shiftmedia one."""
        try:
            return fn(**kwargs)
        except (bce.BotoCoreError, bce.ClientError, Boto3Error, _Urllib3Error) as exc:
            self._raise(exc, operation, key)

    def _info(self, key: str, size: int, etag: str, modified: Any, content_type: str | None) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=int(size),
            etag=(etag or "").strip('"'),
            modified=modified.timestamp() if modified is not None else 0.0,
            content_type=content_type or content_type_for(key),
        )

    def _put_args(self, key: str, content_type: str | None, cache_control: str | None) -> dict[str, str]:
        args = {"ContentType": content_type or content_type_for(key), **self._sse_args}
        if cache_control:
            args["CacheControl"] = cache_control
        return args

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
        full = self._full(key)
        head = self.call("stat", key, self._client.head_object, Bucket=self.bucket, Key=full)
        return self._info(
            key, head["ContentLength"], head.get("ETag", ""), head.get("LastModified"), head.get("ContentType")
        )

    def _get(self, key: str) -> dict[str, Any]:
        return self.call("open", key, self._client.get_object, Bucket=self.bucket, Key=self._full(key))

    def open(self, key: str) -> BinaryIO:
        """The object's body, streamed from a GET; nothing is buffered beyond one read."""
        response = self._get(key)
        raw = _Body(response["Body"], f"s3://{self.bucket}/{self.prefix}{key}")
        return io.BufferedReader(raw, buffer_size=256 * 1024)  # type: ignore[return-value]

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        """The whole object; refuses an over-long one from its Content-Length before downloading."""
        response = self._get(key)
        raw = _Body(response["Body"], f"s3://{self.bucket}/{self.prefix}{key}")
        with io.BufferedReader(raw, buffer_size=256 * 1024) as stream:
            if max_bytes is None:
                return stream.read()
            if int(response.get("ContentLength", 0)) > max_bytes:
                raise LimitExceeded(f"object is larger than {max_bytes} bytes")
            data = stream.read(max_bytes + 1)
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

        Small bodies (under the multipart threshold) are read into memory and
        sent with ``PutObject``. Larger file objects are streamed part by part,
        through s3transfer when unconditional, and through our own multipart
        upload when ``if_absent`` (s3transfer does not pass ``IfNoneMatch``), with
        the condition on ``CompleteMultipartUpload``. A failed or interrupted
        upload is aborted, so no partial object ever becomes visible.
        """
        full = self._full(key)
        args = self._put_args(key, content_type, cache_control)
        stream: BinaryIO = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        threshold = self._transfer.multipart_threshold
        head = _read_up_to(stream, threshold + 1)
        if len(head) <= threshold:
            return self._put(key, full, head, args, if_absent)
        rest = io.BufferedReader(_Prepended(head, stream), buffer_size=1024 * 1024)
        if if_absent:
            return self._multipart_if_absent(key, full, rest, args)
        self.call(
            "write",
            key,
            self._client.upload_fileobj,
            Fileobj=rest,
            Bucket=self.bucket,
            Key=full,
            ExtraArgs=args,
            Config=self._transfer,
        )
        return True

    def _put(self, key: str, full: str, body: bytes, args: dict[str, str], if_absent: bool) -> bool:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": full, "Body": body, **args}
        if if_absent:
            kwargs["IfNoneMatch"] = "*"
        try:
            self._client.put_object(**kwargs)
        except bce.ClientError as exc:
            if if_absent and _is_conflict(exc):
                return False
            self._raise(exc, "write", key)
        except (bce.BotoCoreError, _Urllib3Error) as exc:
            self._raise(exc, "write", key)
        return True

    def _multipart_if_absent(self, key: str, full: str, stream: BinaryIO, args: dict[str, str]) -> bool:
        """A sequential multipart upload completed with ``If-None-Match: *``.

        Parts are read one at a time, so memory stays at one part size. Any
        failure, including the caller's stream raising, aborts the upload.
        """
        upload = self.call("write", key, self._client.create_multipart_upload, Bucket=self.bucket, Key=full, **args)
        upload_id = upload["UploadId"]
        part_size = max(self._transfer.multipart_chunksize, 5 * MiB)
        parts: list[dict[str, Any]] = []
        completed = False
        try:
            number = 1
            while True:
                chunk = _read_up_to(stream, part_size)
                if not chunk and parts:
                    break
                answer = self.call(
                    "write",
                    key,
                    self._client.upload_part,
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                number += 1
                if len(chunk) < part_size:
                    break
            try:
                self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
            except bce.ClientError as exc:
                if _is_conflict(exc):
                    return False
                self._raise(exc, "write", key)
            except (bce.BotoCoreError, _Urllib3Error) as exc:
                self._raise(exc, "write", key)
            completed = True
            return True
        finally:
            if not completed:
                self._abort(full, upload_id)

    def _abort(self, full: str, upload_id: str) -> None:
        """Best-effort abort of an unfinished upload; its parts are never visible as an object."""
        with contextlib.suppress(bce.BotoCoreError, bce.ClientError, _Urllib3Error):
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)

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
        for page in self._pages(full, "delete_prefix", prefix):
            keys = [item["Key"] for item in page.get("Contents") or []]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start : start + DELETE_BATCH]
                answer = self.call(
                    "delete_prefix",
                    prefix,
                    self._client.delete_objects,
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
                errors = answer.get("Errors") or []
                if errors:
                    codes = sorted({str(e.get("Code")) for e in errors})
                    if any(c in _DENIED_CODES for c in codes):
                        raise AccessDenied(f"S3 denied deleting {len(errors)} objects under {prefix!r}")
                    raise StorageError(
                        f"S3 failed to delete {len(errors)} objects under {prefix!r}: {', '.join(codes)}"
                    )
                count += len(batch)
        return count

    # -- listing ---------------------------------------------------------------

    def _pages(
        self, full_prefix: str, operation: str, key: str | None, delimiter: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The ``list_objects_v2`` pages under ``full_prefix``, with every failure translated."""
        paginator = self._client.get_paginator("list_objects_v2")
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full_prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        iterator = iter(paginator.paginate(**params))
        while True:
            try:
                page = next(iterator)
            except StopIteration:
                return
            except (bce.BotoCoreError, bce.ClientError, _Urllib3Error) as exc:
                self._raise(exc, operation, key)
            yield page

    def _walk(self, full_prefix: str, key: str | None) -> Iterator[dict[str, Any]]:
        """Listing entries under ``full_prefix`` in byte order of their keys, one folder at a time.

        A flat listing is in byte order on AWS but not on every S3-compatible
        store: SeaweedFS walks its directory tree, so ``a/1.jpg`` comes before
        ``a-b/c.jpg`` although ``-`` sorts before ``/``. Listing each level with
        ``Delimiter='/'`` and sorting that level's files and sub-folders
        together gives the true key order everywhere, holding only one
        folder's names in memory at a time.
        """
        level: list[tuple[str, dict[str, Any] | None]] = []
        for page in self._pages(full_prefix, "list", key, delimiter="/"):
            level.extend((item["Key"], item) for item in page.get("Contents") or [])
            level.extend((sub["Prefix"], None) for sub in page.get("CommonPrefixes") or [])
        level.sort(key=lambda entry: entry[0])
        for name, item in level:
            if item is None:
                if name != full_prefix:
                    yield from self._walk(name, key)
            elif not name.endswith("/"):  # folder markers some tools create; never a valid key
                yield item

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, keys relative to the backend prefix, in key order."""
        full = self.prefix + (check_prefix(prefix) if prefix else "")
        for item in self._walk(full, prefix or None):
            name = item["Key"][len(self.prefix) :]
            yield self._info(name, item.get("Size", 0), item.get("ETag", ""), item.get("LastModified"), None)

    # -- URLs and health -------------------------------------------------------

    def public_url(self, key: str) -> str:
        """A presigned GET when ``private``; else ``public_url`` + key, or the bucket's own URL."""
        full = self._full(key)
        if self.private:
            return self.call(
                "presign",
                key,
                self._client.generate_presigned_url,
                ClientMethod="get_object",
                Params={"Bucket": self.bucket, "Key": full},
                ExpiresIn=self.presign_expiry,
            )
        if self._public_base:
            return f"{self._public_base}/{quote(key)}"
        return self._bucket_url() + quote(full)

    def _bucket_url(self) -> str:
        """The bucket's base URL, ending in ``/``: virtual-host style unless path style is asked."""
        virtual = not self.force_path_style and "." not in self.bucket
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            path = parts.path.rstrip("/")
            if virtual:
                return f"{parts.scheme}://{self.bucket}.{parts.netloc}{path}/"
            return f"{parts.scheme}://{parts.netloc}{path}/{self.bucket}/"
        host = f"s3.{self.region}.amazonaws.com"
        if virtual:
            return f"https://{self.bucket}.{host}/"
        return f"https://{host}/{self.bucket}/"

    def check(self) -> None:
        """HEAD the bucket: raises unless it exists and the credentials may use it."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except bce.ClientError as exc:
            code, status = _error_code(exc)
            if code in ("NoSuchBucket", "404", "NotFound") or status == 404:
                raise StorageError(f"S3 bucket {self.bucket!r} does not exist") from None
            self._raise(exc, "check", None)
        except (bce.BotoCoreError, _Urllib3Error) as exc:
            self._raise(exc, "check", None)
