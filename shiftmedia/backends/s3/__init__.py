"""The S3 backend, for AWS S3 and S3-compatible stores (MinIO, SeaweedFS, Wasabi, B2, R2).

:class:`S3Backend` is the :class:`~shiftmedia.backends.base.Backend`; the
modules beside it each hold one part of it: :mod:`.client` (the boto3 client
from :class:`~shiftmedia.settings.S3Settings`), :mod:`.errors` (library
failures as shiftmedia exceptions), :mod:`.streams`, :mod:`.ranged` (seekable
reads of one version, by ranged GETs), :mod:`.multipart`,
:mod:`.listing`, :mod:`.breaker` (a store that stops answering costs one
timeout, then calls fail fast), :mod:`.health` (the readiness check, in about
two seconds), and :mod:`.bucket` (website routing, CORS and policy set-up,
and checks of a bucket).
"""

from .backend import S3Backend

__all__ = ["S3Backend"]
