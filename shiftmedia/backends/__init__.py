"""Storage backends: one interface, a local-disk and an S3 implementation.

:func:`open_backend` builds the one the settings name; :func:`backend_at`
the one a location names (``local:PATH`` or ``s3://BUCKET[/PREFIX]``, for
migrations). The S3 backend is imported only when asked for, so the library
works without boto3 installed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..settings import S3Settings, Settings
from .base import Backend, ObjectInfo
from .local import LocalBackend
from .readonly import ReadOnly

if TYPE_CHECKING:
    from .s3 import S3Backend

__all__ = ["Backend", "LocalBackend", "ObjectInfo", "backend_at", "open_backend", "open_sources", "s3_backend"]


def open_backend(settings: Settings) -> Backend:
    """The backend ``SHIFTMEDIA_STORAGE`` names, configured from ``settings``."""
    if settings.storage == "s3":
        return s3_backend(settings.s3)
    return LocalBackend(settings.local_root, settings.local_public_url)


def open_sources(settings: Settings) -> Backend | None:
    """The read-only sources the settings name apart from the store; ``None`` when the store holds them."""
    if settings.storage == "s3":
        s3 = settings.s3
        bucket = s3.source_bucket or s3.bucket
        prefix = s3.prefix if s3.source_prefix is None else s3.source_prefix
        if (bucket, prefix.strip("/")) == (s3.bucket, s3.prefix.strip("/")):
            return None
        return ReadOnly(s3_backend(replace(s3, bucket=bucket, prefix=prefix, public_url=None)))
    if settings.local_source_root is None:
        return None
    return ReadOnly(LocalBackend(settings.local_source_root, settings.local_public_url))


def backend_at(location: str, settings: Settings) -> Backend:
    """The backend at ``local:PATH`` or ``s3://BUCKET[/PREFIX]``.

    An S3 location takes its endpoint, region, credentials and encryption from
    the ``S3_*`` settings; only bucket and prefix come from the location.
    """
    if location.startswith("local:") and len(location) > len("local:"):
        return LocalBackend(location[len("local:") :], settings.local_public_url)
    parts = urlsplit(location)
    if parts.scheme == "s3" and parts.netloc:
        return s3_backend(replace(settings.s3, bucket=parts.netloc, prefix=parts.path.strip("/")))
    raise ConfigError(f"a location is local:PATH or s3://BUCKET[/PREFIX], not {location!r}")


def s3_backend(settings: S3Settings) -> S3Backend:
    """The S3 backend for ``settings``; :class:`ConfigError` when boto3 is not installed."""
    try:
        from .s3 import S3Backend
    except ImportError as exc:
        raise ConfigError(f"the S3 backend needs boto3: pip install 'shiftmedia[s3]' ({exc.name} is missing)") from None
    return S3Backend(settings)
