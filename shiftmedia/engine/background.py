"""The spec's background colour: what pad fills with and what JPEG flattens onto.

The spec spells it as lowercase hex ``rrggbb`` or ``rrggbbaa``. Pad keeps the
alpha where the output format can store it; JPEG cannot, so transparency there
is flattened onto the colour composited over white, which makes the fully
transparent ``00000000`` come out white rather than black.
"""

from __future__ import annotations

from PIL import Image

RGBA = tuple[int, int, int, int]
RGB = tuple[int, int, int]


def parse(colour: str) -> RGBA:
    """``rrggbb`` or ``rrggbbaa`` as an (r, g, b, a) tuple; opaque when alpha is absent."""
    value = colour if len(colour) == 8 else colour + "ff"
    red, green, blue, alpha = (int(value[i : i + 2], 16) for i in range(0, 8, 2))
    return red, green, blue, alpha


def is_grey(colour: RGBA) -> bool:
    """True when the colour has no hue, so a grayscale image stays grayscale on it."""
    return colour[0] == colour[1] == colour[2]


def over_white(colour: RGBA) -> RGB:
    """The opaque colour ``colour`` shows as over white, rounded."""
    alpha = colour[3]
    red, green, blue = ((channel * alpha + 255 * (255 - alpha) + 127) // 255 for channel in colour[:3])
    return red, green, blue


def flatten(image: Image.Image, colour: RGBA) -> Image.Image:
    """``image`` composited onto ``over_white(colour)``, without alpha.

    RGBA becomes RGB; LA becomes L when the colour is grey and RGB otherwise.
    Images without alpha are returned as they are.
    """
    if image.mode not in {"RGBA", "LA"}:
        return image
    matte = over_white(colour)
    backdrop = Image.new("RGBA", image.size, (*matte, 255))
    flat = Image.alpha_composite(backdrop, image.convert("RGBA")).convert("RGB")
    return flat.convert("L") if image.mode == "LA" and is_grey((*matte, 255)) else flat
