"""Composite a GIF's frames as browsers show them, where Pillow shows them otherwise.

A GIF frame is a patch drawn over what the previous frames left, and its
disposal method says what happens to its area once it has been shown: left
(0 and 1), cleared (2) or put back as it was before the frame (3; browsers
read 4 as 3 too, and leave the area for 5-7). Browsers (Chromium, Firefox)
start from a transparent canvas, clear to transparent (they ignore the
background colour the file names) and put the canvas back as it was before
the first frame when that frame says 3, and a frame without a graphic
control has disposal 0 whatever came before. Pillow agrees with them on a
GIF whose first frame has a transparency index, but otherwise it:

* shows the palette's colour 0 (mostly opaque black) outside a first frame
  smaller than the screen;
* clears with the background colour, opaque, for a frame of disposal 2
  without a transparency index, and once the first frame had none, keeps the
  whole animation opaque;
* keeps a first frame of disposal 3 on show;
* applies a frame's disposal to the following frames that set none, and
  puts the area back for 5-7.

:func:`needs_compositing` tells from the block walk (:mod:`.gifscan`) whether
the frames wanted are any of those cases; the GIFs Pillow shows right (a
still image, or frames that leave their area as it is over a first frame
that covers the screen or is transparent around itself) keep Pillow's own
frames. For the others, :func:`composite` draws the frames itself: each is
decoded alone by Pillow (the file's header and colour table, the frame's
graphic control and its data, as a one-frame GIF at the origin) and drawn on
an RGBA canvas of the size Pillow reports, by the browsers' rules. Each
frame is decoded once, as Pillow's own compositing does.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

from PIL import GifImagePlugin, Image

from .gifscan import GifFrame, GifLayout

LEAVE = frozenset({0, 1})
"""Disposal methods that leave the frame's area as it is (0: unspecified, 1: do not dispose)."""

CLEAR = 2
"""The disposal method that clears the frame's area."""

RESTORE = frozenset({3, 4})
"""Disposal methods that put the frame's area back as it was before the frame
(4 is an old encoders' 3, which Chromium and Firefox honour; 5-7 leave it)."""

TRANSPARENT = (0, 0, 0, 0)


def needs_compositing(layout: GifLayout, canvas: tuple[int, int], count: int) -> bool:
    """True when Pillow would show the first ``count`` frames of the GIF
    ``layout`` otherwise than browsers do, on its ``canvas`` (the size Pillow
    reports once it has read the first frame's descriptor)."""
    frames = layout.blocks[:count]
    first = frames[0]
    covers = first.box[:2] == (0, 0) and first.box[2:] == canvas
    inside = all(_inside(frame.box, canvas) for frame in frames)
    left_alone = all(frame.disposal in LEAVE for frame in frames[:-1])
    return not (inside and left_alone and (covers or first.transparency is not None))


def composite(data: bytes, layout: GifLayout, canvas: tuple[int, int], count: int) -> Iterator[tuple[Image.Image, int]]:
    """The first ``count`` frames of the GIF ``data`` as browsers show them,
    each an RGBA image of ``canvas`` with its duration in ms.

    The image is the canvas itself, drawn on for the next frame: it is valid
    until the next one is asked for. A frame reaching past the canvas is cut
    to it.
    """
    picture = Image.new("RGBA", canvas, TRANSPARENT)
    for frame in layout.blocks[:count]:
        left, top, width, height = frame.box
        area = (left, top, left + width, top + height)
        before = picture.crop(area) if frame.disposal in RESTORE else None
        if width and height:
            patch = _decode(data, layout, frame)
            picture.paste(patch, (left, top), patch if frame.transparency is not None else None)
        yield picture, frame.duration
        if frame.disposal == CLEAR:
            picture.paste(TRANSPARENT, area)
        elif before is not None:
            picture.paste(before, (left, top))


def _decode(data: bytes, layout: GifLayout, frame: GifFrame) -> Image.Image:
    """``frame`` alone, as RGBA: clear where it has its transparency index.

    Pillow reads it from a one-frame GIF of the frame's own size: the file's
    logical screen flags and global colour table, a graphic control with the
    frame's transparency index only, and the frame's descriptor, moved to
    the origin, with its colour table and data.
    """
    _left, _top, width, height = frame.box
    control = b""
    if frame.transparency is not None:
        control = b"!\xf9\x04" + struct.pack("<BHBB", 1, 0, frame.transparency, 0)
    descriptor = b"," + struct.pack("<HHHH", 0, 0, width, height)
    alone = b"".join(
        (
            b"GIF89a",
            struct.pack("<HH", width, height),
            data[10 : layout.header_end],
            control,
            descriptor,
            data[frame.start + len(descriptor) : frame.end],
        )
    )
    image = GifImagePlugin.GifImageFile(io.BytesIO(alone))
    image.load()
    return image.convert("RGBA")


def _inside(box: tuple[int, int, int, int], canvas: tuple[int, int]) -> bool:
    """True when a frame's ``box`` (left, top, width, height) lies within ``canvas``."""
    left, top, width, height = box
    return left + width <= canvas[0] and top + height <= canvas[1]
