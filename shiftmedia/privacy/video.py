"""Videos (MP4, MOV, WebM, MKV): the position a phone recorded, removed in place.

An MP4 or a MOV is a tree of boxes; its metadata lives in the ``moov`` box
and its tracks, apart from the media data (``mdat``). A position is found:

- ``udta/©xyz``, an ISO 6709 string such as ``+48.8584+002.2945/`` (Android,
  FFmpeg's ``-metadata location=``), and ``udta/loci``, 3GPP's binary one;
- a ``meta`` box's ``ilst`` item whose ``keys`` entry names a location or GPS
  (``com.apple.quicktime.location.ISO6709`` and its siblings on an iPhone,
  ``location`` from FFmpeg's ``use_metadata_tags``), or an ``ilst`` ``©xyz``;
- XMP (``udta/XMP_``, or a ``uuid`` box of XMP's UUID) naming ``exif:GPS*``.

The ``stco``/``co64`` tables hold offsets into ``mdat``, so no byte moves: a
location box or item becomes a ``free`` box of zeros (players skip it), an XMP
packet naming GPS an empty one padded with spaces. Only box headers are read,
never ``mdat``: a 50 MB clip costs the copy of its bytes.

Strict where the position could survive. A box on the way to the metadata
that cannot be walked (a child that does not fit its parent, a ``moov`` that
runs past the end of the file, a top-level size smaller than its header), a
``meta`` box of items (``iloc``), or a track of timed metadata that may carry
a position in every sample (GoPro's ``gpmd``, DJI's ``djmd``, Google's
``camm``, an Apple ``mebx`` naming a location key) raises
:class:`~shiftmedia.errors.UnsupportedImage`: the upload is refused rather than
stored with its position. A file without ``moov`` is returned as it is.

Matroska (WebM, MKV) has no location field and phones do not record it, but
FFmpeg keeps a phone's position when it converts the video (a ``LOCATION``
tag, or the iPhone's key names). Each ``SimpleTag`` whose name names a
location or GPS becomes a ``Void`` element of the same length, and the
``CRC-32`` of the elements around it is recomputed. The walk reads the first
Segment's elements (a cluster's blocks only when a live recording left its
size unknown), and refuses what it cannot walk past; a file without a
readable EBML header is returned as it is.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

from ..errors import UnsupportedImage

_XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
_EMPTY_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
_POSITION_BOXES = frozenset({b"\xa9xyz", b"loci"})
_CONTAINERS = frozenset({b"moov", b"trak", b"udta", b"mdia", b"minf", b"stbl"})
_HOLDERS = _CONTAINERS | {b"meta", b"uuid"}
_POSITION_TRACKS = frozenset({b"gpmd", b"djmd", b"camm"})

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_SEGMENT, _CLUSTER, _TAGS, _TAG, _SIMPLE_TAG, _TAG_NAME = 0x18538067, 0x1F43B675, 0x1254C367, 0x7373, 0x67C8, 0x45A3
_CRC, _VOID = 0xBF, 0xEC
#: The elements a Segment holds: one of them ends a cluster of unknown size.
_SEGMENT_CHILDREN = frozenset({0x114D9B74, 0x1549A966, 0x1654AE6B, _TAGS, _CLUSTER, 0x1C53BB6B, 0x1043A770, 0x1941A469})


class Box(NamedTuple):
    """A box: its type, where its header starts, where its payload starts, and where it ends."""

    kind: bytes
    at: int
    start: int
    end: int


class _Refused(Exception):
    """Why the position cannot be removed; :func:`strip` turns it into :class:`UnsupportedImage`."""


def strip(data: bytes, fmt: str) -> bytes:
    """``data``, a ``fmt`` video (``mp4``, ``mov``, ``webm``, ``mkv``), without its position; same length."""
    out = bytearray(data)
    try:
        if fmt in ("webm", "mkv"):
            _matroska(out)
        else:
            for box in _top_level(out):
                _clean(out, box)
    except _Refused as error:
        raise UnsupportedImage(f"cannot remove the GPS position from this {fmt.upper()}: {error}") from None
    return bytes(out)


def _names_position(name: bytes) -> bool:
    """Whether a metadata key or tag name says it holds a position."""
    lowered = name.lower()
    return b"location" in lowered or b"gps" in lowered


def _top_level(data: bytearray) -> list[Box]:
    """The top-level boxes; one that holds metadata must end within the file."""
    found, pos = [], 0
    while len(data) - pos >= 8:
        box = _box(data, pos, len(data))
        if box.end < box.start:
            raise _Refused(f"its top-level {_name(box.kind)!r} box has a size of {box.end - pos} bytes")
        if box.end > len(data) and box.kind in _HOLDERS:
            raise _Refused(f"its {_name(box.kind)} box runs past the end of the file")
        found.append(box._replace(end=min(box.end, len(data))))
        pos = box.end
    return found


def _children(data: bytearray, start: int, end: int, parent: bytes) -> list[Box]:
    """The boxes filling ``data[start:end]``, inside ``parent``; refused unless they fit it.
    QuickTime may end a list with a 32-bit zero, which is no box."""
    found, pos = [], start
    while pos < end:
        box = _box(data, pos, end) if end - pos >= 8 else None
        if box is None and not any(data[pos:end]):
            break
        if box is None or box.end < box.start or box.end > end:
            raise _Refused(f"a box in its {_name(parent)} box does not fit")
        found.append(box)
        pos = box.end
    return found


def _box(data: bytearray, pos: int, end: int) -> Box:
    """The box whose header is at ``pos``, its size as written (64-bit too; 0 runs to ``end``).
    It ends before its payload starts when its size is smaller than its header."""
    size, kind = struct.unpack_from(">I4s", data, pos)
    header = 8
    if size == 1 and end - pos >= 16:
        size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
    elif size == 0:
        size = end - pos
    return Box(kind, pos, pos + header, pos + size)


def _clean(out: bytearray, box: Box) -> None:
    """Remove the position from ``box`` and the boxes in it."""
    if box.kind in _POSITION_BOXES:
        _erase(out, box)
    elif box.kind == b"XMP_":
        _blank_xmp(out, box.start, box.end)
    elif box.kind == b"uuid" and out[box.start : box.start + 16] == _XMP_UUID:
        _blank_xmp(out, box.start + 16, box.end)
    elif box.kind == b"meta":
        _meta(out, box)
    elif box.kind == b"stsd":
        _check_timed_metadata(out, box)
    elif box.kind in _CONTAINERS:
        for child in _children(out, box.start, box.end, box.kind):
            _clean(out, child)


def _meta(out: bytearray, box: Box) -> None:
    """Erase the ``ilst`` items that hold a position, by their key's name or as ``©xyz``."""
    start = box.start + 4 if out[box.start : box.start + 4] == bytes(4) else box.start  # ISO's meta has a version
    children = _children(out, start, box.end, b"meta")
    if any(child.kind == b"iloc" for child in children):
        raise _Refused("its meta box holds items (iloc)")
    keys: dict[int, bytes] = {}
    for child in children:
        if child.kind == b"keys":
            keys.update(_keys(out, child))
    for child in children:
        if child.kind != b"ilst":
            _clean(out, child)
            continue
        for item in _children(out, child.start, child.end, b"ilst"):
            if item.kind == b"\xa9xyz" or _names_position(keys.get(int.from_bytes(item.kind, "big"), b"")):
                _erase(out, item)


def _keys(out: bytearray, box: Box) -> dict[int, bytes]:
    """Key index (from 1) → key name, as a ``keys`` box lists them (each entry is laid out as a box)."""
    if box.end - box.start < 8:
        raise _Refused("its keys box is cut short")
    entries = _children(out, box.start + 8, box.end, b"keys")
    return {index: bytes(out[entry.start : entry.end]) for index, entry in enumerate(entries, 1)}


def _check_timed_metadata(out: bytearray, box: Box) -> None:
    """Refuse a track whose samples may each carry a position: they lie in ``mdat``, where nothing is cleaned."""
    for entry in _children(out, box.start + 8, box.end, b"stsd"):
        if entry.kind in _POSITION_TRACKS:
            raise _Refused(f"its {_name(entry.kind)!r} track of timed metadata may hold positions")
        if entry.kind == b"mebx" and _names_position(bytes(out[entry.start : entry.end])):
            raise _Refused("its 'mebx' track of timed metadata names a location")


def _erase(out: bytearray, box: Box) -> None:
    """Turn ``box`` into a ``free`` box of zeros, the same length."""
    out[box.at + 4 : box.at + 8] = b"free"
    out[box.start : box.end] = bytes(box.end - box.start)


def _blank_xmp(out: bytearray, start: int, end: int) -> None:
    """Replace an XMP packet that names a GPS property by an empty one, padded with spaces to its length."""
    if b"GPS" in out[start:end]:
        empty = _EMPTY_XMP if len(_EMPTY_XMP) <= end - start else b""
        out[start:end] = empty.ljust(end - start, b" ")


def _name(kind: bytes) -> str:
    return kind.decode("latin-1")


def _matroska(out: bytearray) -> None:
    """Clean the Tags of the first Segment (FFmpeg reads no other); a header that cannot be read is no Matroska."""
    if not out.startswith(_EBML_MAGIC) or not _width(out, len(_EBML_MAGIC), len(out), 8):
        return
    pos = 0
    while pos < len(out):
        ident, start, size = _element(out, pos, len(out))
        if ident == _SEGMENT:
            return _segment(out, start, len(out) if size is None else min(start + size, len(out)))
        if size is None:
            raise _Refused(f"its element {ident:X} before the Segment has an unknown size")
        pos = start + size


def _segment(out: bytearray, pos: int, end: int) -> None:
    """The Segment's elements: Tags are cleaned, the rest skipped (a cluster of unknown size by its blocks)."""
    while pos < end:
        ident, start, size = _element(out, pos, end)
        if size is None:
            if ident != _CLUSTER:
                raise _Refused(f"its element {ident:X} has an unknown size")
            pos = _cluster_end(out, start, end)
            continue
        if ident == _TAGS:
            if start + size > end:
                raise _Refused("its Tags element runs past the end of the file")
            _tags(out, start, start + size)
        pos = start + size


def _cluster_end(out: bytearray, pos: int, end: int) -> int:
    """Where a cluster of unknown size ends: at the next element that is no block of it."""
    while pos < end:
        ident, start, size = _element(out, pos, end)
        if ident in _SEGMENT_CHILDREN or size is None:
            return pos
        pos = start + size
    return end


def _tags(out: bytearray, start: int, end: int) -> bool:
    """Void the ``SimpleTag`` elements naming a position in the master element ``out[start:end]``
    (Tags, Tag or SimpleTag), fixing its CRC-32; ``True`` if any was."""
    changed = False
    children = _elements(out, start, end)
    for ident, at, payload, stop in children:
        if ident == _SIMPLE_TAG and _names_position(_tag_name(out, payload, stop)):
            _void(out, at, stop)
            changed = True
        elif ident in (_TAG, _SIMPLE_TAG):
            changed = _tags(out, payload, stop) or changed
    if changed and children and children[0][0] == _CRC and children[0][3] - children[0][2] == 4:
        crc = children[0]
        struct.pack_into("<I", out, crc[2], zlib.crc32(out[crc[3] : end]))
    return changed


def _tag_name(out: bytearray, start: int, end: int) -> bytes:
    """The ``TagName`` of the ``SimpleTag`` whose payload is ``out[start:end]``."""
    names = [bytes(out[payload:stop]) for ident, _at, payload, stop in _elements(out, start, end) if ident == _TAG_NAME]
    return names[0] if names else b""


def _elements(out: bytearray, pos: int, end: int) -> list[tuple[int, int, int, int]]:
    """``(ID, where it starts, where its payload starts, where it ends)`` of the elements filling ``out[pos:end]``."""
    found = []
    while pos < end:
        ident, start, size = _element(out, pos, end)
        if size is None or start + size > end:
            raise _Refused(f"an element of its Tags at byte {pos} does not fit")
        found.append((ident, pos, start, start + size))
        pos = start + size
    return found


def _void(out: bytearray, at: int, end: int) -> None:
    """Turn the element ``out[at:end]`` into a ``Void`` element of zeros, the same length."""
    size = end - at - 2
    header = bytes([_VOID, 0x80 | size]) if size < 127 else bytes([_VOID]) + (1 << 56 | size - 7).to_bytes(8, "big")
    out[at:end] = header.ljust(end - at, b"\x00")


def _element(out: bytearray, pos: int, end: int) -> tuple[int, int, int | None]:
    """The EBML element at ``pos``: its ID, where its payload starts, and its size (None when unknown)."""
    id_width = _width(out, pos, end, 4)
    size_width = _width(out, pos + id_width, end, 8) if id_width else 0
    start = pos + id_width + size_width
    if not size_width:
        raise _Refused(f"an element at byte {pos} cannot be read")
    size = int.from_bytes(out[pos + id_width : start], "big") & ((1 << 7 * size_width) - 1)
    return int.from_bytes(out[pos : pos + id_width], "big"), start, None if size == (1 << 7 * size_width) - 1 else size


def _width(out: bytearray, pos: int, end: int, longest: int) -> int:
    """How many bytes the EBML variable-length number at ``pos`` takes; 0 when it cannot be read before ``end``."""
    width = 9 - out[pos].bit_length() if pos < end else 0
    return width if 0 < width <= longest and pos + width <= end else 0
