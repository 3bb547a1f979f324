"""Where an original was taken: removing the GPS position from an upload, losslessly.

Phone photos carry their position in the EXIF GPS directory, and often in an
XMP packet too. :func:`strip_gps` removes both without touching a pixel: the
GPS directory's entries and the values they point at are overwritten with
zeros and its entry count set to 0, in place (:mod:`.tiff`), so every other
EXIF offset (maker notes included) stays valid and the file keeps its length;
the XMP packet, which repeats the position as text, is dropped. JPEG (APP1),
PNG (``eXIf``, CRC recomputed) and WebP (``EXIF``/``XMP `` chunks) are handled
here; HEIC and AVIF (:mod:`.heif`) keep every byte in place, and are refused
(:class:`~shiftmedia.errors.UnsupportedImage`) when their metadata is laid out
in a way that cannot be cleaned in place. Videos (:mod:`.video`) keep every
byte in place too: an MP4 or MOV loses the location its phone wrote in the
``moov`` box (``©xyz``, ``loci``, the iPhone's location keys, XMP) and is
refused when it carries positions in timed metadata; a WebM or MKV loses the
location tags FFmpeg copies from a phone's video. Other formats are returned
unchanged and named by :func:`strippable`.
"""

from __future__ import annotations

import struct
import zlib

from . import heif, video
from .tiff import zero_gps

_EXIF_HEADER = b"Exif\x00\x00"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def strippable(fmt: str) -> bool:
    """True for the formats (canonical extensions) :func:`strip_gps` handles."""
    return fmt in ("jpg", "png", "webp", "heic", "avif", "mp4", "mov", "webm", "mkv")


def strip_gps(data: bytes, fmt: str) -> bytes:
    """``data`` without its GPS position (EXIF GPS directory zeroed, XMP dropped); pixels untouched.

    Malformed JPEG, PNG and WebP files, HEIF files without metadata items and
    videos without a ``moov`` box or EBML header are returned as they are; a
    HEIC, AVIF or video whose position cannot be removed in place raises
    :class:`~shiftmedia.errors.UnsupportedImage`.
    """
    if fmt == "jpg":
        return _jpeg(data)
    if fmt == "png":
        return _png(data)
    if fmt == "webp":
        return _webp(data)
    if fmt in ("heic", "avif"):
        return heif.strip(data, fmt.upper())
    if fmt in ("mp4", "mov", "webm", "mkv"):
        return video.strip(data, fmt)
    return data


def _jpeg(data: bytes) -> bytes:
    """Walk the markers before the scan: zero GPS in Exif APP1, drop XMP APP1."""
    if data[:2] != b"\xff\xd8":
        return data
    out = bytearray(data[:2])
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            break
        length = struct.unpack_from(">H", data, pos + 2)[0]
        end = pos + 2 + length
        if length < 2 or end > len(data):
            return data
        payload = bytearray(data[pos + 4 : end])
        if marker == 0xE1 and payload.startswith(_XMP_HEADER):
            pos = end
            continue
        if marker == 0xE1 and payload.startswith(_EXIF_HEADER):
            tiff = payload[len(_EXIF_HEADER) :]
            zero_gps(tiff)
            payload = bytearray(_EXIF_HEADER) + tiff
        out += data[pos : pos + 4] + payload
        pos = end
    return bytes(out + data[pos:])


def _png(data: bytes) -> bytes:
    """Zero GPS in the ``eXIf`` chunk (CRC recomputed); drop ``iTXt`` XMP chunks."""
    if not data.startswith(_PNG_SIGNATURE):
        return data
    out = bytearray(_PNG_SIGNATURE)
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = struct.unpack_from(">I", data, pos)[0]
        kind = bytes(data[pos + 4 : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return data
        body = bytearray(data[pos + 8 : pos + 8 + length])
        if kind == b"iTXt" and body.startswith(b"XML:com.adobe.xmp\x00"):
            pos = end
            continue
        if kind == b"eXIf" and zero_gps(body):
            out += data[pos : pos + 8] + body + struct.pack(">I", zlib.crc32(kind + body))
        else:
            out += data[pos:end]
        pos = end
    return bytes(out + data[pos:])


def _webp(data: bytes) -> bytes:
    """Zero GPS in the ``EXIF`` chunk; drop the ``XMP `` chunk and its flag, fixing the RIFF size."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return data
    out = bytearray(data[:12])
    pos = 12
    while pos + 8 <= len(data):
        kind = bytes(data[pos : pos + 4])
        size = struct.unpack_from("<I", data, pos + 4)[0]
        end = pos + 8 + size + (size & 1)
        if end > len(data):
            return data
        if kind == b"XMP ":
            pos = end
            continue
        chunk = bytearray(data[pos:end])
        if kind == b"EXIF":
            tiff = chunk[8 : 8 + size]
            header = len(_EXIF_HEADER) if tiff.startswith(_EXIF_HEADER) else 0
            block = tiff[header:]
            if zero_gps(block):
                chunk[8 + header : 8 + size] = block
        elif kind == b"VP8X":
            chunk[8] &= ~0x04 & 0xFF
        out += chunk
        pos = end
    out += data[pos:]
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)
