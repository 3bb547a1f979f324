"""Transparency keys (PNG tRNS on grey and RGB, palette alpha) survive every output format and mode.

A key marks one stored value as fully transparent. Pillow widens 1-, 2- and
4-bit grey to 8 bits and reads 16-bit RGB as its top 8 bits, but reports the
key as the file stores it, so the engine has to bring the key to the decoded
scale before it can find the pixels it marks. Each image here is 64×48: the
left half holds the key (or a transparent palette entry), the right half an
opaque value. PNG, WebP, AVIF and GIF must keep the left half transparent;
JPEG must show the background there (white by default), never black.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from PIL import Image

from shiftmedia.engine import render
from shiftmedia.engine.modes import stored_bits
from shiftmedia.spec import FORMATS, ResizeSpec

SIZE = (64, 48)
Sample = int | tuple[int, ...]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _pack(samples: Sequence[int], depth: int) -> bytes:
    """One row of samples at ``depth`` bits, big-endian, padded to a byte."""
    if depth == 16:
        return b"".join(struct.pack(">H", value) for value in samples)
    if depth == 8:
        return bytes(samples)
    bits = "".join(format(value, f"0{depth}b") for value in samples)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[index : index + 8], 2) for index in range(0, len(bits), 8))


def png(depth: int, colour_type: int, left: Sample, right: Sample, trns: bytes, plte: bytes = b"") -> bytes:
    """A 64×48 PNG written byte by byte (Pillow cannot write 2-, 4- or 16-bit
    keyed images): ``left`` fills the left half, ``right`` the right half."""
    width, height = SIZE
    pixel = list(left) if isinstance(left, tuple) else [left]
    other = list(right) if isinstance(right, tuple) else [right]
    row = _pack(pixel * (width // 2) + other * (width // 2), depth)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    body = _chunk(b"IHDR", ihdr) + (_chunk(b"PLTE", plte) if plte else b"") + _chunk(b"tRNS", trns)
    idat = zlib.compress((b"\0" + row) * height)
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _saved(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


def _halves(mode: str, left: Sample, right: Sample) -> Image.Image:
    """A 64×48 image of ``left`` and ``right`` halves (pasting an image, since
    Pillow pastes a colour into ``I;16`` as its low byte twice)."""
    image = Image.new(mode, SIZE, right)
    image.paste(Image.new(mode, (SIZE[0] // 2, SIZE[1]), left), (0, 0))
    return image


def _palette_png(transparency: int | bytes) -> bytes:
    image = _halves("P", 0, 2)
    image.putpalette([0, 0, 0, 90, 90, 90, 200, 40, 10])
    return _saved(image, "PNG", transparency=transparency)


def _palette_gif() -> bytes:
    image = _halves("P", 0, 2)
    image.putpalette([0, 0, 0, 90, 90, 90, 200, 40, 10])
    return _saved(image, "GIF", transparency=0)


@dataclass(frozen=True)
class Case:
    """A source whose left half is transparent and whose right half shows ``opaque`` (RGB)."""

    data: bytes
    opaque: tuple[int, int, int]


def _grey(value: int) -> tuple[int, int, int]:
    return value, value, value


CASES: dict[str, Case] = {
    # The key is black where it can be, so a key turned black would show.
    "grey-1bit": Case(png(1, 0, 0, 1, struct.pack(">H", 0)), _grey(255)),
    "grey-1bit-white-key": Case(png(1, 0, 1, 0, struct.pack(">H", 1)), _grey(0)),
    "grey-2bit": Case(png(2, 0, 1, 2, struct.pack(">H", 1)), _grey(170)),
    "grey-4bit": Case(png(4, 0, 5, 12, struct.pack(">H", 5)), _grey(204)),
    "grey-8bit": Case(png(8, 0, 40, 200, struct.pack(">H", 40)), _grey(200)),
    # 0x1235 differs from the key only in its low byte: it must stay opaque.
    "grey-16bit": Case(png(16, 0, 0x1234, 0x1235, struct.pack(">H", 0x1234)), _grey(18)),
    "grey-16bit-white-key": Case(png(16, 0, 0xFFFF, 0x8080, struct.pack(">H", 0xFFFF)), _grey(128)),
    "rgb-8bit": Case(png(8, 2, (10, 20, 30), (200, 100, 50), struct.pack(">3H", 10, 20, 30)), (200, 100, 50)),
    "rgb-16bit": Case(
        png(16, 2, (0x1234, 0x5678, 0x9ABC), (0xC8C8, 0x6464, 0x3232), struct.pack(">3H", 0x1234, 0x5678, 0x9ABC)),
        (200, 100, 50),
    ),
    # A 16-bit key below 256 in every channel: read as 8-bit it would mark (0, 0, 100) pixels.
    "rgb-16bit-dark-key": Case(png(16, 2, (0, 0, 100), (0, 0, 0x6464), struct.pack(">3H", 0, 0, 100)), (0, 0, 100)),
    "palette-2bit-index": Case(png(2, 3, 0, 2, b"\x00", plte=bytes([0, 0, 0, 90, 90, 90, 200, 40, 10])), (200, 40, 10)),
    "palette-int": Case(_palette_png(0), (200, 40, 10)),
    "palette-bytes": Case(_palette_png(bytes([0, 128, 255])), (200, 40, 10)),
    "gif-palette": Case(_palette_gif(), (200, 40, 10)),
    "pillow-1": Case(_saved(_halves("1", 0, 1), "PNG", transparency=0), _grey(255)),
    "pillow-L": Case(_saved(_halves("L", 40, 200), "PNG", transparency=40), _grey(200)),
    "pillow-I;16": Case(_saved(_halves("I;16", 0x1234, 0x1235), "PNG", transparency=0x1234), _grey(18)),
    "pillow-RGB": Case(_saved(_halves("RGB", (9, 9, 9), (0, 0, 255)), "PNG", transparency=(9, 9, 9)), (0, 0, 255)),
    "alpha-LA": Case(_saved(_halves("LA", (0, 0), (90, 255)), "PNG"), _grey(90)),
    "alpha-RGBA": Case(_saved(_halves("RGBA", (0, 0, 0, 0), (0, 200, 0, 255)), "PNG"), (0, 200, 0)),
    "alpha-RGBA-webp": Case(
        _saved(_halves("RGBA", (0, 0, 0, 0), (0, 200, 0, 255)), "WEBP", lossless=True), (0, 200, 0)
    ),
}

Point = tuple[int, int]

GEOMETRY: dict[str, tuple[ResizeSpec, Point, Point]] = {
    # mode: (spec without format, a point in the transparent half, a point in the opaque half)
    "fit": (ResizeSpec.create((32, 0)), (6, 12), (26, 12)),
    # fill 32×32 keeps the middle 48×48: source x 8-32 is transparent, x 32-56 opaque.
    "fill": (ResizeSpec.create((32, 32), mode="fill"), (5, 16), (27, 16)),
    # pad 40×40 places 40×30 at (0, 5) on the background.
    "pad": (ResizeSpec.create((40, 40), mode="pad"), (8, 20), (32, 20)),
    # crop source x 16-48: x 16-32 is transparent.
    "crop": (ResizeSpec.create((16, 24), mode="crop", rect=(16, 0, 32, 48)), (3, 12), (13, 12)),
}

ALPHA_TOLERANCE = {"png": 0, "gif": 0, "webp": 0, "avif": 8}
COLOUR_TOLERANCE = {"png": 1, "gif": 6, "webp": 14, "avif": 14, "jpg": 14}


def _render(case: Case, geometry: str, fmt: str, background: str | None = None) -> Image.Image:
    base = GEOMETRY[geometry][0]
    spec = ResizeSpec.create(
        (base.width, base.height), mode=base.mode, rect=base.rect, format=fmt, background=background
    )
    output = Image.open(io.BytesIO(render(case.data, spec).data))
    output.load()
    return output


def _close(actual: Sequence[int], expected: Sequence[int], tolerance: int) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize("geometry", GEOMETRY)
@pytest.mark.parametrize("fmt", [fmt for fmt in FORMATS if fmt != "jpg"])
@pytest.mark.parametrize("name", CASES)
def test_transparent_half_stays_transparent(name: str, fmt: str, geometry: str) -> None:
    case = CASES[name]
    output = _render(case, geometry, fmt).convert("RGBA")
    _spec, clear, solid = GEOMETRY[geometry]
    assert output.getpixel(clear)[3] <= ALPHA_TOLERANCE[fmt], f"{name}: the key's pixels lost their transparency"
    pixel = output.getpixel(solid)
    assert pixel[3] >= 255 - ALPHA_TOLERANCE[fmt], f"{name}: opaque pixels became transparent"
    assert _close(pixel[:3], case.opaque, COLOUR_TOLERANCE[fmt]), f"{name}: {pixel} is not {case.opaque}"


@pytest.mark.parametrize("geometry", GEOMETRY)
@pytest.mark.parametrize("name", CASES)
def test_jpeg_shows_white_where_the_key_was_never_black(name: str, geometry: str) -> None:
    case = CASES[name]
    output = _render(case, geometry, "jpg").convert("RGB")
    _spec, clear, solid = GEOMETRY[geometry]
    assert min(output.getpixel(clear)) >= 245, f"{name}: {output.getpixel(clear)} where the background should show"
    assert _close(output.getpixel(solid), case.opaque, COLOUR_TOLERANCE["jpg"])


@pytest.mark.parametrize("name", CASES)
def test_jpeg_shows_the_background_colour_where_the_key_was(name: str) -> None:
    output = _render(CASES[name], "fit", "jpg", background="ff0000").convert("RGB")
    assert _close(output.getpixel(GEOMETRY["fit"][1]), (255, 0, 0), COLOUR_TOLERANCE["jpg"])


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_partial_palette_alpha_is_kept(fmt: str) -> None:
    image = _halves("P", 1, 2)
    image.putpalette([0, 0, 0, 90, 90, 90, 200, 40, 10])
    data = _saved(image, "PNG", transparency=bytes([0, 128, 255]))
    output = Image.open(io.BytesIO(render(data, ResizeSpec.create((32, 0), format=fmt)).data)).convert("RGBA")
    red, green, blue, alpha = output.getpixel((6, 12))
    assert abs(alpha - 128) <= 2 and _close((red, green, blue), (90, 90, 90), 6)


def test_the_pngsuite_16_bit_rgb_key_is_found(fixtures) -> None:
    """PngSuite's tbgn2c16: 16-bit RGB whose white background is the key (453 of 1024 pixels)."""
    data = (fixtures / "png_16bit_rgb_trns_pngsuite.png").read_bytes()
    output = Image.open(io.BytesIO(render(data, ResizeSpec.create((32, 0), format="png")).data)).convert("RGBA")
    alpha = output.getchannel("A")
    assert alpha.histogram()[0] == 453 and alpha.histogram()[255] == 1024 - 453
    flat = Image.open(io.BytesIO(render(data, ResizeSpec.create((32, 0), format="jpg", background="00ff00")).data))
    assert _close(flat.convert("RGB").getpixel((0, 0)), (0, 255, 0), COLOUR_TOLERANCE["jpg"])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(2, 0, 1, 2, struct.pack(">H", 1)), 2),
        (png(16, 2, (1, 2, 3), (4, 5, 6), struct.pack(">3H", 1, 2, 3)), 16),
        (_saved(Image.new("L", (2, 2)), "PNG"), 8),
        (_saved(Image.new("RGB", (2, 2)), "JPEG"), None),
        (_saved(Image.new("I;16", (2, 2)), "TIFF"), 16),
    ],
)
def test_stored_bits_reads_the_header(data: bytes, expected: int | None) -> None:
    with Image.open(io.BytesIO(data)) as image:
        assert stored_bits(image, data) == expected
