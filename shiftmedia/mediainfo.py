"""Media info: the facts of each original (:mod:`shiftmedia.engine.facts`), kept beside it as JSON.

The document of the original at ``<key>`` is ``<key>.info.json`` in the store
(the whole name and a suffix, so ``a.jpg`` and ``a.png`` in one folder keep
one each). An id's is written when the id is stored; an original without one
(stored by an earlier release, or a source) gets it on first request, stored
then. A source's goes to the store too, never to a separate source store.
Documents read back are checked field by field (a bucket's objects can be
edited); one that fails is computed anew and replaced. An id's original
never changes, so its facts are remembered per process (a bounded LRU); a
source replaced under its key keeps its facts until ``shiftmedia delete KEY``
removes them with its resizes.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from .backends.base import Backend
from .engine.facts import MediaFacts, media_facts
from .engine.limits import Limits
from .errors import InvalidImage, InvalidKey, LimitExceeded, NotFound
from .ids import INFO_SUFFIX, check_source_key, split_key
from .locations import OriginalLocations

#: The longest document read back: a few hundred bytes are written.
MAX_INFO_BYTES = 16 * 1024
#: Cache-Control of a document: it changes only when recomputed.
INFO_CACHE = "no-cache"
CACHE_SIZE = 4096


def info_key(original_key: str) -> str:
    """The key of the media info document of the original at ``original_key``."""
    return original_key + INFO_SUFFIX


def is_info_key(key: str) -> bool:
    """True for a media info document's key."""
    return key.endswith(INFO_SUFFIX)


def reference_of_info(key: str) -> tuple[str, str]:
    """``(reference, original key)`` of a document's key: an id's (its folder's id) or a source key's."""
    original = key[: -len(INFO_SUFFIX)] if is_info_key(key) else ""
    try:
        return split_key(original)[0], original
    except InvalidKey:
        return check_source_key(original), original


class MediaInfo:
    """The facts of the originals that ``where`` finds, kept in ``store`` and checked against ``limits``."""

    def __init__(self, store: Backend, where: OriginalLocations, limits: Limits, size: int = CACHE_SIZE) -> None:
        self.store = store
        self._where = where
        self._limits = limits
        self._size = size
        self._known: OrderedDict[str, MediaFacts] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, reference: str) -> MediaFacts:
        """The facts of the original ``reference`` names: remembered, stored, or computed and stored now."""
        with self._lock:
            known = self._known.get(reference)
            if known is not None:
                self._known.move_to_end(reference)
                return known
        key = self._where.key(reference)
        try:
            facts = MediaFacts.from_json(json.loads(self.store.read(info_key(key), max_bytes=MAX_INFO_BYTES)))
        except (NotFound, InvalidImage, LimitExceeded, ValueError):
            facts = media_facts(self._where.read(reference, self._limits.max_original_bytes), self._limits)
            self.keep(key, facts)
        self._remember(reference, facts)
        return facts

    def keep(self, original_key: str, facts: MediaFacts) -> None:
        """Store ``facts`` as the document of the original at ``original_key``."""
        body = json.dumps(facts.to_json(), separators=(",", ":")).encode()
        self.store.write(info_key(original_key), body, content_type="application/json", cache_control=INFO_CACHE)

    def forget(self, reference: str) -> None:
        """Drop what is remembered of ``reference`` (its original was deleted)."""
        with self._lock:
            self._known.pop(reference, None)

    def _remember(self, reference: str, facts: MediaFacts) -> None:
        with self._lock:
            self._known[reference] = facts
            self._known.move_to_end(reference)
            while len(self._known) > self._size:
                self._known.popitem(last=False)
