"""Originals: reading and checking an upload, and finding the stored original of an id.

An id's folder holds its original and its derivatives; the id alone does not
say the original's file name, so :class:`OriginalNames` finds it by listing
the folder once and remembers it (a bounded LRU per process).
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import IO

from . import privacy
from .backends.base import Backend
from .engine import Limits
from .engine.facts import MediaFacts, media_facts
from .engine.video import is_video
from .errors import LimitExceeded, NotFound
from .ids import INFO_SUFFIX, id_folder, safe_filename
from .spec import looks_like_derivative

Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]

CACHE_SIZE = 4096


class OriginalNames:
    """The file name of each id's original in ``backend``, listed once, then remembered."""

    def __init__(self, backend: Backend, size: int = CACHE_SIZE) -> None:
        self._backend = backend
        self._size = size
        self._names: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, media_id: str) -> str:
        """The key of an id's original; :class:`NotFound` if there is none."""
        folder = id_folder(media_id)
        with self._lock:
            name = self._names.get(media_id)
            if name is not None:
                self._names.move_to_end(media_id)
        if name is None:
            name = next(
                (
                    info.key.rsplit("/", 1)[1]
                    for info in self._backend.list(f"{folder}/")
                    if "/" not in info.key[len(folder) + 1 :] and is_original_name(info.key.rsplit("/", 1)[1])
                ),
                None,
            )
            if name is None:
                raise NotFound(f"no media with id {media_id}")
            self.remember(media_id, name)
        return f"{folder}/{name}"

    def remember(self, media_id: str, name: str) -> None:
        """Note that ``media_id``'s original is called ``name``."""
        with self._lock:
            self._names[media_id] = name
            self._names.move_to_end(media_id)
            while len(self._names) > self._size:
                self._names.popitem(last=False)

    def forget(self, media_id: str) -> None:
        """Drop what is known of ``media_id`` (it was deleted)."""
        with self._lock:
            self._names.pop(media_id, None)


def is_original_name(name: str) -> bool:
    """Whether a file name in an id's folder can be its original's: not a derivative's, not media info's."""
    return not looks_like_derivative(name) and not name.endswith(INFO_SUFFIX)


def prepare(source: Source, filename: str | None, limits: Limits, *, strip_gps: bool) -> tuple[bytes, str, MediaFacts]:
    """An upload's bytes, checked (:func:`~shiftmedia.engine.probe`: an image within ``limits``, whole),
    without its GPS position if asked; the safe file name to store it under, with the detected format's
    extension; and its media facts (:mod:`shiftmedia.engine.facts`), computed in the same pass."""
    data, default_name = read_source(source, limits)
    facts = media_facts(data, limits)
    if strip_gps:
        data = privacy.strip_gps(data, facts.format)
        facts = replace(facts, bytes=len(data))
    return data, safe_filename(filename or default_name, facts.format), facts


def read_source(source: Source, limits: Limits) -> tuple[bytes, str | None]:
    """The bytes of a path, file object or bytes, and the file name it carries: at most
    ``max_input_bytes``, or ``max_video_bytes`` for what opens like a video (read on only then)."""
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), None
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            with path.open("rb") as stream:
                data = _read_up_to_limit(stream, limits)
        except FileNotFoundError:
            raise NotFound(f"no file {path}") from None
        name = path.name
    elif isinstance(source, io.IOBase) or hasattr(source, "read"):
        data = _read_up_to_limit(source, limits)
        given = getattr(source, "name", None)
        name = given if isinstance(given, str) else None
    else:
        raise TypeError("source must be a path, bytes or a binary file object")
    limit = limits.max_video_bytes if is_video(data) else limits.max_input_bytes
    if len(data) > limit:
        raise LimitExceeded(f"the upload is larger than {limit} bytes")
    return data, name


def _read_up_to_limit(stream: IO[bytes], limits: Limits) -> bytes:
    """One byte past the limit of what ``stream`` holds: the image limit, unless it opens like a video."""
    data = stream.read(limits.max_input_bytes + 1)
    if len(data) > limits.max_input_bytes and is_video(data):
        data += stream.read(limits.max_video_bytes - len(data) + 1)
    return data
