"""Open encoded bytes as an image, checking every limit before any decode.

:func:`open_source` reads only the header: it detects the format by content
(never by a file name), restricted to the formats the engine supports, and
refuses inputs over the byte, pixel and animation limits; only an image
tagged with an orientation is decoded there as well, once within the limits
(:func:`_pending_orientation` says why, and why not a JPEG). WebP and AVIF
headers give the frame count (libwebp and libavif parse the container, not
the pixels); a GIF's frames are counted, and the canvas they grow to measured,
by :mod:`.gifscan` before Pillow reads a block of it. :func:`read_frames` then
decodes the frames the caller wants, one at a time, so an animation never has
to sit in memory whole.

The header is parsed by the format's Pillow plugin directly, the way
``Image.open`` does it but without ``Image.open``'s own decompression-bomb
check: that check compares against the process-wide ``Image.MAX_IMAGE_PIXELS``
and, between 89 and 179 MP, only emits a ``DecompressionBombWarning`` that
would leak into the caller's warnings before :class:`Limits` (stricter by
default, and per call) refuses the image; changing the global would not be
thread-safe. Pillow still checks in a few places after opening (a GIF frame
growing past the logical screen, a TIFF's tile buffer); those only fire for
images over 89 MP, which pass :class:`Limits` only when it is configured that
high, and their warning is logged, not shown (:mod:`.guard`). GIF frames are re-checked against :class:`Limits` as
they are read, though :mod:`.gifscan` has already measured the canvas they
grow to.

Animated PNG is opened as the still PNG that every viewer without APNG
support shows: its default image, one frame, like TIFF pages and MPO previews.
HEIF (HEIC) is opened by the optional pillow-heif when its brands say so
(:mod:`.heif`), after every Pillow format, and shows its primary image.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from . import gifcanvas, heif, tifflayout
from .gifscan import GifLayout, is_gif, scan
from .limits import Limits
from .orient import displayed_size, read_orientation
from .plan import Size
from .scale import shrinks_on_load

OPEN_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "TIFF", "BMP")
"""Pillow formats the engine opens; nothing else is even parsed."""

EXTENSIONS: dict[str, str] = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "AVIF": "avif",
    "TIFF": "tiff",
    "BMP": "bmp",
    "HEIF": "heic",
}
"""Canonical extension of each format Pillow reports (camera JPEGs open as MPO)."""

MEDIA_TYPES: dict[str, str] = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
    "gif": "image/gif",
    "jpeg": "image/jpeg",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "heic": "image/heic",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
}
"""Media type of every extension shiftmedia stores: the output formats and the originals' formats,
videos (:mod:`.video`) included."""

ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "AVIF"})
"""Formats whose extra frames are an animation; TIFF pages and MPO previews are not."""


@dataclass(frozen=True)
class Source:
    """An opened, not yet decoded image and what its header says.

    ``size`` is as displayed (after EXIF orientation); ``orientation`` is the
    turn left to apply to the decoded pixels (1 when Pillow has made it
    already, or there is none); ``frames`` counts the
    animation's frames (1 for a still image); ``loop`` is the animation's loop
    count, None when the file sets none; ``gif`` is a GIF's block structure
    (:mod:`.gifscan`), from which its frames may be drawn (:mod:`.gifcanvas`)
    out of ``data``, the encoded bytes.
    """

    image: Image.Image
    format: str
    size: Size
    orientation: int
    frames: int
    loop: int | None
    gif: GifLayout | None
    data: bytes


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its pixels and how long it shows, in ms."""

    image: Image.Image
    duration: int


def open_source(data: bytes, limits: Limits) -> Source:
    """Parse the header of ``data`` and check it against ``limits``; decode
    nothing but an image whose reader may turn it upright (:func:`_pending_orientation`).

    A GIF is checked twice: its block structure first (frames, and the canvas
    they grow to), then Pillow's header, as every other format. Must run
    inside :func:`~shiftmedia.engine.guard.pillow_errors`, which turns
    Pillow's exceptions into shiftmedia's.
    """
    limits.check_input(len(data))
    layout = scan(data, limits.max_frames) if is_gif(data) else None
    if layout is not None:
        limits.check_image(layout.canvas, layout.frames)
    image = parse_header(data)
    pixel_format = image.format or ""
    frames = layout.frames if layout is not None else _header_frames(image)
    limits.check_image(image.size, frames)
    orientation = _pending_orientation(image)
    loop = image.info.get("loop")
    return Source(
        image=image,
        format=EXTENSIONS[pixel_format],
        size=displayed_size(image.size, orientation),
        orientation=orientation,
        frames=frames,
        loop=loop if isinstance(loop, int) else None,
        gif=layout,
        data=data,
    )


def _pending_orientation(image: Image.Image) -> int:
    """The orientation still to apply to ``image``'s pixels once Pillow has decoded them.

    Some of Pillow's readers turn the pixels upright themselves (TIFF's, from
    Pillow 11): they report the upright size from the header on, and drop the
    tag once they have turned the pixels; turning them again would mirror,
    flip or lay them sideways. So an image whose header asks for a turn is
    decoded here and asked again: what the decoded image still carries is
    what is left to do, whatever its reader (a HEIF reader that turns the
    pixels and drops the tag is handled alike, with no code of its own). A
    JPEG is the exception, planned before it decodes so that it can decode
    reduced (:func:`~.scale.shrinks_on_load`): Pillow's JPEG reader leaves the
    turn to the caller, which ``test_orientation_formats`` checks on the
    Pillow the tests run on.
    """
    orientation = read_orientation(image)
    if orientation == 1 or shrinks_on_load(image):
        return orientation
    image.load()
    return read_orientation(image)


def _header_frames(image: Image.Image) -> int:
    """The animation frames Pillow's header parse found: WebP and AVIF count
    them from the container; every other format is one frame here."""
    return int(getattr(image, "n_frames", 1)) if image.format in ANIMATED_FORMATS else 1


def parse_header(data: bytes) -> Image.Image:
    """The image in ``data`` opened by the first of :data:`OPEN_FORMATS` whose
    plugin accepts it, as ``Image.open`` would, minus its bomb check; else
    by pillow-heif when it is HEIF.

    A TIFF whose header Pillow parses but whose sample layout it has no mode
    for is refused as unsupported, saying which layout (:mod:`.tifflayout`).
    """
    Image.init()
    stream = io.BytesIO(data)
    prefix = data[:16]
    for name in OPEN_FORMATS:
        factory, accept = Image.OPEN[name]
        accepted = accept is None or accept(prefix)
        if accepted and not isinstance(accepted, str):
            stream.seek(0)
            try:
                return factory(stream, "")
            except SyntaxError as exc:
                refusal = tifflayout.unsupported(data, exc) if name == "TIFF" else None
                if refusal is not None:
                    raise refusal from exc
            except (IndexError, TypeError, struct.error):
                continue
    if heif.is_heif(data):
        stream.seek(0)
        return heif.open_heif(stream)
    raise UnidentifiedImageError("cannot identify image file")


def read_frames(source: Source, count: int, limits: Limits) -> Iterator[Frame]:
    """Decode the first ``count`` frames of ``source``, one at a time.

    Frames of GIF and WebP animations come out composited: each is the whole
    picture as displayed at that moment, not a patch over the previous one;
    a GIF's as browsers show it, drawn by :mod:`.gifcanvas` where Pillow's
    would differ, a frame that reaches past the first frame's canvas among
    them: it is cut to the canvas, not grown into it. Each frame Pillow
    composites is checked against ``limits`` before it is decoded, as the
    header was: should Pillow read a GIF's blocks otherwise than the block
    walk did and grow its canvas, every frame is counted at the grown size.
    A frame's image is the decoder's own (or the canvas), not a copy: it is
    valid until the next frame is read, so a caller that keeps a frame keeps
    what it made of it.
    """
    image = source.image
    wanted = min(count, source.frames)
    if source.gif is not None and gifcanvas.needs_compositing(source.gif, image.size, wanted):
        for picture, duration in gifcanvas.composite(source.data, source.gif, image.size, wanted):
            yield Frame(image=picture, duration=duration)
        return
    for index in range(wanted):
        if source.frames > 1:
            image.seek(index)
            limits.check_image(image.size, source.frames)
        image.load()
        duration = image.info.get("duration", 0)
        yield Frame(
            image=image,
            duration=int(duration) if isinstance(duration, (int, float)) else 0,
        )
