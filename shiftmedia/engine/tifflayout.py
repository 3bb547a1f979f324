"""Say which TIFF sample layout Pillow refused, so that the refusal can be precise.

Pillow's TIFF reader knows a fixed table of layouts (photometric
interpretation, sample format, bits and extra samples) and raises
``SyntaxError("unknown pixel mode")`` for any other, after it has parsed the
header whole: CMYK with alpha, 16- and 64-bit float, 32-bit RGB and more
(README, Image handling). That is an image in a layout the engine does not
handle, not a broken file, so it is refused as
:class:`~shiftmedia.errors.UnsupportedImage` naming the layout, read here
from the first IFD by Pillow's own tag parser.
"""

from __future__ import annotations

import io

from PIL import TiffImagePlugin

from ..errors import UnsupportedImage

UNKNOWN_LAYOUT = "unknown pixel mode"
"""What Pillow's TIFF reader raises (as ``SyntaxError``) for a layout it has no mode for."""

PHOTOMETRIC = 262
BITS_PER_SAMPLE = 258
SAMPLES_PER_PIXEL = 277
EXTRA_SAMPLES = 338
SAMPLE_FORMAT = 339

BIGTIFF_SIGNATURES = (b"II+\0", b"MM\0+")
"""The first bytes of a BigTIFF, whose header is 16 bytes long, not 8."""

COLOURS: dict[int, tuple[str, int]] = {
    0: ("grey (white is zero)", 1),
    1: ("grey", 1),
    2: ("RGB", 3),
    3: ("palette", 1),
    4: ("transparency mask", 1),
    5: ("CMYK", 4),
    6: ("YCbCr", 3),
    8: ("CIE L*a*b*", 3),
    9: ("ICC L*a*b*", 3),
    10: ("ITU L*a*b*", 3),
    32844: ("LogL", 1),
    32845: ("LogLuv", 3),
}
"""Each photometric interpretation's name and its number of colour samples."""

EXTRAS = {0: "unspecified extra sample", 1: "associated alpha", 2: "unassociated alpha"}
SAMPLE_FORMATS = {1: "unsigned integer", 2: "signed integer", 3: "float"}


def unsupported(data: bytes, error: SyntaxError) -> UnsupportedImage | None:
    """The refusal for the TIFF ``data`` whose reader raised ``error``; None
    when ``error`` is not Pillow's "no mode for this layout" (a broken file)."""
    if str(error) != UNKNOWN_LAYOUT:
        return None
    return UnsupportedImage(f"TIFF sample layout not supported: {describe(data)}")


def describe(data: bytes) -> str:
    """The sample layout of the first image of the TIFF ``data``, such as
    "CMYK + unassociated alpha, 8-bit unsigned integer samples"."""
    header = data[:16] if data[:4] in BIGTIFF_SIGNATURES else data[:8]
    tags = TiffImagePlugin.ImageFileDirectory_v2(header)
    stream = io.BytesIO(data)
    stream.seek(tags.next)
    tags.load(stream)
    photometric = _first(tags.get(PHOTOMETRIC), -1)
    name, colour_samples = COLOURS.get(photometric, (f"photometric {photometric}", 0))
    extras = [EXTRAS.get(extra, f"extra sample type {extra}") for extra in _values(tags.get(EXTRA_SAMPLES))]
    samples = _first(tags.get(SAMPLES_PER_PIXEL), 1)
    if colour_samples and samples != colour_samples + len(extras):
        name += f" ({samples} sample{'s' if samples != 1 else ''})"
    bits = _values(tags.get(BITS_PER_SAMPLE)) or [1]
    depth = str(bits[0]) if len(set(bits)) == 1 else "/".join(str(value) for value in bits)
    formats = {SAMPLE_FORMATS.get(value, f"sample format {value}") for value in _values(tags.get(SAMPLE_FORMAT))}
    kind = " / ".join(sorted(formats)) or SAMPLE_FORMATS[1]
    return " + ".join([name, *extras]) + f", {depth}-bit {kind} samples"


def _values(value: object) -> list[int]:
    """A tag's integer values: one or a tuple of them; none when absent or odd."""
    values = value if isinstance(value, tuple) else (value,)
    return [item for item in values if isinstance(item, int)]


def _first(value: object, default: int) -> int:
    """A tag's first integer value, or ``default``."""
    values = _values(value)
    return values[0] if values else default
