"""What is stored: each original (an id's or a source's) with the derivatives beside it, from listings.

``shiftmedia warm``, ``shiftmedia ls`` and the pruning of retired derivatives
walk a store without asking for one object at a time. The originals under a
prefix and all their derivatives come from one listing of the store, and one
of the sources where those are a store of their own; the original of one
reference and its derivatives from one listing of its folder. A listing
names objects only, and the key contract says which is which: in an id's
folder, a derivative's name or else the original; elsewhere, a derivative's
name under a source key, or (where the store holds the sources) a source.
Leases, probes and anything else whose key no reference can have are passed over.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from .backends.base import Backend, ObjectInfo, content_type_for
from .errors import InvalidKey, NotFound
from .ids import INFO_SUFFIX, check_source_key, id_folder, is_id, split_key
from .keys import folder_of
from .locations import OriginalLocations
from .originals import is_original_name
from .spec import looks_like_derivative


@dataclass(frozen=True)
class Original:
    """A stored original: its reference (an id or a source key), its object, its derivatives' file names, and
    whether its media info document is stored (``described``)."""

    reference: str
    info: ObjectInfo
    derivatives: frozenset[str]
    described: bool = False

    @property
    def known_format(self) -> bool:
        """Whether it is an id's original, or a source whose extension names a format shiftmedia reads (a
        listing also finds a bucket's other objects: ``notes.txt`` is passed over, not tried)."""
        return is_id(self.reference) or content_type_for(self.reference).startswith(("image/", "video/"))


class Inventory:
    """Lists the originals and derivatives of the stores ``where`` names."""

    def __init__(self, where: OriginalLocations) -> None:
        self._where = where

    def under(self, prefix: str = "") -> Iterator[Original]:
        """Every original whose key starts with ``prefix`` (``""``: all), in key order, with its derivatives.

        One listing of the store, and one of the sources if they are apart; the
        listings are read whole before the first original is given.
        """
        derivatives: dict[str, set[str]] = defaultdict(set)
        found: dict[str, tuple[str, ObjectInfo]] = {}
        described: set[str] = set()
        shared = self._where.readable and self._where.sources is self._where.store
        for info in _listing(self._where.store, prefix):
            kind, reference, name = _classify(info.key, sources=shared)
            if kind == "derivative":
                derivatives[reference].add(name)
            elif kind == "info":
                described.add(info.key[: -len(INFO_SUFFIX)])
            elif kind == "original" and reference not in found:
                found[reference] = (info.key, info)
        if self._where.readable and not shared:
            for info in _listing(self._where.sources, prefix):
                kind, reference, _name = _classify(info.key, sources=True)
                if kind == "original" and not is_id(reference):
                    found[reference] = (info.key, info)
        for reference, (key, info) in sorted(found.items(), key=lambda item: item[1][0]):
            yield Original(reference, info, frozenset(derivatives.get(folder_of(reference), ())), key in described)

    def of(self, reference: str) -> Original:
        """The original ``reference`` names, with its derivatives (one listing of its folder); else :class:`NotFound`."""
        folder = folder_of(reference)
        names = {
            info.key[len(folder) + 1 :]: info
            for info in self._where.store.list(f"{folder}/")
            if "/" not in info.key[len(folder) + 1 :]
        }
        made = frozenset(name for name in names if looks_like_derivative(name))
        if not is_id(reference):
            info = self._where.sources_store().stat(check_source_key(reference))
            return Original(reference, info, made, self._where.store.exists(reference + INFO_SUFFIX))
        original = next((info for name, info in sorted(names.items()) if is_original_name(name)), None)
        if original is None:
            raise NotFound(f"no media with id {reference}")
        return Original(reference, original, made, original.key.rsplit("/", 1)[1] + INFO_SUFFIX in names)

    def derivative_keys(self) -> Iterator[str]:
        """The key of every derivative in the store (of ids and of sources), from one listing, in key order."""
        shared = self._where.readable and self._where.sources is self._where.store
        for info in self._where.store.list():
            if _classify(info.key, sources=shared)[0] == "derivative":
                yield info.key


def _listing(store: Backend, prefix: str) -> Iterator[ObjectInfo]:
    """The objects of ``store`` whose keys start with ``prefix``, from a listing of its last folder."""
    folder = prefix.rpartition("/")[0]
    return (info for info in store.list(f"{folder}/" if folder else "") if info.key.startswith(prefix))


def _classify(key: str, *, sources: bool) -> tuple[str, str, str]:
    """``(kind, reference or folder, name)`` of a stored key: an ``original`` (of the id or source key it
    gives), a ``derivative`` (of the folder it gives), media ``info`` (of the reference it gives) or
    ``other``; sources only where the store holds them."""
    with contextlib.suppress(InvalidKey):
        media_id, name = split_key(key)
        if looks_like_derivative(name):
            return "derivative", id_folder(media_id), name
        return ("original" if is_original_name(name) else "info"), media_id, name
    folder, _, name = key.rpartition("/")
    if key.endswith(INFO_SUFFIX):
        kind, reference = "info", _source_key(key[: -len(INFO_SUFFIX)])
    elif folder and looks_like_derivative(name):
        kind, reference = "derivative", _source_key(folder)
    else:
        kind, reference = "original", _source_key(key) if sources else None
    return (kind, reference, name) if reference is not None else ("other", "", "")


def _source_key(text: str) -> str | None:
    """``text`` if it can be a source key, else ``None``."""
    try:
        return check_source_key(text)
    except InvalidKey:
        return None
