"""Reduce working-mode frames to what GIF can store: 256 colours, one transparent.

Each frame gets its own adaptive palette of up to 255 colours; index 255 is
kept for pixels that are mostly transparent (alpha below one half), since GIF
transparency is all or nothing. Grayscale without alpha stays ``L``, which GIF
stores with a grey palette.

The palette is Pillow's fast octree, not its median cut. Median cut costs
from 0.1 µs a pixel on flat graphics to 10-20 µs on noise (one noisy
1024×1024 frame: 4-10 s; a photo at 400×300: 0.3-1 s), so a GIF output's time
would follow its content rather than its size, and no pixel limit could keep
an animation inside the service's budget. The octree takes 30-100 ns a pixel
whatever the content, keeps flat colours and small palettes exact, and is
about 1 dB (PSNR) behind median cut on photographs, for which GIF is the
wrong output anyway. Neither maps with dithering (Pillow's ``quantize``
dithers only onto a given palette), so unchanged areas stay unchanged from
frame to frame and an animation's frames stay small.
"""

from __future__ import annotations

from PIL import Image

TRANSPARENT_INDEX = 255
"""Palette index reserved for transparent pixels."""

ALPHA_THRESHOLD = 128
"""Pixels with alpha below this become transparent; the rest opaque."""


def to_palette(image: Image.Image, declare_transparency: bool = False) -> Image.Image:
    """``image`` (a working mode) as a ``P`` image, or ``L`` for plain grayscale.

    When any pixel is transparent, or ``declare_transparency`` is set (frames
    of an animation that has transparency somewhere must all declare it, or
    disposal restores an opaque background), the result is ``P`` with
    ``info["transparency"]`` set to :data:`TRANSPARENT_INDEX`.
    """
    if image.mode == "L" and not declare_transparency:
        return image
    quantized = image.convert("RGB").quantize(colors=TRANSPARENT_INDEX, method=Image.Quantize.FASTOCTREE)
    clear = None
    if image.mode in {"RGBA", "LA"}:
        clear = image.getchannel("A").point(lambda alpha: 255 if alpha < ALPHA_THRESHOLD else 0)
        if clear.getbbox() is None:
            clear = None
    if clear is not None or declare_transparency:
        colours = quantized.getpalette() or []
        quantized.putpalette(colours + [0] * (768 - len(colours)))
        quantized.info["transparency"] = TRANSPARENT_INDEX
    if clear is not None:
        quantized.paste(TRANSPARENT_INDEX, mask=clear)
    return quantized
