"""The façade applications call: store originals, sign resize URLs, make and deliver resizes.

:class:`Storage` ties a backend, the signer and the engine together, and is
the only door between the faces (Flask, the CLI, the service, the API) and
stored objects. Keys are ``<id folder>/<file name>``: the original under its
sanitised name, and every derivative beside it under its signed resize name,
so deleting an id is deleting one prefix.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from .access import OriginalAccess
from .answering import Answers
from .backends import open_backend, open_sources
from .backends.base import Backend, check_key, content_type_for
from .delivery import Derivative, Redirect, Served, Streamed
from .engine import Limits
from .engine.facts import MediaFacts
from .errors import BadSignature, ConfigError, InvalidKey, InvalidSpec, NotFound, ShiftMediaError
from .ids import id_folder, is_id, new_id
from .inventory import Inventory, Original
from .keys import ResizeKeys, Size, split_reference
from .locations import OriginalLocations
from .making import Maker
from .mediainfo import MediaInfo, info_key
from .originals import Source, prepare
from .presets import Presets
from .scheduler import ResizeScheduler
from .settings import Settings
from .signing import AccessSigner, ResizeSigner
from .spec import ResizeSpec, looks_like_derivative

__all__ = ["Size", "Storage"]


class Storage:
    """Originals (ids' and sources') and their signed resizes in one backend."""

    def __init__(
        self,
        backend: Backend,
        secret_keys: Sequence[str | bytes],
        *,
        limits: Limits = Limits(),
        service_url: str | None = None,
        max_concurrent_resizes: int | None = None,
        resize_timeout: float = 20.0,
        render_lease: float = 30.0,
        strip_gps: bool = False,
        public_originals: bool = False,
        original_url_expiry: int = 3600,
        presets: Presets = Presets(),
        sources: Backend | None = None,
    ) -> None:
        """``service_url`` is where resize URLs point when they must reach the service first (required for a
        private backend: the service answers with a presigned redirect); by default they point at the backend's
        public URL. ``max_concurrent_resizes`` (default: the CPU count) and ``resize_timeout`` bound the work of
        :meth:`create_resize`; a crashed process delays the others' renders by at most ``render_lease`` seconds.
        ``strip_gps`` removes the GPS position from originals as they are stored (:mod:`shiftmedia.privacy`).
        Originals are read through URLs valid ``original_url_expiry`` seconds unless ``public_originals``
        (:mod:`shiftmedia.access`). ``presets`` name resizes, and may be the only ones served (:mod:`.presets`).
        ``sources`` (default: ``backend``) hold the objects that source keys name (:mod:`.locations`)."""
        if backend.private and not service_url:
            raise ConfigError("a private bucket needs SHIFTMEDIA_SERVICE_URL: resize URLs must reach the service")
        self.backend = backend
        self.limits = limits
        self.keys = ResizeKeys(ResizeSigner(secret_keys), presets, limits.max_output_side)
        self.service_url = service_url.rstrip("/") if service_url else None
        self.scheduler = ResizeScheduler(max_concurrent_resizes or os.cpu_count() or 1, resize_timeout)
        self._where = OriginalLocations(backend, sources or backend)
        self.keys.sources = self._where.readable
        self.inventory = Inventory(self._where)
        self.media = MediaInfo(backend, self._where, limits)
        self._maker = Maker(backend, limits, self.scheduler, render_lease, self._where.read)
        self.access = OriginalAccess(
            backend, AccessSigner(secret_keys, original_url_expiry), public=public_originals, url_for=self.url_for_key
        )
        self.strip_gps = strip_gps
        self._answers = Answers(backend, self._where, self.access, self._maker, self.media, self._verified)
        self.keys.url_paths = tuple({urlsplit(url("k")).path[:-1]: 0 for url in (self.url_for_key, backend.public_url)})

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        """A storage over the backend, keys, limits and resize bounds that ``settings`` name."""
        return cls(
            open_backend(settings),
            settings.secret_keys,
            limits=settings.limits,
            service_url=settings.service_url,
            max_concurrent_resizes=settings.max_concurrent_resizes or None,
            resize_timeout=settings.resize_timeout,
            render_lease=settings.render_lease,
            strip_gps=settings.strip_gps,
            public_originals=settings.public_originals,
            original_url_expiry=settings.s3.presign_expiry,
            presets=settings.presets,
            sources=open_sources(settings),
        )

    def __repr__(self) -> str:
        return f"Storage({self.backend!r})"

    @property
    def private(self) -> bool:
        """True when stored objects are not publicly readable (presigned URLs only)."""
        return self.backend.private

    @property
    def presets(self) -> Presets:
        """The named resizes this storage signs (see :mod:`shiftmedia.presets`)."""
        return self.keys.presets

    # -- originals -------------------------------------------------------------

    def put(self, source: Source, filename: str | None = None, *, presets: Sequence[str] = ()) -> str:
        """Store an original and return its new id.

        ``source`` is a path, a binary file object or bytes: an image the engine decodes whole (checked by
        content, not by name), else :class:`InvalidImage` or :class:`LimitExceeded` and nothing is stored.
        ``filename`` (default: the path's name) is sanitised, with the detected format's extension;
        ``strip_gps`` removes the position. Its media info is stored beside it (:meth:`info`). The ``presets``
        named, and the eager ones (``SHIFTMEDIA_EAGER_PRESETS``), are made now; if one fails, the id is
        deleted and the error raised.
        """
        specs = self.keys.presets_of((*self.presets.eager, *presets))
        data, name, facts = prepare(source, filename, self.limits, strip_gps=self.strip_gps)
        media_id = new_id()
        key = f"{id_folder(media_id)}/{name}"
        self.backend.write(key, data, content_type=content_type_for(name), if_absent=True)
        self._where.names.remember(media_id, name)
        try:
            self.media.keep(key, facts)
            for spec in specs:
                self.create_resize(self.keys.key(media_id, spec))
        except ShiftMediaError:
            with contextlib.suppress(ShiftMediaError):
                self.delete(media_id)
            raise
        return media_id

    def delete(self, media_id: str) -> int:
        """Remove an id's original, media info and derivatives, or a source key's (never the source)."""
        self.media.forget(media_id)
        if not is_id(media_id):
            return self._where.delete_resizes(media_id)
        count = self.backend.delete_prefix(f"{id_folder(media_id)}/")
        self._where.names.forget(media_id)
        if count == 0:
            raise NotFound(f"no media with id {media_id}")
        return count

    def original_key(self, media_id: str) -> str:
        """The key of an id's original, or a source key; :class:`NotFound` if there is none."""
        return self._where.key(media_id)

    def originals(self, prefix: str = "") -> Iterator[Original]:
        """Every original (ids' and sources') whose key starts with ``prefix``, in key order, with the names of
        its stored derivatives: one listing of the store, and of the sources if apart (:mod:`.inventory`)."""
        return self.inventory.under(prefix)

    def info(self, reference: str) -> MediaFacts:
        """The media facts of an id's original or a source (size upright, format, frames, placeholder…): its
        stored ``<original key>.info.json``, computed and stored now if missing (:mod:`.mediainfo`)."""
        return self.media.of(reference)

    def info_url(self, reference: str) -> str:
        """Where a page reads :meth:`info` as JSON, with the access rules of the original's URL."""
        self.info(reference)
        return self.access.url(info_key(self.original_key(reference)), self.backend)

    def original_url(self, media_id: str) -> str:
        """The URL of an id's original: public, or one that expires (see :mod:`shiftmedia.access`)."""
        key = self.original_key(media_id)
        return self.access.url(key, self._where.store_of(key))

    # -- signed resizes --------------------------------------------------------

    def resize_key(self, media_id: str, size: Size | None = None, *, preset: str | None = None, **options: Any) -> str:
        """The key of a signed resize (no storage is touched): of ``size`` with ``options``, or of a ``preset``.

        ``options`` are those of :meth:`ResizeSpec.create`: ``mode``, ``quality``, ``format``, ``upscale``,
        ``gravity``, ``background``, ``rect``, ``keep_icc`` and ``time`` (a video's frame); a preset names them all.
        """
        return self.keys.key(media_id, self.keys.spec(size, preset, options))

    def resize_url(self, media_id: str, size: Size | None = None, *, preset: str | None = None, **options: Any) -> str:
        """The URL of a signed resize; see :meth:`resize_key`."""
        return self.url_for_key(self.resize_key(media_id, size, preset=preset, **options))

    def url_for_key(self, key: str) -> str:
        """Where a page links a derivative key: the service when set, else the public URL."""
        if self.service_url:
            return f"{self.service_url}/{quote(check_key(key))}"
        return self.backend.public_url(key)

    def delivery_url(self, key: str) -> str:
        """Where a browser fetches the stored object now: its public URL, presigned when private."""
        return self.backend.public_url(key)

    def verify(self, key_or_url: str) -> tuple[str, str, ResizeSpec]:
        """``(key, reference, spec)`` of a derivative key or URL (its reference: an id or a source key); raises
        :class:`InvalidKey`/:class:`InvalidSpec` for a malformed one, :class:`BadSignature` for a forged one."""
        return self.keys.verify(key_or_url)

    def create_resize(self, key_or_url: str) -> Derivative:
        """The derivative a signed key or URL names: read when stored, else made and stored now.

        Concurrent calls for one derivative share one resize; at most
        ``max_concurrent_resizes`` run at once, and a call that cannot start
        within ``resize_timeout`` seconds raises :class:`Overloaded`.
        """
        key, media_id, spec = self._verified(key_or_url)
        try:
            data = self.backend.read(key)
        except NotFound:
            return self._maker.make(key, media_id, spec)
        return self._maker.stored(key, spec, data)

    def make_missing(self, reference: str, keys: Iterable[str]) -> Iterator[tuple[str, Derivative | ShiftMediaError]]:
        """``(key, derivative or error)`` of each of ``keys``, signed keys of ``reference``'s derivatives, made
        as a miss makes them (the same bytes) from one read of the original: ``shiftmedia warm``'s work."""
        verified = [self._verified(key) for key in keys]
        if any(named != reference for _key, named, _spec in verified):
            raise InvalidKey(f"a key given is not a derivative of {reference}")
        return self._maker.make_all(reference, {key: spec for key, _named, spec in verified})

    # -- answering requests ----------------------------------------------------

    def get(self, key: str, access: str | None = None) -> Served:
        """The object at ``key`` to send: stored (one read), or the signed derivative it names made now.

        ``key`` is exactly an original's or a derivative's (anything else is :class:`InvalidKey`, so no
        object has a second URL). A derivative's signature (:class:`BadSignature`), or an original's
        ``access`` token unless originals are public (:class:`PrivateOriginal`), is checked first.
        """
        return self._answers.get(key, access)

    def deliver(self, key: str, *, redirect: bool, access: str | None = None) -> Served | Streamed | Redirect:
        """What to answer for ``key``: the bytes, or (``redirect``) where they are served.

        With ``redirect`` the derivative is made if missing, then the answer is a redirect to its public URL
        (presigned when private), or the bytes when that front does not serve it (:mod:`shiftmedia.delivery`).
        A non-public original goes to the store's presigned URL, if it has one; else, without ``redirect``,
        it is a :class:`Streamed` answer (``Range`` requests served from it, nothing loaded whole).
        """
        return self._answers.deliver(key, redirect=redirect, access=access)

    def retired_derivatives(self) -> Iterator[str]:
        """Keys of stored derivatives that no current secret key verifies (signed with a retired one): the
        service answers them 403, but a public bucket or a CDN serves them until ``shiftmedia prune --retired``."""
        for key in self.inventory.derivative_keys():
            try:
                self.verify(key)
            except (BadSignature, InvalidSpec):
                yield key

    def remove(self, key: str) -> bool:
        """Delete one derivative (never an original: use :meth:`delete` for an id); ``False`` if absent."""
        _reference, name = split_reference(key)
        if not looks_like_derivative(name):
            raise InvalidKey("only derivatives are removed one by one; delete the id to remove an original")
        return self.backend.delete(key)

    def check(self) -> None:
        """Raise :class:`~shiftmedia.errors.StorageError` unless the backend is reachable and usable."""
        self.backend.check()

    def _verified(self, key_or_url: str) -> tuple[str, str, ResizeSpec]:
        """:meth:`verify`, then the output side limit."""
        key, media_id, spec = self.keys.verify(key_or_url)
        self.keys.check(spec)
        return key, media_id, spec
