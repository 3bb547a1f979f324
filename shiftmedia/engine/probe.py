"""Check an upload: what it is, that it is within limits, and that it decodes.

Run once when an original is stored, so a corrupt or hostile file is refused
at upload instead of failing on every later resize. It is cheap: a JPEG is
decoded at 1/8 scale (its entropy-coded data is still read to the end, so
truncation is still caught) and other formats, lossless JPEG included, are
decoded once, frame by frame.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..errors import UnsupportedImage
from .colour import is_supported
from .guard import pillow_errors
from .limits import Limits
from .load import open_source, read_frames
from .scale import shrinks_on_load


@dataclass(frozen=True)
class ImageInfo:
    """What an original is: canonical extension of its format, size as
    displayed (after EXIF orientation), animation frames and Pillow mode."""

    format: str
    width: int
    height: int
    frames: int
    mode: str


def probe(data: bytes, limits: Limits = Limits()) -> ImageInfo:
    """Identify ``data`` by content, check it against ``limits`` and prove it decodes.

    Raises :class:`~shiftmedia.errors.InvalidImage` for anything that is not a
    whole, decodable image (truncated and corrupt files included),
    :class:`~shiftmedia.errors.UnsupportedImage` for a mode the engine cannot
    render and :class:`~shiftmedia.errors.LimitExceeded` from the header alone
    (for a GIF, its block structure: frames and the canvas they grow to): the
    same checks of the source that :func:`~shiftmedia.engine.render` makes.
    """
    with pillow_errors():
        source = open_source(data, limits)
        image = source.image
        mode = image.mode
        if not is_supported(mode):
            raise UnsupportedImage(f"images in mode {mode} are not supported")
        if shrinks_on_load(image):
            width, height = image.size
            image.draft(None, (max(1, width // 8), max(1, height // 8)))
        deque(read_frames(source, source.frames, limits), maxlen=0)
    return ImageInfo(
        format=source.format,
        width=source.size[0],
        height=source.size[1],
        frames=source.frames,
        mode=mode,
    )
