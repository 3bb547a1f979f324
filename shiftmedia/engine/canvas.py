"""Crop to the plan's box and pad onto the plan's canvas.

Cropping happens before scaling, so only the kept pixels are resampled; padding
happens after, so the background stays a flat, exact colour.
"""

from __future__ import annotations

from PIL import Image

from . import background
from .plan import Plan


def crop(image: Image.Image, plan: Plan) -> Image.Image:
    """The part of ``image`` the plan keeps; ``image`` itself when it keeps all.

    ``image`` shows the whole source, possibly reduced on load, so the plan's
    box is mapped onto its size first.
    """
    box = plan.crop_in(image.size)
    if box == (0, 0, *image.size):
        return image
    return image.crop(box)


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
    value = {"L": fill[0], "LA": (fill[0], fill[3])}.get(mode, fill)
    canvas = Image.new(mode, plan.canvas, value)
    canvas.paste(image if image.mode == mode else image.convert(mode), plan.offset)
    return canvas
