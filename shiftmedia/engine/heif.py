"""HEIF and HEIC (every iPhone photo since 2017), read through the optional pillow-heif.

Pillow reads no HEIF; pillow-heif's wheels carry libheif and the HEVC decoder
libde265. They also carry the x265 encoder, which makes those wheels GPLv2
(pillow-heif's LICENSES_bundled.txt) while shiftmedia is MIT, so pillow-heif
is the optional extra ``shiftmedia[heic]``, never a dependency of the core.
Without it a HEIF upload is refused as :class:`~shiftmedia.errors.UnsupportedImage`
that names the extra, not as an unknown file.

pillow-heif's wheels carry libheif 1.23 from pillow-heif 1.4.0, the floor of
the extra: from 1.22 libheif refuses to decode a picture larger than its
header says (older ones decode it whole, then crop it to the header's size:
a decompression bomb no limit on the header can see). A pillow-heif built
against an older libheif is refused like a missing one.

The engine recognises HEIF by its ``ftyp`` brands (:func:`is_heif`) and only
then imports pillow-heif (about 10 ms, once per process) and opens the bytes
with its reader class itself: nothing is registered with Pillow, so no other
format can reach pillow-heif. AVIF uses the same container (its brands
include ``mif1`` too) and stays with Pillow's own AVIF plugin: a file that
names an AVIF brand is never HEIF here, and Pillow's plugin is asked first.

What the reader gives needs nothing of its own downstream. Opening parses the
container only: the size (after the ``irot``/``imir`` turns) is known before
any pixel is decoded, so :class:`~.limits.Limits` applies as to every format.
libheif turns the pixels itself as it decodes and the reader sets the EXIF
orientation to 1, so the engine never turns them again. The image is the
primary one (not the other images of a burst or a stereo pair, nor a
thumbnail, which only ``draft()`` would pick and the engine never calls it for
HEIF), at 8 bits per sample (10- and 12-bit colour is reduced by the reader;
grey comes as 16-bit ``I;16``), with its alpha and its ICC profile (Display
P3 on iPhones), which :mod:`.colour` converts to sRGB as for any format. A
colour space given only as an ``nclx`` box, without a profile, is taken as
sRGB: right for BT.709 primaries, not for wider ones given that way.
"""

from __future__ import annotations

import io
import struct

from PIL import Image

from ..errors import UnsupportedImage

EXTRA = "shiftmedia[heic]"
"""The extra that installs pillow-heif."""

HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"})
"""``ftyp`` brands of HEVC-coded HEIF images and sequences, and of HEIF in general."""

AVIF_BRANDS = frozenset({b"avif", b"avis"})
"""``ftyp`` brands of AVIF, which is HEIF with AV1 inside and is left to Pillow."""

LIBHEIF_FLOOR = (1, 22)
"""The first libheif that decodes no more than the header declares."""

FTYP_MAX = 4096
"""Longest ``ftyp`` box read for its brands; real ones are a few dozen bytes."""


def is_heif(data: bytes) -> bool:
    """True when ``data`` starts with an ``ftyp`` box naming a HEIF brand and no AVIF one."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    size = min(struct.unpack_from(">I", data)[0], FTYP_MAX, len(data))
    brands = {data[8:12]} | {data[at : at + 4] for at in range(16, size - 3, 4)}
    return not brands & AVIF_BRANDS and bool(brands & HEIF_BRANDS)


def open_heif(stream: io.BytesIO) -> Image.Image:
    """The HEIF image in ``stream``, opened (header only) by pillow-heif's reader.

    Raises :class:`~shiftmedia.errors.UnsupportedImage` when pillow-heif is
    not installed, or uses a libheif older than :data:`LIBHEIF_FLOOR`.
    """
    try:
        import pillow_heif
    except ImportError as exc:
        raise UnsupportedImage(f"HEIC/HEIF images need pillow-heif: install {EXTRA}") from exc
    libheif = pillow_heif.libheif_version()
    if tuple(int(part) for part in libheif.split(".")[:2]) < LIBHEIF_FLOOR:
        raise UnsupportedImage(f"HEIC/HEIF images need libheif 1.22 or newer (install {EXTRA}); this one is {libheif}")
    return pillow_heif.HeifImageFile(stream, "")  # type: ignore[no-untyped-call]  # pillow-heif leaves __init__ unannotated
