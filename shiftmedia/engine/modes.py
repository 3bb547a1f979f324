"""Samples that need more than ``Image.convert``: transparency keys and numbers.

Two kinds of decoded image cannot simply be converted to a working mode:

* **Transparency keys.** PNG marks one grey level or one RGB colour as
  transparent (tRNS). Pillow widens 1-, 2- and 4-bit grey to 8 bits and keeps
  only the top 8 bits of 16-bit RGB, but reports the key as the file stores
  it, so the key no longer names the pixels it marks (Pillow's own conversion
  then compares the key's low byte, marking the wrong pixels or none).
  :func:`decoded_key` brings the key to the decoded scale, using the bit depth
  :func:`stored_bits` reads from the header. 16-bit RGB is compared on the
  top 8 bits Pillow keeps: a colour that differs from the key only below
  them (by less than 1/256 per channel) is transparent with it, which is
  exact whenever no other colour shares the key's top bits (PngSuite's
  tbgn2c16, and keys an encoder picks as an unused colour).
* **Numbers.** 16-bit grey (PNG, TIFF; 12-bit TIFF) is a picture on its
  stored range and is scaled from it. 32-bit integer (``I``) and float (``F``)
  TIFFs hold pictures as often as measurements (elevation, depth, counts)
  whose units mean nothing on screen. The rule, deterministic and the same
  for both: when every finite sample lies in 0..1 (the convention of float
  images; an integer 0/1 mask), 0..1 becomes 0..255; otherwise the finite
  range is stretched to 0..255 (min-max, as OpenCV's ``NORM_MINMAX``), and a
  flat image outside 0..1 is black. NaN and -inf are black, +inf white, and
  none of them counts toward the range. Pillow reads unsigned 32-bit TIFF
  samples as signed; they are read back as unsigned here.

Everything runs in C (``ImageMath``, ``point``, ``getextrema``), a strip of
rows at a time, so the float copies stay small whatever the image's size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, cast

from PIL import Image, ImageMath, TiffImagePlugin

Key = int | tuple[int, int, int]

SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
"""Unsigned 16-bit grey, scaled from its stored range."""

NUMERIC_MODES = SIXTEEN_BIT_MODES | {"I", "F"}
"""Modes whose samples are numbers :func:`to_grey` maps to 8-bit grey."""

KEYED_MODES = {"1": "LA", "L": "LA", "RGB": "RGBA"}
"""Modes a colour key can mark, and the mode with alpha they become."""

GREY_KEYED_MODES = frozenset({"1", "L"}) | SIXTEEN_BIT_MODES
"""Grey modes whose key is one number."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

PNG_BIT_DEPTH = 24
"""Offset of the bit depth in a PNG: signature (8), IHDR length and type (8), width and height (8)."""

TIFF_BITS_PER_SAMPLE = 258
TIFF_SAMPLE_FORMAT = 339
TIFF_UNSIGNED = 1
"""TIFF's SampleFormat for unsigned integers, also its default."""

FLOAT_MAX = 3.4028234663852886e38
"""The largest finite 32-bit float: Pillow's ``F`` samples are 32-bit."""

UNSIGNED_WRAP = 4294967296.0
"""2**32: what a negative ``I`` sample lacks when the file stores it unsigned."""

STRIP_PIXELS = 1 << 20
"""Numbers are mapped about a megapixel at a time: a few float copies of a
strip instead of the whole image (a 40 MP float TIFF is 160 MB already)."""


def stored_bits(image: Image.Image, data: bytes) -> int | None:
    """The bits per sample ``image`` (opened from ``data``) stores, when Pillow
    may have changed them on decode: a PNG's bit depth, a TIFF's first
    BitsPerSample; None for other formats."""
    if image.format == "PNG" and data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR":
        return data[PNG_BIT_DEPTH]
    if isinstance(image, TiffImagePlugin.TiffImageFile):
        bits = image.tag_v2.get(TIFF_BITS_PER_SAMPLE)
        first = bits[0] if isinstance(bits, tuple) and bits else bits
        return first if isinstance(first, int) else None
    return None


def decoded_key(image: Image.Image, bits: int | None) -> Key | None:
    """The transparency key of a grey or RGB ``image``, in the scale of its
    decoded pixels; None when it has none, or one no pixel can match.

    ``bits`` is :func:`stored_bits`; None takes the key as Pillow reports it.
    """
    key: Any = image.info.get("transparency")
    if key is None:
        return None
    if image.mode in GREY_KEYED_MODES and isinstance(key, int):
        if image.mode == "1":
            return 255 if key else 0
        if image.mode == "L" and bits is not None and bits < 8 and key < 1 << bits:
            return key * 255 // ((1 << bits) - 1)
        return key if key <= (255 if image.mode == "L" else 0xFFFF) else None
    if image.mode == "RGB" and isinstance(key, tuple) and len(key) == 3 and all(isinstance(v, int) for v in key):
        red, green, blue = (value >> 8 for value in key) if bits == 16 else key
        return (red, green, blue) if max(red, green, blue) <= 255 else None
    return None


def keyed(image: Image.Image, key: Key) -> Image.Image:
    """A ``1``, ``L`` or ``RGB`` image as ``LA`` or ``RGBA``, transparent where
    it has the colour ``key`` (from :func:`decoded_key`).

    Pillow's conversion does the work; when the key had to be rescaled it
    works on a copy that carries the rescaled key.
    """
    source = image.convert("L") if image.mode == "1" else image
    if key != source.info.get("transparency"):
        source = image.copy() if source is image else source
        source.info["transparency"] = key
    return source.convert(KEYED_MODES[image.mode])


def to_grey(image: Image.Image, bits: int | None) -> Image.Image:
    """A numeric-mode ``image`` as ``L`` by the module's rule, ``LA`` when it
    has a key; its ICC profile travels with it.

    16-bit grey spans 0 to 2**bits - 1 when ``bits`` (:func:`stored_bits`)
    says it stores fewer than 16 bits (12-bit TIFF), else 0-65535.
    """
    key = decoded_key(image, bits)
    if image.mode in SIXTEEN_BIT_MODES:
        top = (1 << bits) - 1 if bits is not None and 8 < bits < 16 else 0xFFFF
        scale, offset = 255 / top, 0.0
    else:
        scale, offset = _stretch(_range(image))
    grey = Image.new("L", image.size)
    alpha = None if key is None else Image.new("L", image.size)
    for top_row, values in _strips(image):
        mapped = values.point(lambda value: value * scale + offset + 0.5)
        grey.paste(_evaluate(lambda args: args["max"](args["x"], 0.0), mapped).convert("L"), (0, top_row))
        if alpha is not None:
            alpha.paste(_evaluate(lambda args: (args["x"] != key) * 255, values).convert("L"), (0, top_row))
    result = grey if alpha is None else Image.merge("LA", (grey, alpha))
    if "icc_profile" in image.info:
        result.info["icc_profile"] = image.info["icc_profile"]
    return result


def _stretch(finite: tuple[float, float] | None) -> tuple[float, float]:
    """The scale and offset that map samples in the range ``finite`` to 0..255.

    A flat image (or one with no finite sample) is shifted to 0 at scale 1,
    so that it is black while infinities stay black or white.
    """
    if finite is None:
        return 1.0, 0.0
    low, high = finite
    if 0 <= low and high <= 1:
        return 255.0, 0.0
    if high > low:
        return 255 / (high - low), -low * 255 / (high - low)
    return 1.0, -low


def _range(image: Image.Image) -> tuple[float, float] | None:
    """The lowest and highest finite sample of ``image``; None when there is none."""
    low, high = math.inf, -math.inf
    for _top, values in _strips(image):
        first, last = _extrema(values)
        if not (math.isfinite(first) and math.isfinite(last)):
            first = _extrema(_masked(values, FLOAT_MAX))[0]
            last = _extrema(_masked(values, -FLOAT_MAX))[1]
        low, high = min(low, first), max(high, last)
    return (low, high) if low <= high else None


def _extrema(values: Image.Image) -> tuple[float, float]:
    """The lowest and highest sample of the ``F`` image ``values``."""
    return cast(tuple[float, float], values.getextrema())


def _masked(values: Image.Image, fill: float) -> Image.Image:
    """``values`` with every NaN and infinite sample replaced by ``fill``.

    Pillow's ``getextrema`` skips NaN only after the first sample (a NaN
    first sample makes both ends NaN), and counts infinities.
    """

    def expression(args: dict[str, Any]) -> Any:
        clean = args["min"](args["max"](args["x"], -FLOAT_MAX), FLOAT_MAX)
        finite = (clean > -FLOAT_MAX) * (clean < FLOAT_MAX)
        return clean * finite + (1 - finite) * fill

    return _evaluate(expression, values)


def _strips(image: Image.Image) -> Iterator[tuple[int, Image.Image]]:
    """``image`` as ``F`` strips of rows, with the first row of each; unsigned
    32-bit TIFF samples are read back as unsigned."""
    width, height = image.size
    rows = max(1, STRIP_PIXELS // width)
    unsigned = _unsigned_32(image)
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        values = strip.convert("I").convert("F") if strip.mode in SIXTEEN_BIT_MODES else strip.convert("F")
        if unsigned:
            values = _evaluate(lambda args: args["x"] + (args["x"] < 0) * UNSIGNED_WRAP, values)
        yield top, values


def _unsigned_32(image: Image.Image) -> bool:
    """True for an ``I`` image from a TIFF of unsigned 32-bit samples (Pillow reads them as signed)."""
    if image.mode != "I" or not isinstance(image, TiffImagePlugin.TiffImageFile):
        return False
    bits = image.tag_v2.get(TIFF_BITS_PER_SAMPLE)
    sample_format = image.tag_v2.get(TIFF_SAMPLE_FORMAT, (TIFF_UNSIGNED,))
    first_format = sample_format[0] if isinstance(sample_format, tuple) else sample_format
    return bits in {32, (32,)} and first_format == TIFF_UNSIGNED


def _evaluate(expression: Any, values: Image.Image) -> Image.Image:
    """``ImageMath.lambda_eval`` of ``expression`` with ``values`` as ``x``."""
    return cast(Image.Image, ImageMath.lambda_eval(expression, x=values))
