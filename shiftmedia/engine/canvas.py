"""Pad onto the plan's canvas.

Padding happens after scaling, so the background stays a flat, exact colour
(the crop happens while scaling, see :mod:`.scale`).
"""

from __future__ import annotations

from PIL import Image

from . import background
from .plan import Plan


def pad(image: Image.Image, plan: Plan, colour: str) -> Image.Image:
    """``image`` placed on the plan's canvas filled with ``colour``; ``image`` itself
    when it already fills the canvas.

    The canvas gains an alpha channel when the colour is not opaque and a hue
    when a grayscale image is padded with a colour, so neither is lost.
    """
    if image.size == plan.canvas:
        return image
    fill = background.parse(colour)
    mode = image.mode
    if not background.is_grey(fill):
        mode = {"L": "RGB", "LA": "RGBA"}.get(mode, mode)
    if fill[3] < 255:
        mode = {"L": "LA", "RGB": "RGBA"}.get(mode, mode)
    value: int | tuple[int, ...] = fill[0] if mode == "L" else (fill[0], fill[3]) if mode == "LA" else fill
    canvas = Image.new(mode, plan.canvas, value)
    canvas.paste(image if image.mode == mode else image.convert(mode), plan.offset)
    return canvas
