"""Cut the plan's box and resample it to the planned size, in one pass.

The plan's crop never becomes a copy: Pillow's ``resize(box=...)`` reads only
the box. It runs on the pixels as stored, before EXIF orientation, so that
only the small result has to be turned upright.

Resampling uses Lanczos on premultiplied alpha (:func:`premultiply`, once
per frame), so transparent pixels do not bleed their colour into edges.
Large reductions go through Pillow's ``reducing_gap``: a cheap box reduction
(``reduce()``) for the integer part, then Lanczos over the last few × of the
way. JPEG does better still: its decoder can produce 1/2, 3/8, 1/4 or 1/8 of
the image straight from the DCT, so a 22 MP photo never exists at full size
when a thumbnail is wanted, neither in time nor in memory.

Pillow's ``draft()`` offers 1/2, 1/4 and 1/8 only. libjpeg-turbo takes the
scale as ``1/denominator`` and rounds it up to the next multiple of 1/8, so a
denominator of 3 decodes at 3/8: for a 4608-wide photo fit to 1280 that is
1728 pixels instead of 2304, and a third less to resample.
:func:`_draft_three_eighths` asks for it the way ``draft()`` asks for the
others, and falls back to ``draft()`` when the image does not look the way
that needs.
"""

from __future__ import annotations

from fractions import Fraction

from PIL import Image, ImageFile, JpegImagePlugin

from .bands import Rows
from .orient import displayed_size, stored_box
from .plan import Plan

Extent = tuple[float, float]

PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
"""Modes with alpha, and the premultiplied form they are resampled in."""

STRAIGHT = {premultiplied: straight for straight, premultiplied in PREMULTIPLIED.items()}
"""The premultiplied modes, and the straight-alpha mode a result goes back to."""

FILTER = Image.Resampling.LANCZOS
"""The resampling filter after any integer ``reduce()``."""

REDUCING_GAP = 3.0
"""Pillow's documented value past which the result matches plain Lanczos."""

DRAFT_DETAIL = Fraction(1)
"""JPEG decodes to at least this many × the output's pixels (per side, of the
crop). The DCT's own reduction is a clean low-pass, so 1 is enough: on the
camera corpus the resize alone stays above 42 dB PSNR against a full-resolution
Lanczos reference for 400×400 fill and 1280-wide fit (2 gives 52 dB at up to
twice the decode time)."""

DRAFT_FORMATS = frozenset({"JPEG", "MPO"})
"""Pillow formats whose decoder scales on load."""

DCT_SCALES = (Fraction(1, 8), Fraction(1, 4), Fraction(3, 8), Fraction(1, 2))
"""The reduced scales the JPEG decoder is asked for, smallest first."""

THREE_EIGHTHS = Fraction(3, 8)
"""The scale ``draft()`` does not offer."""

THREE_EIGHTHS_DENOMINATOR = 3
"""The ``scale_denom`` (over ``scale_num`` 1) that libjpeg-turbo rounds up to 3/8."""


def shrink_on_load(image: Image.Image, plan: Plan, orientation: int) -> Extent:
    """Ask a JPEG decoder to decode no larger than the plan needs.

    Must run before the pixels are loaded. ``orientation`` maps the plan's
    displayed size back to the stored one the decoder works in. Returns the
    extent, in decoded stored pixels, that the whole source will span: the
    image's size, or a fraction of a pixel less after DCT scaling. Images
    that do not :func:`shrinks_on_load` are left untouched.
    """
    if shrinks_on_load(image):
        wanted = plan.decode_size(DRAFT_DETAIL)
        if wanted != plan.source:
            stored = displayed_size(wanted, orientation)
            if dct_scale(image.size, stored) == THREE_EIGHTHS and isinstance(image, ImageFile.ImageFile):
                extent = _draft_three_eighths(image)
                if extent is not None:
                    return extent
            drafted = image.draft(None, stored)
            if drafted is not None:
                return drafted[1][2], drafted[1][3]
    return float(image.size[0]), float(image.size[1])


def shrinks_on_load(image: Image.Image) -> bool:
    """True when the decoder of ``image`` can decode it reduced: a DCT-coded JPEG.

    A lossless JPEG (SOF3, as medical and scientific imaging write) has no
    DCT to scale, and libjpeg-turbo refuses a reduced decode of it ("broken
    data stream"), so it is decoded in full. Its header says so: a DCT-coded
    frame needs quantization tables (ITU T.81, B.2.4.1), a lossless one uses
    none and its encoders write none (libjpeg-turbo's does not), and Pillow
    collects the tables as it parses the header. Deciding here rather than
    retrying after a failed reduced decode costs nothing, and the retry could
    not reuse the image: Pillow drops its tiles and file when a decode fails.
    """
    if image.format not in DRAFT_FORMATS or not isinstance(image, JpegImagePlugin.JpegImageFile):
        return False
    return bool(image.quantization)


def dct_scale(size: tuple[int, int], wanted: tuple[int, int]) -> Fraction:
    """The smallest of :data:`DCT_SCALES` (or 1) at which an image of ``size``
    still spans ``wanted`` on both sides."""
    for dct in DCT_SCALES:
        if size[0] * dct >= wanted[0] and size[1] * dct >= wanted[1]:
            return dct
    return Fraction(1)


def _draft_three_eighths(image: ImageFile.ImageFile) -> Extent | None:
    """Set up ``image`` to decode at 3/8 scale, as ``draft()`` does for its scales.

    ``draft()`` records the scale denominator in ``decoderconfig`` (Pillow's
    JPEG decoder passes it to libjpeg-turbo as ``scale_denom``) and shrinks the
    tile and size to the decoder's output, the source size × 3/8 rounded up.
    Returns the extent the whole source will span, or None, changing nothing,
    when the image is not a single untouched JPEG tile (``draft()`` then
    takes over).
    """
    if len(image.tile) != 1 or image.decoderconfig or not hasattr(image, "_size"):
        return None
    tile = image.tile[0]
    width, height = image.size
    if tile.codec_name != "jpeg" or tile.extents != (0, 0, width, height) or not isinstance(tile.args, tuple):
        return None
    scaled = (
        -(-width * THREE_EIGHTHS.numerator // THREE_EIGHTHS.denominator),
        -(-height * THREE_EIGHTHS.numerator // THREE_EIGHTHS.denominator),
    )
    image.tile = [tile._replace(extents=(0, 0, *scaled))]
    image._size = scaled
    image.decoderconfig = (THREE_EIGHTHS_DENOMINATOR, 0)
    return float(width * THREE_EIGHTHS), float(height * THREE_EIGHTHS)


def premultiply(image: Image.Image, plan: Plan, orientation: int, extent: Extent) -> Image.Image:
    """``image`` with its colour premultiplied by its alpha, ready for
    :func:`resample`; ``image`` itself when it has no alpha or needs no resample.

    Pillow premultiplies an RGBA or LA image itself on every ``resize()``, a
    full-size copy each time; made once here, it serves every band.
    """
    if image.mode not in PREMULTIPLIED or _unchanged(image, *_target(plan, orientation, extent, None)):
        return image
    return image.convert(PREMULTIPLIED[image.mode])


def resample(image: Image.Image, plan: Plan, orientation: int, extent: Extent, rows: Rows | None = None) -> Image.Image:
    """The plan's crop of the stored ``image``, resampled to the plan's size as stored.

    ``extent`` is what :func:`shrink_on_load` returned (the image's size when
    it was not called). With ``rows`` (first and past-the-last row of the
    result, as stored), only that band of the result is made; the filter
    still reads the source rows around the band, so the band is those rows of
    the whole up to rounding (Pillow rounds between its two passes, which it
    may run in another order for a band). A premultiplied ``image`` (see
    :func:`premultiply`) gives a result with straight alpha. The result still
    needs turning upright for ``orientation``; it is ``image`` itself when
    nothing needs resampling.
    """
    box, size = _target(plan, orientation, extent, rows)
    if _unchanged(image, box, size):
        return image
    result = image.resize(size, FILTER, box=box, reducing_gap=REDUCING_GAP)
    straight = STRAIGHT.get(result.mode)
    return result if straight is None else result.convert(straight)


def _target(
    plan: Plan, orientation: int, extent: Extent, rows: Rows | None
) -> tuple[tuple[float, float, float, float], tuple[int, int]]:
    """The box of the stored source and the stored size of the result (or of its ``rows``)."""
    upright_extent = displayed_size(extent, orientation)
    left, top, right, bottom = stored_box(plan.box_in(upright_extent), upright_extent, orientation)
    width, height = displayed_size(plan.scaled, orientation)
    first, last = (0, height) if rows is None else rows

    def edge(row: int) -> float:
        return top if row == 0 else bottom if row == height else top + (bottom - top) * row / height

    return (left, edge(first), right, edge(last)), (width, last - first)


def _unchanged(image: Image.Image, box: tuple[float, float, float, float], size: tuple[int, int]) -> bool:
    """True when resampling ``box`` of ``image`` to ``size`` would give ``image`` back."""
    return size == image.size and box == (0, 0, *image.size)
