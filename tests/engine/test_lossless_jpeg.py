"""Lossless JPEG (SOF3): decoded in full, since there is no DCT to scale.

Pillow cannot write a lossless JPEG, so :func:`lossless_jpeg` does, in the
simplest form the standard allows (ITU T.81 annex H: one Huffman table giving
each difference category a 5-bit code). Pillow's libjpeg-turbo decodes what it
writes back to the exact pixels, which proves the writer. Before the fix the
engine asked libjpeg-turbo for a DCT-scaled decode of it, which fails with
"broken data stream": every upload check (always 1/8) and every small resize
was refused.
"""

from __future__ import annotations

import functools
import io
import struct

import pytest
from PIL import ExifTags, Image, ImageChops

from shiftmedia.engine import ImageInfo, probe, render
from shiftmedia.engine.scale import shrinks_on_load
from shiftmedia.errors import InvalidImage
from shiftmedia.spec import FORMATS, ResizeSpec

from .conftest import QUADRANT_COLOURS, Samples

PREDICTORS = range(1, 8)
"""T.81 table H.1: the seven ways a sample is predicted from its neighbours."""

CATEGORY_BITS = 5
"""Every difference category (0-16) gets a code of this many bits: 17 codes fit in 5 bits."""


def lossless_jpeg(
    image: Image.Image,
    predictor: int = 1,
    exif: bytes | None = None,
    components: bytes | None = None,
    jfif: bool = False,
) -> bytes:
    """``image`` (L or RGB, 8 bits) as a lossless JPEG: SOF3, point transform 0.

    ``components`` names the components (``1`` for grey, ``RGB`` for colour
    by default). libjpeg-turbo reads three components as RGB in a lossless
    JPEG unless a JFIF marker (``jfif``) or an Adobe one says YCbCr; named
    ``1, 2, 3`` without a marker they are RGB too. ``exif`` (as
    ``Image.Exif.tobytes`` gives it) goes in an APP1 segment.
    """
    width, height = image.size
    identifiers = components or (b"\x01" if image.mode == "L" else b"RGB")
    planes = [band.tobytes() for band in image.split()]

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    lengths = [0] * 16
    lengths[CATEGORY_BITS - 1] = 17
    frame = struct.pack(">BHHB", 8, height, width, len(identifiers))
    frame += b"".join(bytes([component, 0x11, 0]) for component in identifiers)
    scan = bytes([len(identifiers)]) + b"".join(bytes([component, 0]) for component in identifiers)
    head = b"\xff\xd8"
    if jfif:
        head += segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if exif is not None:
        head += segment(0xE1, exif)
    head += segment(0xC4, b"\x00" + bytes(lengths) + bytes(range(17)))
    head += segment(0xC3, frame) + segment(0xDA, scan + bytes([predictor, 0, 0]))
    return head + _entropy_coded(planes, width, height, predictor) + b"\xff\xd9"


def _predict(plane: bytes, width: int, x: int, y: int, predictor: int) -> int:
    """T.81 H.1.2.1: the first row predicts from the left, the first column from
    above, the first sample 128; everything else by ``predictor``."""
    at = y * width + x
    if x == 0 and y == 0:
        return 128
    if y == 0:
        return plane[at - 1]
    if x == 0:
        return plane[at - width]
    left, up, corner = plane[at - 1], plane[at - width], plane[at - width - 1]
    return (
        left,
        up,
        corner,
        left + up - corner,
        left + ((up - corner) >> 1),
        up + ((left - corner) >> 1),
        (left + up) >> 1,
    )[predictor - 1]


def _entropy_coded(planes: list[bytes], width: int, height: int, predictor: int) -> bytes:
    """The scan's Huffman-coded differences, interleaved sample by sample, with 0xFF stuffed."""
    bits = 0
    count = 0
    out = bytearray()

    def put(value: int, length: int) -> None:
        nonlocal bits, count
        bits = (bits << length) | (value & ((1 << length) - 1))
        count += length
        while count >= 8:
            count -= 8
            byte = (bits >> count) & 0xFF
            out.append(byte)
            if byte == 0xFF:
                out.append(0)
        bits &= (1 << count) - 1

    for y in range(height):
        for x in range(width):
            for plane in planes:
                difference = (plane[y * width + x] - _predict(plane, width, x, y, predictor) + 32768) % 65536 - 32768
                category = abs(difference).bit_length()
                put(category, CATEGORY_BITS)
                if category:
                    put(difference if difference > 0 else difference - 1, category)
    if count:
        put((1 << (8 - count)) - 1, 8 - count)
    return bytes(out)


SIZE = (160, 120)

VARIANTS: dict[str, tuple[str, bytes | None]] = {
    "grey": ("L", None),
    "rgb": ("RGB", None),
    "rgb-numbered": ("RGB", b"\x01\x02\x03"),
}
"""Lossless JPEGs as encoders write them: grey; colour with components named
R, G, B (as libjpeg-turbo writes RGB); colour named 1, 2, 3 with no marker."""


@functools.cache
def _picture(mode: str) -> Image.Image:
    """A noisy photo-like picture over the quadrants, in ``mode``: every
    predictor and difference category gets used."""
    noise = Image.effect_noise(SIZE, 40).convert("RGB")
    return Image.blend(Samples.quadrants(SIZE), noise, 0.3).convert(mode)


@functools.cache
def _encoded(variant: str) -> bytes:
    """:func:`_picture` as a lossless JPEG of ``variant`` (written once: the writer is pure Python)."""
    mode, components = VARIANTS[variant]
    return lossless_jpeg(_picture(mode), components=components)


@pytest.mark.parametrize("predictor", PREDICTORS)
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_the_writer_round_trips_exactly(mode: str, predictor: int) -> None:
    picture = _picture(mode)
    decoded = Image.open(io.BytesIO(lossless_jpeg(picture, predictor)))
    assert (decoded.format, decoded.mode, decoded.size) == ("JPEG", mode, SIZE)
    assert ImageChops.difference(decoded, picture).getbbox() is None


@pytest.mark.parametrize("variant", VARIANTS)
def test_probe_accepts_it(variant: str) -> None:
    info = probe(_encoded(variant))
    assert info == ImageInfo(format="jpg", width=SIZE[0], height=SIZE[1], frames=1, mode=VARIANTS[variant][0])


def test_only_a_dct_coded_jpeg_shrinks_on_load(samples) -> None:
    def opened(data: bytes) -> Image.Image:
        return Image.open(io.BytesIO(data))

    assert shrinks_on_load(opened(samples.photo_jpeg()))
    assert not shrinks_on_load(opened(_encoded("rgb")))
    assert not shrinks_on_load(opened(samples.encode(_picture("RGB"), "PNG")))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("width", [20, 40, 60, 80, 150])
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_size_renders_as_the_same_pixels_in_png_would(variant: str, width: int, fmt: str) -> None:
    """At 1/8, 1/4, 3/8, 1/2 and full size (what a DCT JPEG would decode at
    for each width): the output is byte for byte that of a PNG of the pixels
    libjpeg-turbo decodes."""
    data = _encoded(variant)
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    reference = Samples.encode(decoded, "PNG")
    for spec in (
        ResizeSpec.create((width, 0), format=fmt),
        ResizeSpec.create((width, width), mode="fill", format=fmt),
        ResizeSpec.create((width, width), mode="pad", format=fmt),
        ResizeSpec.create((width, width // 2), mode="crop", rect=(10, 20, 100, 50), format=fmt),
    ):
        assert render(data, spec).data == render(reference, spec).data, spec


def test_a_lossless_jpeg_in_ycbcr_is_refused_as_pillow_refuses_it() -> None:
    """libjpeg-turbo makes no colour conversion in lossless mode ("we do not allow
    any lossy color conversion algorithms"), so a lossless JPEG whose JFIF
    marker says YCbCr does not decode to RGB, in full or reduced: Pillow's own
    ``load()`` fails. The engine refuses it with :class:`InvalidImage` (should a
    Pillow decode it one day, this test says so)."""
    data = lossless_jpeg(_picture("RGB"), components=b"\x01\x02\x03", jfif=True)
    with pytest.raises(OSError, match="broken data stream"):
        Image.open(io.BytesIO(data)).load()
    with pytest.raises(InvalidImage):
        probe(data)
    with pytest.raises(InvalidImage):
        render(data, ResizeSpec.create((150, 0), format="png"))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_applies(orientation: int) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    upright = Samples.quadrants((96, 64))
    data = lossless_jpeg(Samples.stored(upright, orientation), exif=exif.tobytes())
    assert (probe(data).width, probe(data).height) == (96, 64)
    result = Image.open(io.BytesIO(render(data, ResizeSpec.create((24, 0), format="png")).data)).convert("RGB")
    assert result.size == (24, 16)
    corners = [result.getpixel(point) for point in ((6, 4), (18, 4), (6, 12), (18, 12))]
    assert corners == list(QUADRANT_COLOURS)
