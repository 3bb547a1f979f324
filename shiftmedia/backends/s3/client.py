"""The boto3 client an :class:`~shiftmedia.backends.s3.S3Backend` talks through, and its bucket URL.

Everything about the connection comes from :class:`~shiftmedia.settings.S3Settings`:
explicit timeouts and retries (a dead store must fail in seconds, not
minutes: the connect timeout bounds reaching the store, the read timeout each
wait for an answer, which is the one that fires on a frozen store, since its
kernel still accepts connections), path or virtual-host addressing, and checksums only where S3
requires them, because several S3-compatible stores reject the aws-chunked
trailing checksums botocore sends by default since 1.36. An AWS endpoint
(``https://s3.amazonaws.com``) means AWS in the region's own endpoint, so
botocore resolves it; credentials and region left unset fall back to boto3's
default chain (environment, shared files, instance role).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast
from urllib.parse import urlsplit

import boto3
import botocore.exceptions as bce
from botocore.config import Config

from ...errors import ConfigError
from ...settings import S3Settings, is_aws_endpoint

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

RetryMode = Literal["legacy", "standard", "adaptive"]


def make_client(
    settings: S3Settings, *, max_pool_connections: int, session: boto3.session.Session | None = None
) -> S3Client:
    """A new S3 client for ``settings``; :class:`ConfigError` if botocore refuses them.

    ``max_attempts`` counts every attempt, the first included, as
    ``AWS_MAX_ATTEMPTS`` does for botocore itself. A second client made from
    the first one's ``session`` (``client.meta`` does not keep it) skips
    loading botocore's service model again, which takes a third of a second.
    """
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={
            "mode": cast(RetryMode, settings.retry_mode),  # S3Settings accepts no other value
            "total_max_attempts": settings.max_attempts,
        },
        s3={"addressing_style": "path" if settings.force_path_style else "auto"},
        signature_version="s3v4",
        max_pool_connections=max_pool_connections,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    endpoint = None if is_aws_endpoint(settings.endpoint_url) else settings.endpoint_url
    try:
        return (session or boto3.session.Session()).client(
            "s3",
            endpoint_url=endpoint,
            region_name=settings.region or None,
            aws_access_key_id=settings.access_key_id or None,
            aws_secret_access_key=settings.secret_access_key or None,
            config=config,
        )
    except (ValueError, bce.BotoCoreError) as exc:
        raise ConfigError(f"invalid S3 configuration: {type(exc).__name__}") from None


def bucket_url(endpoint_url: str, bucket: str, *, path_style: bool) -> str:
    """The base URL of ``bucket`` through the client's endpoint, ending in ``/``.

    Virtual-host style (``bucket.host``) unless path style is asked for or the
    bucket name holds a dot, which no wildcard TLS certificate covers.
    """
    parts = urlsplit(endpoint_url)
    path = parts.path.rstrip("/")
    if path_style or "." in bucket:
        return f"{parts.scheme}://{parts.netloc}{path}/{bucket}/"
    return f"{parts.scheme}://{bucket}.{parts.netloc}{path}/"
