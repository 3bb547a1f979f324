"""Who may read an original: anyone holding a URL that expires, or (``SHIFTMEDIA_PUBLIC_ORIGINALS``) everyone.

A derivative is public: its signed name is its permission, and it carries no
metadata. An original carries everything the upload did (the camera's serial,
the full resolution, the GPS position unless ``SHIFTMEDIA_STRIP_GPS``), so by
default it is not public. Its URL is then a presigned GET where the store can
sign one (S3), else the service's URL of the key with an :data:`ACCESS_PARAM`
token (:class:`~shiftmedia.signing.AccessSigner`), both valid for the same
number of seconds; the service serves an original only with a valid token.
The bucket policy and the self-hosted nginx site make derivatives public and
leave originals to these URLs (:mod:`shiftmedia.backends.s3.bucket`,
``deploy/nginx``).
"""

from __future__ import annotations

from collections.abc import Callable

from .backends.base import Backend
from .delivery import ORIGINAL_CACHE
from .signing import AccessSigner

#: The query parameter holding an original's access token.
ACCESS_PARAM = "access"
#: The longest a browser keeps an original it read with a token (never a shared cache).
PRIVATE_CACHE_SECONDS = 3600


class OriginalAccess:
    """The URLs and the check of originals, public or not.

    ``url_for(key)`` is where the service answers ``key`` (the storage's
    service URL, else the backend's public URL).
    """

    def __init__(self, backend: Backend, signer: AccessSigner, *, public: bool, url_for: Callable[[str], str]) -> None:
        self.backend = backend
        self.signer = signer
        self.public = public
        self._url_for = url_for

    @property
    def cache_control(self) -> str:
        """Cache-Control of an original the service sends."""
        if self.public:
            return ORIGINAL_CACHE
        return f"private, max-age={min(self.signer.max_age, PRIVATE_CACHE_SECONDS)}"

    def url(self, key: str, store: Backend | None = None) -> str:
        """The URL of the original at ``key`` (in ``store``, default the backend): public, presigned, or the
        service's with a token."""
        if self.public:
            return (store or self.backend).public_url(key)
        return self.signed_url(key, store) or f"{self._url_for(key)}?{ACCESS_PARAM}={self.signer.token(key)}"

    def signed_url(self, key: str, store: Backend | None = None) -> str | None:
        """The store's own expiring URL of ``key``; ``None`` when only the service can serve it with a token."""
        return (store or self.backend).signed_url(key, self.signer.max_age)

    def check(self, key: str, token: str | None) -> None:
        """Raise :class:`~shiftmedia.errors.PrivateOriginal` unless the original at ``key`` may be read."""
        if not self.public:
            self.signer.verify(key, token)
