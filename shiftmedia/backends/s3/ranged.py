"""Seekable reads of one version of an S3 object, through ranged GETs opened as they are needed.

:class:`Ranged` reads an object whose size and ETag a HEAD gave. Seeking and
telling make no request. The first read after a seek sends ``GET`` with
``Range: bytes=<position>-`` and reads that body on from there, so a
sequential read is one GET however long the object; a seek elsewhere closes
the body, and the next read opens another at the new position. Reading at or
past the end makes no request and gives ``b""``.

Every GET carries ``If-Match`` with the ETag of the HEAD. Once the object is
replaced the store answers 412, which leaves as
:class:`~shiftmedia.errors.ObjectChanged`: a stream never gives bytes of two
versions, and the size told before the first read stays true. Each body is a
:class:`~.streams.Body`, so a failure mid-body is translated and reaches the
circuit breaker like any other read's.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from ...errors import StorageError
from . import errors
from .streams import Body

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from types_boto3_s3 import S3Client


class Ranged(io.RawIOBase):
    """The object ``key`` (the full key) of ``bucket``, ``size`` bytes long, as long as its ETag is ``etag``.

    ``on_error`` sees each library exception raised while a body is read (the
    backend's circuit breaker). Meant to be read through a buffer
    (:func:`~.streams.buffered`), which keeps small reads from becoming small
    socket reads.
    """

    def __init__(
        self, client: S3Client, bucket: str, key: str, size: int, etag: str, on_error: Callable[[BaseException], object]
    ) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._etag = etag
        self._on_error = on_error
        self._position = 0
        self._body: Body | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._checkClosed()
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move to a new position, which may lie past the end; the open body is closed if it moved."""
        self._checkClosed()
        if whence not in (os.SEEK_SET, os.SEEK_CUR, os.SEEK_END):
            raise ValueError(f"invalid whence ({whence})")
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        if position != self._position:
            self._drop()
            self._position = position
        return position

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._checkClosed()
        view = memoryview(buffer).cast("B")
        if not view or self._position >= self._size:
            return 0
        if self._body is None:
            self._body = self._open()
        n = self._body.readinto(view)
        self._position += n
        return n

    def close(self) -> None:
        self._drop()
        super().close()

    def _drop(self) -> None:
        """Close the body being read, if any: the next read opens one where the position is then."""
        if self._body is not None:
            self._body.close()
            self._body = None

    def _open(self) -> Body:
        """A GET of the object from the current position to its end, refused if the object was replaced."""
        response = errors.matching(
            "read",
            self._bucket,
            self._key,
            self._client.get_object,
            Bucket=self._bucket,
            Key=self._key,
            Range=f"bytes={self._position}-",
            IfMatch=f'"{self._etag}"',
        )
        body = Body(response["Body"], self._bucket, self._key, self._on_error)
        if self._position and not response.get("ContentRange", "").startswith(f"bytes {self._position}-"):
            body.close()
            raise StorageError(f"S3 read of s3://{self._bucket}/{self._key}: the store ignored the Range header")
        return body
