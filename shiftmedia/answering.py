"""Answering a request for a key: the stored object, a signed derivative made now, or where to get it.

:class:`Answers` is the work behind :meth:`~shiftmedia.storage.Storage.get` and
:meth:`~shiftmedia.storage.Storage.deliver`. Every check comes before storage
is touched: a derivative's signature (and the output limit), or an original's
access token unless originals are public. A key is exactly an original's or a
derivative's, or an original's media info (``<original key>.info.json``, read
with the original's access rules and never redirected); anything else is
:class:`~shiftmedia.errors.InvalidKey`, so no object has a second URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .access import OriginalAccess
from .backends.base import IMMUTABLE, Backend, content_type_for
from .delivery import Derivative, Redirect, Served, Streamed, front_serves, marked
from .errors import NotFound
from .locations import OriginalLocations
from .making import Maker
from .mediainfo import MediaInfo, is_info_key, reference_of_info
from .spec import ResizeSpec, looks_like_derivative

Verified = tuple[str, str, ResizeSpec]
"""``(key, reference, spec)`` of a derivative key whose signature and spec were checked."""


class Answers:
    """What to send for a key of ``store``: objects, derivatives made by ``maker``, or redirects."""

    def __init__(
        self,
        store: Backend,
        where: OriginalLocations,
        access: OriginalAccess,
        maker: Maker,
        media: MediaInfo,
        verified: Callable[[str], Verified],
    ) -> None:
        self.store = store
        self._where = where
        self._access = access
        self._maker = maker
        self._media = media
        self._verified = verified

    def get(self, key: str, access: str | None) -> Served:
        """The object at ``key``: stored (one read), or the signed derivative it names made now."""
        if is_info_key(key):
            return self._info(key, access)
        made = self._derivative_of(key, access)
        try:
            data = (self.store if made else self._where.store_of(key)).read(key)
        except NotFound:
            if made is None:
                raise
            return _served(self._maker.make(*made))
        cache = IMMUTABLE if made is not None else self._access.cache_control
        return Served(key, data, content_type_for(key), cache, "stored")

    def deliver(self, key: str, *, redirect: bool, access: str | None) -> Served | Streamed | Redirect:
        """:meth:`get` for a derivative, or (``redirect``) the derivative made if missing, then where the
        front serves it: its public URL (presigned when private), or the bytes when the front does not serve
        it (:mod:`shiftmedia.delivery`). A non-public original goes to the store's presigned URL if it has
        one; else, in serve mode, it is streamed (:meth:`_original`)."""
        if is_info_key(key):
            return self.get(key, access)
        derivative = self._derivative_of(key, access)
        if derivative is not None and not redirect:
            return self.get(key, access)
        if derivative is None and not redirect:
            return self._original(key)
        store = self.store if derivative else self._where.store_of(key)
        exists = store.exists(key)
        if derivative is None and not exists:
            raise NotFound(f"no object {key}")
        made = None if exists or derivative is None else self._maker.make(*derivative)
        if derivative is None and not self._access.public:
            signed = self._access.signed_url(key, store)
            return Redirect(signed) if signed else self.get(key, access)
        target = self.store.public_url(key)
        if self.store.private:
            return Redirect(target, made)
        working = next((url for url in (marked(target), target) if front_serves(url)), None)
        if working is not None:
            return Redirect(working, made)
        if made is not None:
            return Served(key, made.data, made.content_type, IMMUTABLE, "served-front-failed", made)
        cache = IMMUTABLE if derivative is not None else self._access.cache_control
        return Served(key, store.read(key), content_type_for(key), cache, "served-front-failed")

    def _original(self, key: str) -> Streamed | Redirect:
        """An original in serve mode: a fresh presigned URL where the store signs one and originals are not
        public (the bytes never pass through the service), else its stream, ``Range`` requests included."""
        store = self._where.store_of(key)
        signed = None if self._access.public else self._access.signed_url(key, store)
        if signed is not None:
            return Redirect(signed)
        stream, info = store.open_seekable(key)
        cache = self._access.cache_control
        return Streamed(key, stream, info.size, info.etag, info.modified, content_type_for(key), cache)

    def _info(self, key: str, access: str | None) -> Served:
        """The media info document at ``key``, with the access rules of its original; computed if missing."""
        reference, original = reference_of_info(key)
        self._access.check(key, access)
        if self._where.key(reference) != original:
            raise NotFound(f"no object {key}")
        body = json.dumps(self._media.of(reference).to_json(), separators=(",", ":")).encode()
        return Served(key, body, "application/json", self._access.cache_control, "stored")

    def _derivative_of(self, key: str, access: str | None) -> Verified | None:
        """``(key, reference, spec)`` of a verified derivative key; ``None`` for an original's that may be read."""
        if looks_like_derivative(key.rsplit("/", 1)[-1]):
            return self._verified(key)
        self._where.store_of(key)
        self._access.check(key, access)
        return None


def _served(made: Derivative) -> Served:
    return Served(made.key, made.data, made.content_type, IMMUTABLE, "created" if made.rendered else "stored", made)
