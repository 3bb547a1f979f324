"""HEIF (HEIC, AVIF): the GPS position removed from the Exif and XMP items, in place.

A HEIF file is a tree of boxes. Its top-level ``meta`` box lists the items:
``iinf`` gives each one's type (``Exif``; ``mime`` of content type
``application/rdf+xml`` for XMP) and ``iloc`` where its bytes are. An Exif
item is a 4-byte offset to its TIFF header (iPhones put ``Exif\\0\\0`` before
it), then the TIFF block, whose GPS directory :func:`.tiff.zero_gps` zeroes as
for a JPEG; an XMP item that names a GPS property becomes an empty packet
padded with spaces to its length. No byte moves, so the file keeps its length
and every offset of ``iloc`` stays right; the coded pictures are not touched.

Strict where the position could survive. An Exif or XMP item laid out as this
module does not read (in ``idat``, built from other items, in several
extents, in another file, outside ``mdat``, protected, no TIFF header where it
says), or a ``meta`` box that cannot be read, raises
:class:`~shiftmedia.errors.UnsupportedImage`: the upload is refused rather
than stored with its position. A file with no ``meta`` box, or no Exif or XMP
item, is returned as it is, like a broken JPEG (no reader finds a position in
it either). The top-level walk stops at a broken box header and takes a last
box cut short as ending at the end of the file, as libheif does for a
truncated ``mdat``; an item beyond the end is then refused.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from ..errors import UnsupportedImage
from .tiff import zero_gps

_EXIF_HEADER = b"Exif\x00\x00"
_XMP_TYPE = b"application/rdf+xml"
_EMPTY_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_FIELD_SIZES = frozenset({0, 4, 8})


class Box(NamedTuple):
    """A box: its type, where its payload starts (after the header) and where it ends."""

    kind: bytes
    start: int
    end: int


class Location(NamedTuple):
    """Where ``iloc`` says an item is: its construction method, data reference, extents and first extent."""

    method: int
    reference: int
    extents: int
    start: int
    length: int


class _Refused(Exception):
    """Why the position cannot be removed; :func:`strip` turns it into :class:`UnsupportedImage`."""


def strip(data: bytes, label: str) -> bytes:
    """``data`` without the GPS position of its Exif and XMP items; ``label`` names the format in errors."""
    boxes = _top_level(data)
    mdats = [box for box in boxes if box.kind == b"mdat"]
    out = bytearray(data)
    try:
        for meta in (box for box in boxes if box.kind == b"meta"):
            for what, start, end in _metadata_items(data, meta, mdats):
                _clean(out, what, start, end)
    except _Refused as error:
        raise UnsupportedImage(f"cannot remove the GPS position from this {label}: {error}") from None
    return bytes(out)


def _top_level(data: bytes) -> list[Box]:
    """The top-level boxes, up to the first broken header; a last box cut short ends at the end of ``data``."""
    found = []
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 16 if size == 1 else 8
        if size == 1 and pos + 16 <= len(data):
            size = struct.unpack_from(">Q", data, pos + 8)[0]
        elif size == 0:
            size = len(data) - pos
        if size < header:
            break
        found.append(Box(kind, pos + header, min(pos + size, len(data))))
        pos += size
    return found


def _children(data: bytes, start: int, end: int, parent: str) -> list[Box]:
    """The boxes filling ``data[start:end]``, inside ``parent``; refused unless they fill it exactly."""
    found = []
    pos = start
    while pos < end:
        reader = _Reader(data, pos, end, parent)
        size, kind, header = reader.uint(4), reader.take(4), 8
        if size == 1:
            size, header = reader.uint(8), 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise _Refused(f"a box in its {parent} box does not fit")
        found.append(Box(kind, pos + header, pos + size))
        pos += size
    return found


class _Reader:
    """Big-endian fields of ``data[pos:end]``, one after another; refused past ``end``."""

    def __init__(self, data: bytes, pos: int, end: int, box: str) -> None:
        self.data, self.pos, self.end, self.box = data, pos, end, box

    def take(self, size: int) -> bytes:
        if self.pos + size > self.end:
            raise _Refused(f"its {self.box} box is cut short")
        self.pos += size
        return self.data[self.pos - size : self.pos]

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def string(self) -> bytes:
        """A NUL-terminated string (the rest of the box when the NUL is missing)."""
        stop = self.data.find(b"\x00", self.pos, self.end)
        return self.take((self.end if stop < 0 else stop + 1) - self.pos).rstrip(b"\x00")


def _metadata_items(data: bytes, meta: Box, mdats: list[Box]) -> list[tuple[str, int, int]]:
    """``(Exif or XMP, start, end)`` of each metadata item the ``meta`` box lists, checked to lie in ``mdat``."""
    if meta.end - meta.start < 4:
        raise _Refused("its meta box is cut short")
    children = _children(data, meta.start + 4, meta.end, "meta")
    wanted: dict[int, str] = {}
    for box in children:
        if box.kind == b"iinf":
            wanted.update(_wanted_items(data, box))
    if not wanted:
        return []
    ilocs = [box for box in children if box.kind == b"iloc"]
    if len(ilocs) != 1:
        raise _Refused(f"its meta box has {len(ilocs)} iloc boxes")
    places = _locations(data, ilocs[0])
    return [_place(what, places.get(item), len(data), mdats) for item, what in wanted.items()]


def _wanted_items(data: bytes, iinf: Box) -> dict[int, str]:
    """Item id → ``"Exif"`` or ``"XMP"``, for the items of those types ``iinf`` lists."""
    reader = _Reader(data, iinf.start, iinf.end, "iinf")
    reader.take(2 if reader.uint(4) >> 24 == 0 else 4)  # the entry count: the infe boxes are walked instead
    wanted = {}
    for box in _children(data, reader.pos, iinf.end, "iinf"):
        if box.kind != b"infe":
            continue
        entry = _Reader(data, box.start, box.end, "infe")
        version = entry.uint(4) >> 24
        if version < 2:  # an item type is given from version 2 on
            continue
        if version > 3:
            raise _Refused(f"its item information is version {version}")
        item, protection, kind = entry.uint(2 if version == 2 else 4), entry.uint(2), entry.take(4)
        entry.string()  # the item's name
        what = "Exif" if kind == b"Exif" else "XMP" if kind == b"mime" and entry.string() == _XMP_TYPE else ""
        if not what:
            continue
        if protection:
            raise _Refused(f"its {what} item is protected")
        if what == "XMP" and entry.string():
            raise _Refused("its XMP item is compressed")
        wanted[item] = what
    return wanted


def _locations(data: bytes, iloc: Box) -> dict[int, Location]:
    """Item id → where ``iloc`` (version 0, 1 or 2) says its bytes are."""
    reader = _Reader(data, iloc.start, iloc.end, "iloc")
    version = reader.uint(4) >> 24
    if version > 2:
        raise _Refused(f"its iloc box is version {version}")
    offset_size, length_size = divmod(reader.uint(1), 16)
    base_size, index_size = divmod(reader.uint(1), 16)
    index_size = index_size if version else 0
    if not {offset_size, length_size, base_size, index_size} <= _FIELD_SIZES:
        raise _Refused("its iloc box has fields of unknown sizes")
    id_size = 2 if version < 2 else 4
    places = {}
    for _ in range(reader.uint(id_size)):
        item = reader.uint(id_size)
        method = reader.uint(2) & 0x0F if version else 0
        reference, base, extents = reader.uint(2), reader.uint(base_size), reader.uint(2)
        start = length = 0
        if extents == 1:
            reader.take(index_size)
            start, length = base + reader.uint(offset_size), reader.uint(length_size)
        else:
            reader.take(extents * (index_size + offset_size + length_size))
        places[item] = Location(method, reference, extents, start, length)
    return places


def _place(what: str, place: Location | None, size: int, mdats: list[Box]) -> tuple[str, int, int]:
    """``(what, start, end)`` of an item read in place, or refused saying why not."""
    if place is None:
        raise _Refused(f"its {what} item has no location")
    if place.method == 1:
        raise _Refused(f"its {what} item is in the idat box")
    if place.method:
        raise _Refused(f"its {what} item is built by construction method {place.method}")
    if place.reference:
        raise _Refused(f"its {what} item is in another file (data reference {place.reference})")
    if place.extents != 1:
        raise _Refused(f"its {what} item is in {place.extents} extents")
    if not place.length:
        raise _Refused(f"its {what} item's length is 0 (the rest of the file)")
    end = place.start + place.length
    if end > size:
        raise _Refused(f"its {what} item lies outside the file")
    if not any(box.start <= place.start and end <= box.end for box in mdats):
        raise _Refused(f"its {what} item lies outside the mdat box")
    return what, place.start, end


def _clean(out: bytearray, what: str, start: int, end: int) -> None:
    """Zero the GPS directory of an Exif item, or empty an XMP item that names a GPS property."""
    if what == "XMP":
        if b"GPS" in out[start:end]:
            empty = _EMPTY_XMP if len(_EMPTY_XMP) <= end - start else b""
            out[start:end] = empty.ljust(end - start, b" ")
        return
    tiff = start + 4 + int.from_bytes(out[start : start + 4], "big") if end - start >= 4 else end
    tiff += len(_EXIF_HEADER) if out[tiff : tiff + 6] == _EXIF_HEADER and tiff + 6 < end else 0
    if tiff + 8 > end or bytes(out[tiff : tiff + 4]) not in _TIFF_MAGIC:
        raise _Refused("its Exif item has no TIFF header where it says")
    block = out[tiff:end]
    zero_gps(block)
    out[tiff:end] = block
