"""Byte streams around S3 transfers: a guarded response body, and replaying a sniffed head.

:class:`Body` wraps a GET response body so that a timeout or a reset in the
middle of an object leaves as a shiftmedia exception, like every other S3
failure. :class:`Prepended` and :func:`read_up_to` let a write read the first
bytes of an upload to choose one PUT or a multipart upload, then send those
bytes again in front of the rest without rewinding the caller's stream.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Protocol

from .errors import LIBRARY_ERRORS, translate

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class Readable(Protocol):
    """What :class:`Body` needs of botocore's ``StreamingBody``."""

    def read(self, amt: int, /) -> bytes: ...

    def close(self) -> None: ...


class Body(io.RawIOBase):
    """A GET response body for ``key`` (the full key) whose read errors are translated.

    botocore's ``StreamingBody`` raises botocore and urllib3 exceptions while
    it is read; callers of :meth:`S3Backend.open` must only ever see shiftmedia's.
    ``on_error`` sees each such exception first: the backend's circuit breaker
    learns of a store that stalls in the middle of a body.
    """

    def __init__(
        self, body: Readable, bucket: str, key: str, on_error: Callable[[BaseException], object] | None = None
    ) -> None:
        super().__init__()
        self._body = body
        self._bucket = bucket
        self._key = key
        self._on_error = on_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            chunk = self._body.read(len(view))
        except LIBRARY_ERRORS as exc:
            if self._on_error is not None:
                self._on_error(exc)
            raise translate(exc, "read", self._bucket, self._key) from None
        n = len(chunk)
        view[:n] = chunk
        return n

    def close(self) -> None:
        if not self.closed:
            # Closing a dead connection must not mask the caller's result.
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class Prepended(io.RawIOBase):
    """``head`` followed by the rest of ``stream``: replays what was read to size the object."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        chunk = self._stream.read(len(view)) or b""
        n = len(chunk)
        view[:n] = chunk
        return n


def read_up_to(stream: BinaryIO, size: int) -> bytes:
    """Read until ``size`` bytes or the end of ``stream`` (``read`` may return short)."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def buffered(raw: io.RawIOBase, buffer_size: int) -> BinaryIO:
    """``raw`` behind a read buffer, typed as the binary stream the backend interface promises."""
    return io.BufferedReader(raw, buffer_size=buffer_size)
