"""From botocore, boto3 and urllib3 failures to the exceptions of :mod:`shiftmedia.errors`.

:func:`translate` is the one place that decides what a failure means: S3
error codes and HTTP statuses are sorted into tables (missing object, denied,
store unavailable, conditional-write conflict), transport failures mean the
store is unreachable, and so does an attempt the circuit breaker refused
(:class:`~.breaker.CircuitOpen`). :func:`request`, :func:`conditional` and :func:`matching`
run one client call through it, so nothing else in the backend catches library exceptions by
hand. Messages name the bucket, key and operation, never credentials: they
are built from those and from error codes and class names only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import botocore.exceptions as bce
from boto3.exceptions import Boto3Error
from urllib3.exceptions import HTTPError as Urllib3Error

from ...errors import AccessDenied, NotFound, ObjectChanged, ShiftMediaError, StorageError, StorageUnavailable
from .breaker import CircuitOpen

T = TypeVar("T")

#: Every exception a client call, a transfer or a streamed body may raise (the breaker's refusal included).
LIBRARY_ERRORS: tuple[type[Exception], ...] = (
    bce.BotoCoreError,
    bce.ClientError,
    Boto3Error,
    Urllib3Error,
    CircuitOpen,
)

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
DENIED_CODES = frozenset(
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
UNAVAILABLE_CODES = frozenset(
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
#: The answers to a failed ``If-None-Match: *``: 412, or 409 when another write races.
CONFLICT_CODES = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})
#: Transport failures: the store did not answer, or the connection broke mid-answer.
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (
    bce.EndpointConnectionError,
    bce.ConnectTimeoutError,
    bce.ReadTimeoutError,
    bce.ConnectionClosedError,
    bce.ConnectionError,
    bce.HTTPClientError,
    bce.IncompleteReadError,
    Urllib3Error,
)


def error_code(exc: bce.ClientError) -> tuple[str, int]:
    """The S3 error code and HTTP status of a ``ClientError`` (a bodiless HEAD answer has its status as code)."""
    error: Mapping[str, Any] = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return str(error.get("Code", status)), int(status or 0)


def is_conflict(exc: BaseException) -> bool:
    """True when ``exc`` is the store refusing a conditional write because the object exists."""
    if not isinstance(exc, bce.ClientError):
        return False
    code, status = error_code(exc)
    return code in CONFLICT_CODES or status in (409, 412)


def is_replaced(exc: BaseException) -> bool:
    """True when ``exc`` is the store refusing a read whose ``If-Match`` no longer names the object (412)."""
    if not isinstance(exc, bce.ClientError):
        return False
    code, status = error_code(exc)
    return code == "PreconditionFailed" or status == 412


def translate(exc: BaseException, operation: str, bucket: str, key: str | None) -> ShiftMediaError:
    """The shiftmedia exception for a failure of ``operation`` on ``key`` (full key; ``None``: the bucket).

    A bodiless 404 to a request about the bucket itself (``HeadBucket``)
    means the bucket is missing, which is a :class:`StorageError`, never a
    :class:`NotFound`: a missing bucket is a configuration fault, not a
    missing image.
    """
    where = f"s3://{bucket}/{key}" if key is not None else f"bucket {bucket!r}"
    cause: BaseException | None = exc
    while cause is not None:  # boto3 wraps s3transfer failures; find the S3 answer inside.
        if isinstance(cause, bce.ClientError):
            exc = cause
            break
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, bce.ClientError):
        code, status = error_code(exc)
        if code == "NoSuchBucket" or (key is None and code in NOT_FOUND_CODES):
            return StorageError(f"S3 bucket {bucket!r} does not exist")
        if code in NOT_FOUND_CODES or status == 404:
            return NotFound(f"no object at {where}")
        if code in DENIED_CODES or status == 403:
            return AccessDenied(f"S3 denied {operation} on {where} ({code})")
        if code in UNAVAILABLE_CODES or status >= 500:
            return StorageUnavailable(f"S3 {operation} on {where} failed: {code}")
        return StorageError(f"S3 {operation} on {where} failed: {code}")
    if isinstance(exc, CircuitOpen):  # its message is ours: why, and for how long
        return StorageUnavailable(f"S3 {operation} on {where}: {exc}")
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return AccessDenied(f"no S3 credentials available for {operation} on {where}")
    if isinstance(exc, UNREACHABLE_ERRORS):
        return StorageUnavailable(f"S3 {operation} on {where}: store unreachable ({type(exc).__name__})")
    return StorageError(f"S3 {operation} on {where} failed ({type(exc).__name__})")


def translate_batch(errors: Iterable[Mapping[str, Any]], operation: str, bucket: str, key: str) -> ShiftMediaError:
    """The exception for the per-key ``Errors`` of a ``DeleteObjects`` answer (the request itself succeeded)."""
    failed = list(errors)
    codes = sorted({str(error.get("Code")) for error in failed})
    where = f"s3://{bucket}/{key}"
    if any(code in DENIED_CODES for code in codes):
        return AccessDenied(f"S3 denied {operation} of {len(failed)} objects under {where}")
    return StorageError(f"S3 {operation} failed for {len(failed)} objects under {where}: {', '.join(codes)}")


def request(operation: str, bucket: str, key: str | None, fn: Callable[..., T], **kwargs: Any) -> T:
    """``fn(**kwargs)``, one client call; every library exception leaves as a shiftmedia one."""
    try:
        return fn(**kwargs)
    except LIBRARY_ERRORS as exc:
        raise translate(exc, operation, bucket, key) from None


def conditional(operation: str, bucket: str, key: str, fn: Callable[..., object], **kwargs: Any) -> bool:
    """Like :func:`request` for a call carrying ``If-None-Match: *``: ``False`` when the object exists."""
    try:
        fn(**kwargs)
    except LIBRARY_ERRORS as exc:
        if is_conflict(exc):
            return False
        raise translate(exc, operation, bucket, key) from None
    return True


def matching(operation: str, bucket: str, key: str, fn: Callable[..., T], **kwargs: Any) -> T:
    """Like :func:`request` for a read carrying ``If-Match``: :class:`ObjectChanged` when the object was replaced."""
    try:
        return fn(**kwargs)
    except LIBRARY_ERRORS as exc:
        if is_replaced(exc):
            raise ObjectChanged(f"s3://{bucket}/{key} was replaced while it was read") from None
        raise translate(exc, operation, bucket, key) from None
