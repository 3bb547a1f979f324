"""A read-only view of a backend: the sources shiftmedia resizes but never changes.

Reads, listings, URLs and health checks go to the wrapped backend; a write or
delete raises :class:`~shiftmedia.errors.AccessDenied` before the store is
asked, so no code path can change a source, whatever the credentials allow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from ..errors import AccessDenied
from .base import Backend, ObjectInfo


class ReadOnly(Backend):
    """``backend``, for reading only."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.private = backend.private
        self.nested_keys = backend.nested_keys

    def __repr__(self) -> str:
        return f"ReadOnly({self.backend!r})"

    def exists(self, key: str) -> bool:
        return self.backend.exists(key)

    def stat(self, key: str) -> ObjectInfo:
        return self.backend.stat(key)

    def open(self, key: str) -> BinaryIO:
        return self.backend.open(key)

    def open_seekable(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        return self.backend.open_seekable(key)

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        return self.backend.read(key, max_bytes)

    def write(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
        if_absent: bool = False,
    ) -> bool:
        raise AccessDenied("the sources are read-only: shiftmedia never writes them")

    def delete(self, key: str) -> bool:
        raise AccessDenied("the sources are read-only: shiftmedia never deletes from them")

    def delete_prefix(self, prefix: str) -> int:
        raise AccessDenied("the sources are read-only: shiftmedia never deletes from them")

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.backend.list(prefix)

    def public_url(self, key: str) -> str:
        return self.backend.public_url(key)

    def signed_url(self, key: str, expires: int) -> str | None:
        return self.backend.signed_url(key, expires)

    def check(self) -> None:
        self.backend.check()
