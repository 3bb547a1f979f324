"""The GPS directory of a TIFF/EXIF block, zeroed in place: what every container's stripper shares.

The block keeps its length and every other offset in it (maker notes
included), so it can be written back where it was read from, into a JPEG
segment, a PNG or WebP chunk, or a HEIF item.
"""

from __future__ import annotations

import struct

GPS_IFD_TAG = 0x8825
#: Bytes per value of each TIFF field type (1 BYTE ... 12 DOUBLE, 13 IFD).
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def zero_gps(tiff: bytearray) -> bool:
    """Zero the GPS directory of a TIFF/EXIF block in place; ``True`` if it had one.

    Malformed offsets are left alone (the block is then returned as it was):
    this never raises for hostile input, and never writes outside ``tiff``.
    """
    if len(tiff) < 8 or bytes(tiff[:2]) not in (b"II", b"MM"):
        return False
    order = "<" if tiff[:2] == b"II" else ">"
    ifd0 = _u32(tiff, 4, order)
    gps = next((value for tag, _type, _count, value in _entries(tiff, ifd0, order) if tag == GPS_IFD_TAG), None)
    if gps is None or gps + 2 > len(tiff):
        return False
    entries = list(_entries(tiff, gps, order))
    for _tag, kind, count, value in entries:
        size = _TYPE_SIZES.get(kind, 1) * count
        if size > 4 and value + size <= len(tiff):
            tiff[value : value + size] = bytes(size)
    end = gps + 2 + 12 * len(entries)
    tiff[gps:end] = bytes(end - gps)
    return True


def _entries(tiff: bytearray, offset: int, order: str) -> list[tuple[int, int, int, int]]:
    """``(tag, type, count, value or offset)`` of the IFD at ``offset``; empty when out of bounds."""
    if offset + 2 > len(tiff):
        return []
    count = struct.unpack_from(order + "H", tiff, offset)[0]
    if offset + 2 + 12 * count > len(tiff):
        return []
    return [struct.unpack_from(order + "HHII", tiff, offset + 2 + 12 * i) for i in range(count)]


def _u32(data: bytearray, offset: int, order: str) -> int:
    value: int = struct.unpack_from(order + "I", data, offset)[0]
    return value
