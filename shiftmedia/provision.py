"""Set-up and checks of the S3 bucket the settings name, for ``shiftmedia s3 setup|check``.

The documents and checks themselves are :mod:`shiftmedia.backends.s3.bucket`'s;
this module builds the backend from ``S3_*`` settings (whatever
``SHIFTMEDIA_STORAGE`` says: a bucket is set up before the service uses it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .backends import open_sources, s3_backend
from .settings import Settings


def bucket_documents(settings: Settings, app_url: str, url_prefix: str, *, public: bool) -> dict[str, Any]:
    """The website, CORS and (when ``public``) policy documents :func:`set_up_bucket` puts."""
    from .backends.s3 import bucket

    docs = bucket.documents(s3_backend(settings.s3), app_url, url_prefix, public_originals=settings.public_originals)
    if not public:
        del docs["policy"]
    return docs


def set_up_bucket(settings: Settings, app_url: str, url_prefix: str, *, public: bool) -> tuple[str, list[str]]:
    """Apply the documents, idempotently; return the bucket's name and what was set."""
    from .backends.s3 import bucket

    backend = s3_backend(settings.s3)
    done = bucket.apply(backend, app_url, url_prefix, public=public, public_originals=settings.public_originals)
    return backend.bucket, done


def check_bucket(settings: Settings, app_url: str | None, url_prefix: str) -> list[Any]:
    """Credentials, bucket, permissions, the sources' (when apart) and (with ``app_url``) the website rule, as findings."""
    from .backends.s3 import bucket

    sources = open_sources(replace(settings, storage="s3"))
    return bucket.check(s3_backend(settings.s3), app_url, url_prefix, sources=sources)
