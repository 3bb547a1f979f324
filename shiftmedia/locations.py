"""Where an original lives: an id's in the store, beside its derivatives; a source key's in the sources.

A reference to an original is an id (shiftmedia stored it: ``<id folder>/<name>``
in the store) or a source key (an existing object, read where
``S3_SOURCE_BUCKET``/``S3_SOURCE_PREFIX`` or ``SHIFTMEDIA_LOCAL_SOURCE_ROOT``
say, by default the store itself). Sources are only ever read: a separate
sources store is opened read-only (:class:`~shiftmedia.backends.readonly.ReadOnly`).
Derivatives of a source go to ``<source key>/<name>`` in the store, which a
local folder cannot hold beside the source's own file: on local disk the
sources need a folder of their own, and without one every reference that is
not an id is refused as a bad id.
"""

from __future__ import annotations

from .backends.base import Backend
from .errors import InvalidKey, NotFound
from .ids import INFO_SUFFIX, NOT_AN_ID, check_source_key, is_id, split_key
from .originals import OriginalNames
from .spec import looks_like_derivative


class OriginalLocations:
    """The keys and stores of originals: ids' in ``store``, source keys' in ``sources``."""

    def __init__(self, store: Backend, sources: Backend) -> None:
        self.store = store
        self.sources = sources
        self.names = OriginalNames(store)

    def key(self, reference: str) -> str:
        """The key of the original ``reference`` names; :class:`NotFound` if there is none."""
        if is_id(reference):
            return self.names.key(reference)
        key = check_source_key(reference)
        if not self.sources_store().exists(key):
            raise NotFound("no source object under that key")
        return key

    def store_of(self, key: str) -> Backend:
        """The store holding the original at ``key``: the store for an id's, the sources for a source's."""
        try:
            split_key(key)
        except InvalidKey:
            check_source_key(key)
            return self.sources_store()
        return self.store

    def delete_resizes(self, key: str) -> int:
        """Delete the resizes of the source ``key`` (the derivative names right under ``<key>/``) and its media
        info, nothing else: sources sharing the store (``photos/cat.jpg`` beside ``photos/``) are never touched."""
        self.sources_store()
        folder = check_source_key(key) + "/"
        names = (info.key for info in self.store.list(folder))
        made = sum(
            self.store.delete(name)
            for name in list(names)
            if "/" not in name[len(folder) :] and looks_like_derivative(name[len(folder) :])
        )
        return made + self.store.delete(key + INFO_SUFFIX)

    def read(self, reference: str, max_bytes: int) -> bytes:
        """The bytes of the original ``reference`` names, at most ``max_bytes``."""
        key = self.names.key(reference) if is_id(reference) else check_source_key(reference)
        return (self.store if is_id(reference) else self.sources_store()).read(key, max_bytes=max_bytes)

    @property
    def readable(self) -> bool:
        """Whether source keys can be used: their derivatives can be stored beside the sources' keys."""
        return self.sources is not self.store or self.store.nested_keys

    def sources_store(self) -> Backend:
        """The sources; :class:`InvalidKey` (the reference is then taken for a bad id) where they cannot be used."""
        if not self.readable:
            raise InvalidKey(NOT_AN_ID)
        return self.sources
