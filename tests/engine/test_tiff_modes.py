"""Every sample layout Pillow reads from a TIFF renders right, or is refused as a ShiftMediaError.

The TIFFs are written byte by byte (uncompressed, one strip), so the layouts
Pillow cannot write are covered too: 1-, 2-, 4- and 12-bit grey, signed and
unsigned 16- and 32-bit integers, 32-bit float with NaN and infinities, CIE
L*a*b*, associated and unassociated alpha, unspecified extra samples, CMYK,
YCbCr and palettes. Each is 64×32: the left half holds one value, the right
half another, and the test knows what each must look like in every output
format and mode.
"""

from __future__ import annotations

import io
import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from shiftmedia.engine import probe, render
from shiftmedia.errors import InvalidImage, UnsupportedImage
from shiftmedia.spec import FORMATS, ResizeSpec

SIZE = (64, 32)
Pixel = tuple[float, ...]
RGBA = tuple[int, int, int, int]

# Photometric interpretations.
WHITE_IS_ZERO, BLACK_IS_ZERO, RGB, PALETTE, SEPARATED, YCBCR, CIELAB, ICCLAB, ITULAB, LOGLUV = (
    0, 1, 2, 3, 5, 6, 8, 9, 10, 32845
)  # fmt: skip
# Sample formats.
UINT, INT, FLOAT = 1, 2, 3
# Extra samples.
UNSPECIFIED, ASSOCIATED, UNASSOCIATED = 0, 1, 2


def _row(pixels: Sequence[Pixel], bits: Sequence[int], sample_format: int, order: str) -> bytes:
    """One row of ``pixels``, sample after sample, MSB first below 8 bits."""
    samples = [value for pixel in pixels for value in pixel]
    depth = bits[0]
    if depth < 8 or depth == 12:
        packed = "".join(format(int(value), f"0{depth}b") for value in samples)
        packed += "0" * (-len(packed) % 8)
        return bytes(int(packed[index : index + 8], 2) for index in range(0, len(packed), 8))
    codes = {(8, UINT): "B", (16, UINT): "H", (16, INT): "h", (32, UINT): "I", (32, INT): "i"}
    codes |= {(16, FLOAT): "e", (32, FLOAT): "f", (64, FLOAT): "d"}
    code = codes[(depth, sample_format)]
    return struct.pack(order + code * len(samples), *(value if code in "efd" else int(value) for value in samples))


def tiff(
    photometric: int,
    bits: Sequence[int],
    left: Pixel,
    right: Pixel,
    sample_format: int = UINT,
    extra: Sequence[int] = (),
    big_endian: bool = False,
    colormap: Sequence[int] = (),
) -> bytes:
    """An uncompressed one-strip TIFF of ``SIZE`` whose left half is ``left`` and right half ``right``."""
    order = ">" if big_endian else "<"
    width, height = SIZE
    data = _row([left] * (width // 2) + [right] * (width // 2), bits, sample_format, order) * height
    tags: dict[int, tuple[int, Sequence[int]]] = {
        256: (3, [width]),
        257: (3, [height]),
        258: (3, list(bits)),
        259: (3, [1]),
        262: (3, [photometric]),
        273: (4, [0]),
        277: (3, [len(bits)]),
        278: (3, [height]),
        279: (4, [len(data)]),
        284: (3, [1]),
        339: (3, [sample_format] * len(bits)),
    }
    if colormap:
        tags[320] = (3, list(colormap))
    if extra:
        tags[338] = (3, list(extra))
    if photometric == YCBCR:
        tags[530] = (3, [1, 1])
    ifd_size = 2 + 12 * len(tags) + 4
    blobs = b""
    entries = b""
    for tag, (kind, values) in sorted(tags.items()):
        raw = struct.pack(order + ("H" if kind == 3 else "I") * len(values), *values)
        if len(raw) <= 4:
            entries += struct.pack(order + "HHI", tag, kind, len(values)) + raw.ljust(4, b"\0")
        else:
            offset = 8 + ifd_size + len(blobs)
            entries += struct.pack(order + "HHII", tag, kind, len(values), offset)
            blobs += raw
    data_offset = 8 + ifd_size + len(blobs)
    entries = entries.replace(
        struct.pack(order + "HHI", 273, 4, 1) + struct.pack(order + "I", 0),
        struct.pack(order + "HHI", 273, 4, 1) + struct.pack(order + "I", data_offset),
    )
    header = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(order + "I", 8)
    return header + struct.pack(order + "H", len(tags)) + entries + struct.pack(order + "I", 0) + blobs + data


def _colormap(colours: Sequence[tuple[int, int, int]], size: int) -> list[int]:
    """A TIFF ColorMap: all reds, then greens, then blues, 16 bits each, ``size`` entries."""
    padded = list(colours) + [(0, 0, 0)] * (size - len(colours))
    return [channel[index] * 257 for index in range(3) for channel in padded]


NAN, INF = math.nan, math.inf
RED_LAB = (136, 208 - 128, 195 - 128)
"""sRGB red as 8-bit CIE L*a*b* (L 53.3, a 80, b 67), as TIFF stores it (a and b signed)."""


@dataclass(frozen=True)
class Case:
    """A TIFF, and what its left and right halves must show (RGBA)."""

    data: bytes
    left: RGBA
    right: RGBA


def _grey(value: int, alpha: int = 255) -> RGBA:
    return value, value, value, alpha


PALETTE_COLOURS = [(0, 0, 0), (200, 40, 10), (10, 90, 200)]
CLEAR = (0, 0, 0, 0)

CASES: dict[str, Case] = {
    "bilevel": Case(tiff(BLACK_IS_ZERO, (1,), (0,), (1,)), _grey(0), _grey(255)),
    "bilevel-white-is-zero": Case(tiff(WHITE_IS_ZERO, (1,), (0,), (1,)), _grey(255), _grey(0)),
    "grey-2bit": Case(tiff(BLACK_IS_ZERO, (2,), (1,), (3,)), _grey(85), _grey(255)),
    "grey-4bit": Case(tiff(BLACK_IS_ZERO, (4,), (5,), (12,)), _grey(85), _grey(204)),
    "grey-4bit-white-is-zero": Case(tiff(WHITE_IS_ZERO, (4,), (0,), (15,)), _grey(255), _grey(0)),
    "grey-8bit": Case(tiff(BLACK_IS_ZERO, (8,), (40,), (200,)), _grey(40), _grey(200)),
    "grey-12bit": Case(tiff(BLACK_IS_ZERO, (12,), (4095,), (2048,)), _grey(255), _grey(128)),
    "grey-16bit": Case(tiff(BLACK_IS_ZERO, (16,), (0x8080,), (0xFFFF,)), _grey(128), _grey(255)),
    "grey-16bit-big-endian": Case(
        tiff(BLACK_IS_ZERO, (16,), (0x8080,), (0xFFFF,), big_endian=True), _grey(128), _grey(255)
    ),
    "grey-16bit-signed": Case(tiff(BLACK_IS_ZERO, (16,), (-32768,), (32767,), INT), _grey(0), _grey(255)),
    "grey-32bit-signed": Case(tiff(BLACK_IS_ZERO, (32,), (-5,), (1000,), INT), _grey(0), _grey(255)),
    "grey-32bit-unsigned-high": Case(tiff(BLACK_IS_ZERO, (32,), (5,), (2**32 - 1,)), _grey(0), _grey(255)),
    "grey-32bit-mask": Case(tiff(BLACK_IS_ZERO, (32,), (0,), (1,)), _grey(0), _grey(255)),
    "float-unit": Case(tiff(BLACK_IS_ZERO, (32,), (0.25,), (1.0,), FLOAT), _grey(64), _grey(255)),
    "float-range": Case(tiff(BLACK_IS_ZERO, (32,), (100.0,), (300.0,), FLOAT), _grey(0), _grey(255)),
    "float-negative": Case(tiff(BLACK_IS_ZERO, (32,), (-1.0,), (-0.5,), FLOAT), _grey(0), _grey(255)),
    "float-nan-first": Case(tiff(BLACK_IS_ZERO, (32,), (NAN,), (0.5,), FLOAT), _grey(0), _grey(128)),
    "float-infinities": Case(tiff(BLACK_IS_ZERO, (32,), (-INF,), (INF,), FLOAT), _grey(0), _grey(255)),
    "float-big-endian": Case(tiff(BLACK_IS_ZERO, (32,), (0.0,), (1.0,), FLOAT, big_endian=True), _grey(0), _grey(255)),
    "lab": Case(tiff(CIELAB, (8, 8, 8), (255, 0, 0), RED_LAB), _grey(255), (251, 0, 8, 255)),
    "lab-black": Case(tiff(CIELAB, (8, 8, 8), (0, 0, 0), (128, 0, 0)), _grey(0), _grey(119)),
    "grey-alpha": Case(tiff(BLACK_IS_ZERO, (8, 8), (40, 0), (200, 255), extra=[UNASSOCIATED]), CLEAR, _grey(200)),
    "grey-alpha-associated": Case(
        tiff(BLACK_IS_ZERO, (8, 8), (0, 0), (100, 255), extra=[ASSOCIATED]), CLEAR, _grey(100)
    ),
    "grey-extra": Case(tiff(BLACK_IS_ZERO, (8, 8), (40, 0), (200, 9), extra=[UNSPECIFIED]), _grey(40), _grey(200)),
    "rgb": Case(tiff(RGB, (8, 8, 8), (200, 40, 10), (10, 90, 200)), (200, 40, 10, 255), (10, 90, 200, 255)),
    "rgb-16bit": Case(
        tiff(RGB, (16, 16, 16), (0xC8C8, 0x2828, 0x0A0A), (0x0A0A, 0x5A5A, 0xC8C8)),
        (200, 40, 10, 255),
        (10, 90, 200, 255),
    ),
    "rgb-16bit-extra": Case(
        tiff(RGB, (16,) * 4, (0xC8C8, 0x2828, 0x0A0A, 1), (0x0A0A, 0x5A5A, 0xC8C8, 2), extra=[UNSPECIFIED]),
        (200, 40, 10, 255),
        (10, 90, 200, 255),
    ),
    "rgba": Case(
        tiff(RGB, (8,) * 4, (9, 9, 9, 0), (10, 90, 200, 255), extra=[UNASSOCIATED]), CLEAR, (10, 90, 200, 255)
    ),
    "rgba-associated": Case(
        tiff(RGB, (8,) * 4, (0, 0, 0, 0), (10, 90, 200, 255), extra=[ASSOCIATED]), CLEAR, (10, 90, 200, 255)
    ),
    "rgba-16bit": Case(
        tiff(RGB, (16,) * 4, (0, 0, 0, 0), (0x0A0A, 0x5A5A, 0xC8C8, 0xFFFF), extra=[UNASSOCIATED]),
        CLEAR,
        (10, 90, 200, 255),
    ),
    "rgba-16bit-associated": Case(
        tiff(RGB, (16,) * 4, (0, 0, 0, 0), (0x0A0A, 0x5A5A, 0xC8C8, 0xFFFF), extra=[ASSOCIATED]),
        CLEAR,
        (10, 90, 200, 255),
    ),
    "rgb-extra": Case(
        tiff(RGB, (8,) * 4, (200, 40, 10, 7), (10, 90, 200, 7), extra=[UNSPECIFIED]),
        (200, 40, 10, 255),
        (10, 90, 200, 255),
    ),
    "rgb-two-extra": Case(
        tiff(RGB, (8,) * 5, (200, 40, 10, 7, 7), (10, 90, 200, 7, 7), extra=[UNSPECIFIED] * 2),
        (200, 40, 10, 255),
        (10, 90, 200, 255),
    ),
    "rgba-extra": Case(
        tiff(RGB, (8,) * 5, (0, 0, 0, 0, 7), (10, 90, 200, 255, 7), extra=[UNASSOCIATED, UNSPECIFIED]),
        CLEAR,
        (10, 90, 200, 255),
    ),
    "rgba-associated-extra": Case(
        tiff(RGB, (8,) * 5, (0, 0, 0, 0, 7), (10, 90, 200, 255, 7), extra=[ASSOCIATED, UNSPECIFIED]),
        CLEAR,
        (10, 90, 200, 255),
    ),
    "cmyk": Case(tiff(SEPARATED, (8,) * 4, (0, 255, 255, 0), (0, 0, 0, 0)), (255, 0, 0, 255), _grey(255)),
    "cmyk-extra": Case(
        tiff(SEPARATED, (8,) * 5, (0, 255, 255, 0, 9), (0, 0, 0, 0, 9), extra=[UNSPECIFIED]),
        (255, 0, 0, 255),
        _grey(255),
    ),
    "cmyk-16bit": Case(tiff(SEPARATED, (16,) * 4, (0, 0xFFFF, 0xFFFF, 0), (0, 0, 0, 0)), (255, 0, 0, 255), _grey(255)),
    "ycbcr": Case(tiff(YCBCR, (8, 8, 8), (76, 85, 255), (255, 128, 128)), (254, 0, 0, 255), _grey(255)),
    "palette": Case(
        tiff(PALETTE, (8,), (1,), (2,), colormap=_colormap(PALETTE_COLOURS, 256)),
        (200, 40, 10, 255),
        (10, 90, 200, 255),
    ),
    "palette-4bit": Case(
        tiff(PALETTE, (4,), (1,), (2,), colormap=_colormap(PALETTE_COLOURS, 16)),
        (200, 40, 10, 255),
        (10, 90, 200, 255),
    ),
    "palette-alpha": Case(
        tiff(PALETTE, (8, 8), (1, 0), (2, 255), extra=[UNASSOCIATED], colormap=_colormap(PALETTE_COLOURS, 256)),
        CLEAR,
        (10, 90, 200, 255),
    ),
}

REFUSED: dict[str, bytes] = {
    "cmyk-alpha": tiff(SEPARATED, (8,) * 5, (0, 0, 0, 0, 0), (0, 0, 0, 0, 255), extra=[UNASSOCIATED]),
    "cmyk-alpha-associated": tiff(SEPARATED, (8,) * 5, (0, 0, 0, 0, 0), (0, 0, 0, 0, 255), extra=[ASSOCIATED]),
    "float-16bit": tiff(BLACK_IS_ZERO, (16,), (0.0,), (1.0,), FLOAT),
    "float-64bit": tiff(BLACK_IS_ZERO, (64,), (0.0,), (1.0,), FLOAT),
    "rgb-float": tiff(RGB, (32,) * 3, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), FLOAT),
    "rgb-32bit": tiff(RGB, (32,) * 3, (0, 0, 0), (1, 1, 1)),
    "grey-alpha-16bit": tiff(BLACK_IS_ZERO, (16, 16), (0, 0), (1, 1), extra=[UNASSOCIATED]),
    "lab-16bit": tiff(CIELAB, (16,) * 3, (0, 0, 0), (1, 1, 1)),
    "lab-lightness-only": tiff(CIELAB, (8,), (0,), (255,)),
    "lab-icc-encoding": tiff(ICCLAB, (8,) * 3, (0, 128, 128), (255, 128, 128)),
    "lab-itu-encoding": tiff(ITULAB, (8,) * 3, (0, 128, 128), (255, 128, 128)),
    "logluv": tiff(LOGLUV, (16,) * 3, (0, 0, 0), (1, 1, 1)),
}
"""Layouts Pillow's TIFF reader has no mode for: refused as :class:`UnsupportedImage`, saying what the layout is."""

REFUSAL_DETAILS: dict[str, str] = {
    "cmyk-alpha": "CMYK + unassociated alpha, 8-bit unsigned integer samples",
    "cmyk-alpha-associated": "CMYK + associated alpha, 8-bit unsigned integer samples",
    "float-16bit": "grey, 16-bit float samples",
    "float-64bit": "grey, 64-bit float samples",
    "rgb-float": "RGB, 32-bit float samples",
    "rgb-32bit": "RGB, 32-bit unsigned integer samples",
    "grey-alpha-16bit": "grey + unassociated alpha, 16-bit unsigned integer samples",
    "lab-16bit": "CIE L*a*b*, 16-bit unsigned integer samples",
    "lab-lightness-only": "CIE L*a*b* (1 sample), 8-bit unsigned integer samples",
    "lab-icc-encoding": "ICC L*a*b*, 8-bit unsigned integer samples",
    "lab-itu-encoding": "ITU L*a*b*, 8-bit unsigned integer samples",
    "logluv": "LogLuv, 16-bit unsigned integer samples",
}
"""What the refusal says of each."""

GEOMETRY: dict[str, tuple[ResizeSpec, tuple[int, int], tuple[int, int]]] = {
    # mode: (spec without format, a point in the left half, a point in the right half)
    "fit": (ResizeSpec.create((32, 0)), (8, 8), (24, 8)),
    # fill 32×32 keeps source x 16-48.
    "fill": (ResizeSpec.create((32, 32), mode="fill"), (5, 16), (26, 16)),
    # pad 40×40 places 40×20 at (0, 10).
    "pad": (ResizeSpec.create((40, 40), mode="pad"), (8, 20), (32, 20)),
    "crop": (ResizeSpec.create((16, 16), mode="crop", rect=(16, 0, 32, 32)), (3, 8), (12, 8)),
}

TOLERANCE = {"png": 1, "gif": 6, "webp": 14, "avif": 14, "jpg": 14}
ALPHA_TOLERANCE = {"avif": 8}
"""AVIF's alpha plane is lossy too."""


def _expected(colour: RGBA, fmt: str) -> RGBA:
    """``colour`` as ``fmt`` shows it: JPEG flattens transparency onto white."""
    if fmt == "jpg" and colour[3] == 0:
        return 255, 255, 255, 255
    return colour


def _check(output: Image.Image, point: tuple[int, int], colour: RGBA, fmt: str, name: str) -> None:
    expected = _expected(colour, fmt)
    actual = output.convert("RGBA").getpixel(point)
    assert isinstance(actual, tuple)
    alpha_tolerance = ALPHA_TOLERANCE.get(fmt, 0)
    if expected[3] == 0:
        assert actual[3] <= alpha_tolerance, f"{name}: {actual} should be transparent"
        return
    assert actual[3] >= 255 - alpha_tolerance, f"{name}: {actual} should be opaque"
    assert all(abs(a - e) <= TOLERANCE[fmt] for a, e in zip(actual[:3], expected[:3], strict=True)), (
        f"{name} as {fmt}: {actual} is not {expected}"
    )


def _render(data: bytes, geometry: str, fmt: str) -> Image.Image:
    base = GEOMETRY[geometry][0]
    spec = ResizeSpec.create((base.width, base.height), mode=base.mode, rect=base.rect, format=fmt)
    output = Image.open(io.BytesIO(render(data, spec).data))
    output.load()
    return output


@pytest.mark.parametrize("geometry", GEOMETRY)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", CASES)
def test_layout_renders_right(name: str, fmt: str, geometry: str) -> None:
    case = CASES[name]
    output = _render(case.data, geometry, fmt)
    _spec, left, right = GEOMETRY[geometry]
    _check(output, left, case.left, fmt, name)
    _check(output, right, case.right, fmt, name)


@pytest.mark.parametrize("name", CASES)
def test_layout_passes_the_upload_check(name: str) -> None:
    case = CASES[name]
    info = probe(case.data)
    assert (info.format, info.width, info.height) == ("tiff", *SIZE)


@pytest.mark.parametrize("name", REFUSED)
def test_layouts_pillow_cannot_read_are_refused(name: str) -> None:
    expected = f"TIFF sample layout not supported: {re.escape(REFUSAL_DETAILS[name])}$"
    with pytest.raises(UnsupportedImage, match=expected):
        render(REFUSED[name], ResizeSpec.create((32, 0), format="png"))
    with pytest.raises(UnsupportedImage, match=expected):
        probe(REFUSED[name])


def test_every_refused_layout_says_what_it_is() -> None:
    assert set(REFUSAL_DETAILS) == set(REFUSED)


@pytest.mark.parametrize("big_endian", [False, True])
def test_a_refused_layout_is_described_in_either_byte_order(big_endian: bool) -> None:
    data = tiff(SEPARATED, (16,) * 5, (0,) * 5, (1,) * 5, extra=[UNSPECIFIED], big_endian=big_endian)
    with pytest.raises(UnsupportedImage, match="CMYK \\+ unspecified extra sample, 16-bit unsigned integer samples"):
        probe(data)


def test_a_truncated_tiff_is_still_invalid_not_unsupported() -> None:
    """Only a header Pillow parses whole, whose layout it has no mode for, is unsupported."""
    with pytest.raises(InvalidImage) as caught:
        probe(CASES["rgb"].data[:20])
    assert not isinstance(caught.value, UnsupportedImage)


def _lab_transform(source: str, target: str) -> ImageCms.ImageCmsTransform:
    profiles = {"RGB": ImageCms.createProfile("sRGB"), "LAB": ImageCms.createProfile("LAB")}
    return ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(profiles[source]),
        ImageCms.ImageCmsProfile(profiles[target]),
        source,
        target,
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        flags=ImageCms.Flags.NOOPTIMIZE,
    )


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_lab_picture_matches_its_srgb_original(fmt: str) -> None:
    """An sRGB picture converted to L*a*b* by LittleCMS and saved as a LAB TIFF
    comes back as LittleCMS converts it back, and close to the original (8-bit
    L*a*b* steps are coarse in saturated darks: up to 21 levels of red there)."""
    size = (96, 64)
    original = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
        ],
    )
    lab = _lab_transform("RGB", "LAB").apply(original)
    buffer = io.BytesIO()
    lab.save(buffer, "TIFF")
    output = Image.open(io.BytesIO(render(buffer.getvalue(), ResizeSpec.create(size, format=fmt)).data))
    output = output.convert("RGB")
    assert max(ImageStat.Stat(ImageChops.difference(output, original)).mean) < (1.5 if fmt == "png" else 4)
    if fmt == "png":
        back = _lab_transform("LAB", "RGB").apply(lab)
        assert ImageChops.difference(output, back).getbbox() is None


def test_lab_output_is_deterministic() -> None:
    data = CASES["lab"].data
    spec = ResizeSpec.create((32, 0), format="png")
    assert render(data, spec).data == render(data, spec).data
