"""Tell a video container by its first bytes, and whether the file is whole.

Two container families carry the videos shiftmedia takes, and each says what
it is in its first bytes:

- ISO base media (MP4, and QuickTime's MOV, which it grew from) opens with an
  ``ftyp`` box listing brands. A video names one of :data:`VIDEO_BRANDS`;
  HEIC and AVIF images use the same boxes with brands of their own
  (:data:`IMAGE_BRANDS`), and a file that names any of those stays an image,
  whatever else it names (an animated AVIF lists ``iso8`` too). The major
  brand ``qt  `` makes it a MOV. A QuickTime file from before ``ftyp``
  existed (one that opens with ``moov`` or ``mdat``) is not recognised.
- Matroska opens with the EBML magic, and its header's ``DocType`` says
  ``webm`` or ``matroska``.

Nothing here needs PyAV, so telling a video from an image costs a few byte
comparisons, and an image never reaches FFmpeg's demuxers.

:func:`check_whole` then reads the container's outline (the top-level boxes
of an MP4, the ``Segment`` size of a Matroska file) so that a truncated upload
is refused before FFmpeg reads a packet: FFmpeg would open it and decode its
first frames, and only fail at the point where the file stops.
"""

from __future__ import annotations

import struct

from ..errors import InvalidImage
from .heif import AVIF_BRANDS, FTYP_MAX, HEIF_BRANDS

IMAGE_BRANDS = HEIF_BRANDS | AVIF_BRANDS | {b"miaf"}
"""``ftyp`` brands of still images and image sequences: HEIF, AVIF and MIAF."""

VIDEO_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42", b"mp71"}
    | {b"avc1", b"M4V ", b"M4VH", b"M4VP", b"qt  ", b"dash", b"msnv", b"mmp4", b"XAVC", b"f4v "}
    | {b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gp8", b"3gp9", b"3g2a", b"3g2b", b"3g2c"}
)
"""``ftyp`` brands of MP4, MOV and 3GPP files: the ISO family, Apple's, Sony's and the phones'."""

QUICKTIME_BRAND = b"qt  "
"""The major brand of a MOV."""

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
"""The ID of the EBML header that opens every Matroska and WebM file."""

DOC_TYPE = b"\x42\x82"
"""The ID of the EBML header's ``DocType`` element."""

SEGMENT = b"\x18\x53\x80\x67"
"""The ID of the Matroska ``Segment``, which holds everything after the header."""

DOC_TYPES = {b"webm": "webm", b"matroska": "mkv"}
"""Matroska ``DocType`` values and the canonical extension of each."""

EBML_HEADER_MAX = 4096
"""Longest EBML header read; real ones are a few dozen bytes."""

TRACKS_MAX = 1 << 20
"""How far into a Matroska file its track headers are looked for; muxers put them in the first kilobytes."""

VIDEO_TRACK_PATH = (b"\x16\x54\xae\x6b", b"\xae", b"\xe0")
"""The elements from the ``Segment`` down to a track's video settings: ``Tracks``, ``TrackEntry``, ``Video``."""

PIXEL_WIDTH, PIXEL_HEIGHT = b"\xb0", b"\xba"
"""The IDs of a Matroska track's ``PixelWidth`` and ``PixelHeight``."""


def container_format(data: bytes) -> str | None:
    """The canonical extension of the video container ``data`` opens with
    (``mp4``, ``mov``, ``webm``, ``mkv``), or None for anything else."""
    if data[4:8] == b"ftyp":
        return _iso_format(data)
    if data[:4] == EBML_MAGIC:
        return _matroska_format(data)
    return None


def check_whole(data: bytes, format: str) -> None:
    """Raise :class:`~shiftmedia.errors.InvalidImage` when the container's outline
    says that ``data``, a ``format`` video, stops before its end."""
    if format in ("mp4", "mov"):
        _check_boxes(data)
    else:
        _check_segment(data)


def matroska_size(data: bytes) -> tuple[int, int] | None:
    """The frame size the first video track of the Matroska file ``data`` claims, if it is found.

    FFmpeg replaces it with what the decoder finds; when the decoder refuses
    the frame (over the pixel limit it is given), VP9's forgets the size
    altogether, and this is the size the file asked for.
    """
    length, end = _vint(data, len(EBML_MAGIC))
    element, size_at = _element_id(data, end + (length or 0))
    size, start = _vint(data, size_at)
    if length is None or element != SEGMENT:
        return None
    stop = min(len(data), TRACKS_MAX, start + size if size is not None else len(data))
    for wanted in VIDEO_TRACK_PATH:
        found = _child(data, start, stop, wanted)
        if found is None:
            return None
        start, stop = found
    width, height = _child(data, start, stop, PIXEL_WIDTH), _child(data, start, stop, PIXEL_HEIGHT)
    if width is None or height is None:
        return None
    return int.from_bytes(data[slice(*width)], "big"), int.from_bytes(data[slice(*height)], "big")


def _child(data: bytes, start: int, stop: int, wanted: bytes) -> tuple[int, int] | None:
    """Where the first ``wanted`` element between ``start`` and ``stop`` holds its data."""
    position = start
    while position < stop:
        element, size_at = _element_id(data, position)
        size, begins = _vint(data, size_at)
        if element is None or size is None:
            return None
        if element == wanted:
            return begins, min(begins + size, stop)
        position = begins + size
    return None


def _iso_format(data: bytes) -> str | None:
    size = min(struct.unpack_from(">I", data)[0], FTYP_MAX, len(data))
    major = data[8:12]
    brands = {major} | {data[at : at + 4] for at in range(16, size - 3, 4)}
    if brands & IMAGE_BRANDS or not brands & VIDEO_BRANDS:
        return None
    return "mov" if major == QUICKTIME_BRAND else "mp4"


def _matroska_format(data: bytes) -> str | None:
    length, end = _vint(data, len(EBML_MAGIC))
    if length is None:
        return None
    position, stop = end, min(end + length, EBML_HEADER_MAX, len(data))
    while position < stop:
        element, size_at = _element_id(data, position)
        size, start = _vint(data, size_at)
        if element is None or size is None:
            return None
        if element == DOC_TYPE:
            return DOC_TYPES.get(data[start : start + size].rstrip(b"\0"))
        position = start + size
    return None


def _check_boxes(data: bytes) -> None:
    """Walk the top-level boxes: each must end within the file, and one must be ``moov``."""
    position, found_movie = 0, False
    while len(data) - position >= 8:
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1 and len(data) - position >= 16:
            size, header = struct.unpack_from(">Q", data, position + 8)[0], 16
        elif size == 0:
            size = len(data) - position
        if size < header:
            raise InvalidImage(f"video is corrupt: its {kind!r} box has a size of {size} bytes")
        if position + size > len(data):
            raise InvalidImage(f"video is truncated: its {kind.decode('latin-1')!r} box runs past the end of the file")
        found_movie = found_movie or kind == b"moov"
        position += size
    if not found_movie:
        raise InvalidImage("video has no 'moov' box: it is truncated or not a whole MP4")


def _check_segment(data: bytes) -> None:
    """The ``Segment`` after the EBML header must end within the file, unless its size is unknown (live recordings)."""
    length, end = _vint(data, len(EBML_MAGIC))
    if length is None:
        raise InvalidImage("video is corrupt: its EBML header has no size")
    element, size_at = _element_id(data, end + length)
    size, start = _vint(data, size_at)
    if element != SEGMENT:
        raise InvalidImage("video is truncated or corrupt: no Matroska segment follows its header")
    if size is not None and start + size > len(data):
        raise InvalidImage("video is truncated: its Matroska segment runs past the end of the file")


def _element_id(data: bytes, position: int) -> tuple[bytes | None, int]:
    """The EBML element ID at ``position`` (its marker bits kept, as IDs are written) and where its size starts."""
    width = _vint_width(data, position, 4)
    if width is None:
        return None, position
    return data[position : position + width], position + width


def _vint(data: bytes, position: int) -> tuple[int | None, int]:
    """The EBML variable-length size at ``position`` and where its data starts;
    None for a malformed size or the reserved "unknown" one (all value bits set)."""
    width = _vint_width(data, position, 8)
    if width is None:
        return None, position
    value = int.from_bytes(data[position : position + width], "big") & ((1 << (7 * width)) - 1)
    if value == (1 << (7 * width)) - 1:
        return None, position + width
    return value, position + width


def _vint_width(data: bytes, position: int, longest: int) -> int | None:
    """How many bytes the variable-length integer at ``position`` takes (its leading zero bits + 1)."""
    if position >= len(data) or data[position] == 0:
        return None
    width = 9 - data[position].bit_length()
    return width if width <= longest and position + width <= len(data) else None
