"""Resample to the planned size, and let JPEG shrink while it decodes.

Resampling uses Lanczos, which Pillow applies on premultiplied alpha, so
transparent pixels do not bleed their colour into edges. Large reductions go
through Pillow's ``reducing_gap``: a cheap box reduction first, then Lanczos
over the last few × of the way. JPEG does better still: its decoder can
produce 1/2, 1/4 or 1/8 of the image straight from the DCT (``draft``), so a
22 MP photo never exists at full size when a thumbnail is wanted.
"""

from __future__ import annotations

from PIL import Image

from .orient import displayed_size
from .plan import Plan, Size

REDUCING_GAP = 3.0
"""Pillow's documented value past which the result matches plain Lanczos."""

DRAFT_DETAIL = 2
"""JPEG decodes to at least this many × the output's pixels, keeping it sharp."""

DRAFT_FORMATS = frozenset({"JPEG", "MPO"})
"""Pillow formats whose decoder scales on load."""


def shrink_on_load(image: Image.Image, plan: Plan, orientation: int) -> None:
    """Ask a JPEG decoder to decode no larger than the plan needs.

    Must run before the pixels are loaded. ``orientation`` maps the plan's
    displayed size back to the stored one the decoder works in. Other formats
    are left untouched.
    """
    if image.format not in DRAFT_FORMATS:
        return
    wanted = plan.decode_size(DRAFT_DETAIL)
    if wanted != plan.source:
        image.draft(None, displayed_size(wanted, orientation))


def scale(image: Image.Image, size: Size) -> Image.Image:
    """``image`` resampled to ``size`` with Lanczos; ``image`` itself when already that size."""
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
