"""The facts of an original that a page needs before it loads the image.

:func:`media_facts` computes them once, when an original is stored, for the
``<original>.info.json`` beside it; :class:`MediaFacts` is that document, and
reads it back with every field checked, since a file in a bucket may have
been edited.

The pixel facts come from the engine's own thumbnail (:func:`~.pipeline.render`,
at most :data:`THUMBNAIL_SIDE` pixels a side), upright and in sRGB whatever
the source (CMYK, ICC, EXIF orientation, 16-bit, palette; a JPEG decodes
straight to 1/8 of its size). The dominant colour and the BlurHash are of the
thumbnail as it shows on a white page, as the engine's JPEG derivatives show
it. The dominant colour is the mean of the pixels in the most common bin of
:data:`COLOUR_BITS` bits per channel, so a flat colour comes out exact. A
video's duration and frame rate are the ``duration`` and ``fps`` of its
:class:`~.probe.ImageInfo`, once :func:`~.probe.probe` reads videos.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, cast

import blurhash  # type: ignore[import-untyped]  # a pure-Python package without type information
from PIL import Image

from ..errors import InvalidImage
from ..spec import ResizeSpec
from . import background
from .colour import normalise
from .guard import pillow_errors
from .limits import Limits
from .load import EXTENSIONS, MEDIA_TYPES, open_source, parse_header, read_frames
from .modes import stored_bits
from .orient import read_orientation
from .pipeline import render
from .probe import ImageInfo, probe

THUMBNAIL_SIDE = 32
"""Longest side of the thumbnail every pixel fact is computed on."""

COLOUR_BITS = 3
"""Bits per channel the dominant colour is binned by: 8 levels, 512 bins."""

BLURHASH_COMPONENTS = (4, 3)
"""BlurHash components across and down: the encoder's usual choice for photos."""

BLURHASH_MIN_SIDE = 16
"""Shorter sides are stretched before encoding: the encoder samples each pixel at
its left or top edge, which makes a side of a pixel or two read as a pattern."""

WHITE = background.parse("ffffff")
"""What transparency is composited onto for the colour and the placeholder."""

ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
"""Pillow modes with an alpha channel."""

SHORTEST_FRAME_MS = 10
"""Frames that ask for this or less show for :data:`BROWSER_FRAME_MS` in
Chromium, Firefox and WebKit, in GIF, WebP and AVIF alike."""

BROWSER_FRAME_MS = 100
"""How long browsers show a frame of :data:`SHORTEST_FRAME_MS` or less."""

IMAGE_FORMATS = frozenset(EXTENSIONS.values())
"""Formats read by Pillow: their orientation and frame durations are read from the file."""

LARGEST_INTEGER = 2**53 - 1
"""The largest integer a JSON number holds exactly in every reader (JavaScript's included)."""

_FORMAT_RE = re.compile("|".join(re.escape(extension) for extension in MEDIA_TYPES))
"""A format: one of the extensions shiftmedia stores."""

_COLOUR_RE = re.compile(r"#[0-9a-f]{6}")
"""A dominant colour: lowercase ``#rrggbb``."""

_BLURHASH_RE = re.compile(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,166}")
"""A BlurHash: base 83 digits, 4 of header and DC then 2 per AC component (1 to 81 components)."""


@dataclass(frozen=True)
class MediaFacts:
    """What an original is, for a page: ``width`` and ``height`` as displayed
    (upright), ``format`` (canonical extension), encoded ``bytes``,
    ``frames``, ``duration`` in seconds and ``fps`` (None for a still image),
    ``has_alpha`` (some pixel is not opaque), the EXIF ``orientation`` the
    file stores (1 when none), ``dominant_color`` as ``#rrggbb`` and a
    ``blurhash`` placeholder (see the module doc for both)."""

    width: int
    height: int
    format: str
    bytes: int
    frames: int
    duration: float | None
    fps: float | None
    has_alpha: bool
    orientation: int
    dominant_color: str
    blurhash: str

    def to_json(self) -> dict[str, Any]:
        """The facts as a JSON-ready dict, its keys in the fields' order."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_json(cls, document: object) -> MediaFacts:
        """Read what :meth:`to_json` wrote, checking every field.

        Raises :class:`~shiftmedia.errors.InvalidImage` for a document that is
        not an object, lacks a field or holds a value of the wrong type or out
        of range; keys it does not know are ignored, so a document written by
        a later version still reads.
        """
        if not isinstance(document, Mapping):
            raise InvalidImage("media facts must be a JSON object")
        read = _Document(document)
        facts = cls(
            width=read.integer("width"),
            height=read.integer("height"),
            format=read.text("format", _FORMAT_RE),
            bytes=read.integer("bytes"),
            frames=read.integer("frames"),
            duration=read.rate("duration"),
            fps=read.rate("fps"),
            has_alpha=read.flag("has_alpha"),
            orientation=read.integer("orientation", highest=8),
            dominant_color=read.text("dominant_color", _COLOUR_RE),
            blurhash=read.text("blurhash", _BLURHASH_RE),
        )
        across, down = blurhash.components(facts.blurhash)
        if len(facts.blurhash) != 4 + 2 * across * down:
            raise InvalidImage("media facts: blurhash is not as long as its components say")
        if (facts.duration is None) != (facts.fps is None):
            raise InvalidImage("media facts: duration and fps are both set or both null")
        return facts


def media_facts(data: bytes, limits: Limits = Limits()) -> MediaFacts:
    """The facts of the original ``data``, within ``limits``.

    Raises what :func:`~.probe.probe` raises for the same bytes: :class:`~shiftmedia.errors.InvalidImage`
    for anything that is not a whole, decodable image, :class:`~shiftmedia.errors.LimitExceeded` over ``limits``.
    """
    info = probe(data, limits)
    spec = ResizeSpec.create((THUMBNAIL_SIDE, THUMBNAIL_SIDE), mode="fit", format="png")
    rendered = render(data, spec, limits)
    readable = info.format in IMAGE_FORMATS
    with pillow_errors():
        thumbnail = Image.open(io.BytesIO(rendered.data), formats=["PNG"]).convert("RGBA")
        flat = background.flatten(thumbnail, WHITE)
        duration, fps = _timing(data, info, limits)
        return MediaFacts(
            width=info.width,
            height=info.height,
            format=info.format,
            bytes=len(data),
            frames=info.frames,
            duration=duration,
            fps=fps,
            has_alpha=not _opaque(thumbnail) or (readable and _transparent(data, limits)),
            orientation=_orientation(data) if readable else 1,
            dominant_color=_dominant_colour(flat),
            blurhash=_blurhash(flat),
        )


def _timing(data: bytes, info: ImageInfo, limits: Limits) -> tuple[float | None, float | None]:
    """The seconds ``data`` plays once and its frames per second; None and None for a still image.

    A video's come from its :class:`~.probe.ImageInfo`. An animation plays as
    browsers play it: a frame of :data:`SHORTEST_FRAME_MS` or less shows for
    :data:`BROWSER_FRAME_MS`. A GIF's delays come from its block structure,
    without decoding; WebP and AVIF give theirs only as each frame decodes.
    """
    duration = getattr(info, "duration", None)
    if duration is None and info.frames > 1 and info.format in IMAGE_FORMATS:
        source = open_source(data, limits)
        if source.gif is not None:
            stored = [block.duration for block in source.gif.blocks[: source.frames]]
        else:
            stored = [frame.duration for frame in read_frames(source, source.frames, limits)]
        duration = sum(BROWSER_FRAME_MS if ms <= SHORTEST_FRAME_MS else ms for ms in stored) / 1000
    if not duration:
        return None, None
    fps = getattr(info, "fps", None)
    return float(duration), float(fps) if fps else round(info.frames / duration, 3)


def _opaque(image: Image.Image) -> bool:
    """True when no pixel of the ``RGBA`` or ``LA`` ``image`` is less than opaque."""
    lowest, _ = cast(tuple[int, int], image.getchannel("A").getextrema())
    return lowest == 255


def _transparent(data: bytes, limits: Limits) -> bool:
    """True when some pixel of some frame of ``data`` is not opaque.

    Asked when the thumbnail is opaque, as a few transparent pixels may have
    been averaged away: every frame of an image with an alpha channel or a
    transparency key, or of a GIF (whose later frames may bring their own
    key), is decoded whole and its alpha read exactly.
    """
    source = open_source(data, limits)
    image = source.image
    if source.gif is None and image.mode not in ALPHA_MODES and "transparency" not in image.info:
        return False
    bits = stored_bits(image, data)
    for frame in read_frames(source, source.frames, limits):
        pixels = normalise(frame.image, bits)
        if pixels.mode in ("RGBA", "LA") and not _opaque(pixels):
            return True
    return False


def _orientation(data: bytes) -> int:
    """The EXIF orientation stored in ``data``, read from its header before any
    reader turns the pixels and drops the tag (TIFF's does as it decodes;
    pillow-heif's sets it to 1 as it opens, keeping the stored one aside)."""
    image = parse_header(data)
    kept = image.info.get("original_orientation")
    return kept if isinstance(kept, int) and 1 <= kept <= 8 else read_orientation(image)


def _dominant_colour(flat: Image.Image) -> str:
    """The mean colour of the most common :data:`COLOUR_BITS`-bit bin of the RGB
    image ``flat``, as ``#rrggbb``; of bins equally common, the first in order."""
    shift = 8 - COLOUR_BITS
    bins: dict[tuple[int, int, int], list[int]] = {}
    raw = flat.tobytes()
    for start in range(0, len(raw), 3):
        red, green, blue = raw[start : start + 3]
        totals = bins.setdefault((red >> shift, green >> shift, blue >> shift), [0, 0, 0, 0])
        totals[0] += 1
        totals[1] += red
        totals[2] += green
        totals[3] += blue
    _, (count, *sums) = max(sorted(bins.items()), key=lambda item: item[1][0])
    return "#" + "".join(f"{(total + count // 2) // count:02x}" for total in sums)


def _blurhash(flat: Image.Image) -> str:
    """The BlurHash of the RGB image ``flat``, by the ``blurhash`` package's encoder."""
    width, height = max(flat.width, BLURHASH_MIN_SIDE), max(flat.height, BLURHASH_MIN_SIDE)
    raw = flat.resize((width, height), Image.Resampling.NEAREST).tobytes()
    pixels = [raw[start : start + 3] for start in range(0, len(raw), 3)]
    rows = [pixels[row * width : (row + 1) * width] for row in range(height)]
    across, down = BLURHASH_COMPONENTS
    return str(blurhash.encode(rows, components_x=across, components_y=down))


class _Document:
    """A media facts document being read: each method gives one field's value,
    or raises :class:`~shiftmedia.errors.InvalidImage` naming the field."""

    def __init__(self, document: Mapping[Any, Any]) -> None:
        self.document = document

    def field(self, name: str) -> object:
        """The value of ``name``; refused when the document lacks it."""
        if name not in self.document:
            raise InvalidImage(f"media facts lack {name}")
        return self.document[name]

    def integer(self, name: str, highest: int = LARGEST_INTEGER) -> int:
        """A whole number from 1 to ``highest``."""
        value = self.field(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= highest:
            raise InvalidImage(f"media facts: {name} must be a whole number from 1 to {highest}")
        return value

    def rate(self, name: str) -> float | None:
        """A positive, finite number (seconds or frames per second), or null."""
        value = self.field(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidImage(f"media facts: {name} must be a number or null")
        if not (math.isfinite(value) and 0 < value <= LARGEST_INTEGER):
            raise InvalidImage(f"media facts: {name} must be positive and finite")
        return float(value)

    def flag(self, name: str) -> bool:
        """True or false."""
        value = self.field(name)
        if not isinstance(value, bool):
            raise InvalidImage(f"media facts: {name} must be true or false")
        return value

    def text(self, name: str, pattern: re.Pattern[str]) -> str:
        """A string that ``pattern`` matches whole."""
        value = self.field(name)
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            raise InvalidImage(f"media facts: {name} is not valid")
        return value
