"""Cut the plan's box and resample it to the planned size, in one pass.

The plan's crop never becomes a copy: Pillow's ``resize(box=...)`` reads only
the box. It runs on the pixels as stored, before EXIF orientation, so that
only the small result has to be turned upright.

Resampling uses Lanczos, which Pillow applies on premultiplied alpha, so
transparent pixels do not bleed their colour into edges. Large reductions go
through Pillow's ``reducing_gap``: a cheap box reduction (``reduce()``) for
the integer part, then Lanczos over the last few × of the way. JPEG does
better still: its decoder can produce 1/2, 1/4 or 1/8 of the image straight
from the DCT (``draft``), so a 22 MP photo never exists at full size when a
thumbnail is wanted, neither in time nor in memory.
"""

from __future__ import annotations

from fractions import Fraction

from PIL import Image

from .orient import displayed_size, stored_box
from .plan import Plan

Extent = tuple[float, float]

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


def shrink_on_load(image: Image.Image, plan: Plan, orientation: int) -> Extent:
    """Ask a JPEG decoder to decode no larger than the plan needs.

    Must run before the pixels are loaded. ``orientation`` maps the plan's
    displayed size back to the stored one the decoder works in. Returns the
    extent, in decoded stored pixels, that the whole source will span: the
    image's size, or a fraction of a pixel less after DCT scaling. Other
    formats are left untouched.
    """
    if image.format in DRAFT_FORMATS:
        wanted = plan.decode_size(DRAFT_DETAIL)
        if wanted != plan.source:
            drafted = image.draft(None, displayed_size(wanted, orientation))
            if drafted is not None:
                return drafted[1][2], drafted[1][3]
    return float(image.size[0]), float(image.size[1])


def resample(image: Image.Image, plan: Plan, orientation: int, extent: Extent) -> Image.Image:
    """The plan's crop of the stored ``image``, resampled to the plan's size as stored.

    ``extent`` is what :func:`shrink_on_load` returned (the image's size when
    it was not called). The result still needs turning upright for
    ``orientation``; it is ``image`` itself when nothing needs resampling.
    """
    upright_extent = displayed_size(extent, orientation)
    box = stored_box(plan.box_in(upright_extent), upright_extent, orientation)
    size = displayed_size(plan.scaled, orientation)
    if size == image.size and box == (0, 0, *image.size):
        return image
    return image.resize(size, FILTER, box=box, reducing_gap=REDUCING_GAP)
