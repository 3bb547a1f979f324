"""Check an upload: what it is, that it is within limits, and that it decodes.

Run once when an original is stored, so a corrupt or hostile file is refused
at upload instead of failing on every later resize. It is cheap: a JPEG is
decoded at 1/8 scale (its entropy-coded data is still read to the end, so
truncation is still caught) and other formats, lossless JPEG included, are
decoded once, frame by frame. A video (:mod:`.video`) has its header checked
and its first frame decoded.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..errors import UnsupportedImage
from .colour import is_supported
from .guard import pillow_errors
from .limits import Limits
from .load import open_source, read_frames
from .orient import displayed_size
from .scale import shrinks_on_load
from .video import is_video, read


@dataclass(frozen=True)
class ImageInfo:
    """What an original is: canonical extension of its format, size as
    displayed (after EXIF orientation, or a video's display matrix),
    animation frames and Pillow mode; for a video, its duration in seconds
    and average frame rate (None where its header gives none) and its frame
    count where the header gives one (MP4 and MOV do, Matroska does not: 1).
    A video's mode is the ``RGB`` its frames are rendered in."""

    format: str
    width: int
    height: int
    frames: int
    mode: str
    duration: float | None = None
    fps: float | None = None


def probe(data: bytes, limits: Limits = Limits()) -> ImageInfo:
    """Identify ``data`` by content, check it against ``limits`` and prove it decodes.

    Raises :class:`~shiftmedia.errors.InvalidImage` for anything that is not a
    whole, decodable image (truncated and corrupt files included),
    :class:`~shiftmedia.errors.UnsupportedImage` for a mode the engine cannot
    render and :class:`~shiftmedia.errors.LimitExceeded` from the header alone
    (for a GIF, its block structure: frames and the canvas they grow to): the
    same checks of the source that :func:`~shiftmedia.engine.render` makes.
    """
    if is_video(data):
        clip, orientation = read(data, limits)
        width, height = displayed_size(clip.size, orientation)
        frames = max(clip.frames, 1)
        return ImageInfo(clip.format, width, height, frames, "RGB", duration=clip.duration, fps=clip.fps)
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
