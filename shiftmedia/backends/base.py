"""The interface every storage backend implements.

Keys are relative, ``/``-separated paths such as ``<id path>/<file name>``; a
backend maps them under its own root (a folder, or a bucket and prefix). Keys
reach a backend only after :func:`check_key` accepted them, and each backend
calls it again, so a crafted key can never address anything outside the root.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..engine.load import MEDIA_TYPES
from ..errors import InvalidKey, LimitExceeded

#: The longest key, in UTF-8 bytes (S3's limit).
MAX_KEY_LENGTH = 1024
#: The longest segment a key may have, in UTF-8 bytes: a file name on every common file system, so
#: a key that the local backend could not store is refused by S3 too, before either is asked.
MAX_SEGMENT_LENGTH = 255
#: Never in a key: control characters, and the backslash, which some stores (SeaweedFS) read as ``/``.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\\]")

#: Cache-Control for derivatives: their name encodes every parameter, so they never change.
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend knows about one stored object."""

    key: str
    size: int
    etag: str
    modified: float
    content_type: str


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise :class:`InvalidKey`.

    Safe means: valid Unicode without control characters or backslashes, in ``/``-separated
    segments of at most :data:`MAX_SEGMENT_LENGTH` UTF-8 bytes, none empty,
    none ``.`` or ``..``, not starting with ``/``; at most
    :data:`MAX_KEY_LENGTH` bytes in all. Which keys a storage uses (ids'
    folders, sources) is :mod:`shiftmedia.ids`' business; this is the floor
    that keeps every key inside the backend's root.
    """
    if not isinstance(key, str) or not key or _CONTROL_RE.search(key):
        raise InvalidKey("invalid key")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey("invalid key") from None
    if len(encoded) > MAX_KEY_LENGTH:
        raise InvalidKey("invalid key")
    for segment in encoded.split(b"/"):
        if segment in (b"", b".", b"..") or len(segment) > MAX_SEGMENT_LENGTH:
            raise InvalidKey("invalid key")
    return key


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` (a key ending in ``/``) if safe, else raise :class:`InvalidKey`."""
    if not isinstance(prefix, str) or not prefix.endswith("/"):
        raise InvalidKey("invalid prefix")
    check_key(prefix[:-1])
    return prefix


def content_type_for(key: str) -> str:
    """The media type for a key, from its extension."""
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    return MEDIA_TYPES.get(ext, "application/octet-stream")


class Backend(ABC):
    """Where originals and derivatives are kept.

    Implementations raise :class:`~shiftmedia.errors.NotFound` for a missing
    object and :class:`~shiftmedia.errors.StorageError` (or a subclass) when the
    store itself fails; never a library-specific exception.

    ``private`` backends are not publicly readable: :meth:`public_url` gives a
    short-lived signed URL, so pages must link to the service instead.
    """

    private: bool = False
    #: Whether ``a`` and ``a/b`` can both be objects (a bucket's flat keys can; a folder cannot).
    nested_keys: bool = True

    @abstractmethod
    def exists(self, key: str) -> bool:
        """True if an object is stored under ``key``."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag, modification time and content type of ``key``."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object; the caller closes it."""

    @abstractmethod
    def open_seekable(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        """A seekable binary stream of the object and its :class:`ObjectInfo`; the caller closes the stream.

        The info is known before any byte is read (a response's headers go out
        first), and describes the very bytes the stream gives: an object
        replaced meanwhile is either still read whole in its opened version, or
        refused with :class:`~shiftmedia.errors.ObjectChanged`, never mixed.
        Reading at or past the end gives ``b""``.
        """

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        """The whole object; :class:`LimitExceeded` if it is over ``max_bytes``."""
        with self.open(key) as stream:
            if max_bytes is None:
                return stream.read()
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise LimitExceeded(f"object is larger than {max_bytes} bytes")
        return data

    @abstractmethod
    def write(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
        if_absent: bool = False,
    ) -> bool:
        """Store ``data`` under ``key`` atomically: readers see all of it or nothing.

        With ``if_absent`` an existing object is kept and ``False`` returned (the
        loser of a race for the same derivative treats that as success). Returns
        ``True`` when this call stored the object.
        """

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove one object; ``False`` if it did not exist."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix`` (ending in ``/``); return how many."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix`` (``""`` or ending in ``/``), in key order."""

    @abstractmethod
    def public_url(self, key: str) -> str:
        """The URL a browser fetches ``key`` from."""

    def signed_url(self, key: str, expires: int) -> str | None:
        """A URL that reads ``key`` for ``expires`` seconds without credentials; ``None`` if the store cannot sign."""
        return None

    @abstractmethod
    def check(self) -> None:
        """Raise :class:`StorageError` unless the store is reachable and usable."""
