"""HEIF/HEIC through the optional pillow-heif: a real iPhone photo, and HEIFs encoded here.

The iPhone XS photo (``tests/fixtures/heic_iphone_xs_p3.heic``, from
pillow-heif's test images) is 1025×900 with a Display P3 profile and a second,
non-primary image; the rest is encoded here with pillow-heif's x265 encoder:
flat quadrants in RGB, RGBA, grey, 10-bit colour and grey, several images in
one file. Orientation 1-8 is in ``test_orientation_formats`` (its ``HEIF``
writer). Nothing is registered with Pillow here, as the engine registers
nothing: pillow-heif is used through its own API.
"""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from shiftmedia.engine import Limits, probe, render
from shiftmedia.engine.heif import is_heif
from shiftmedia.errors import InvalidImage, LimitExceeded, UnsupportedImage
from shiftmedia.spec import FORMATS, ResizeSpec

from .conftest import QUADRANT_COLOURS, Samples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
IPHONE = FIXTURES / "heic_iphone_xs_p3.heic"
IPHONE_SIZE = (1025, 900)

SPECS: dict[str, tuple[Callable[[str], ResizeSpec], tuple[int, int]]] = {
    "fit": (lambda fmt: ResizeSpec.create((48, 0), format=fmt), (48, 32)),
    "fill": (lambda fmt: ResizeSpec.create((40, 30), mode="fill", format=fmt), (40, 30)),
    "pad": (lambda fmt: ResizeSpec.create((60, 60), mode="pad", format=fmt), (60, 60)),
    "crop": (lambda fmt: ResizeSpec.create((36, 24), mode="crop", rect=(12, 8, 72, 48), format=fmt), (36, 24)),
}
"""Per mode, for the 96×64 quadrant pictures: the spec and the output's size; each
maps the picture's centre to the output's centre."""

TOLERANCE = 40
"""Largest difference per channel from a quadrant's colour (lossy HEVC and outputs)."""


def heif(image: Image.Image, **options: object) -> bytes:
    """``image`` encoded as HEIC by pillow-heif (``quality=-1``: lossless)."""
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, **options)
    return buffer.getvalue()


def _quadrant_points(size: tuple[int, int]) -> list[tuple[int, int]]:
    width, height = size
    return [
        (width // 4, height // 4),
        (3 * width // 4, height // 4),
        (width // 4, 3 * height // 4),
        (3 * width // 4, 3 * height // 4),
    ]


def _opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _assert_close(seen: tuple[int, ...], wanted: tuple[int, ...], tolerance: int = TOLERANCE) -> None:
    assert all(abs(a - b) <= tolerance for a, b in zip(seen, wanted, strict=True)), f"{seen} is not {wanted}"


def test_the_iphone_photo_is_identified_by_content() -> None:
    info = probe(IPHONE.read_bytes())
    assert (info.format, info.width, info.height, info.frames, info.mode) == ("heic", *IPHONE_SIZE, 1, "RGB")


def _iphone_in_srgb() -> Image.Image:
    """The iPhone photo as pillow-heif decodes it, converted from its Display P3
    profile to sRGB by LittleCMS here (perceptual, as the engine converts)."""
    decoded = pillow_heif.open_heif(io.BytesIO(IPHONE.read_bytes())).to_pillow()
    profile = ImageCms.ImageCmsProfile(io.BytesIO(decoded.info["icc_profile"]))
    assert ImageCms.getProfileDescription(profile).strip() == "Display P3"
    converted = ImageCms.profileToProfile(
        decoded, profile, ImageCms.createProfile("sRGB"), renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB"
    )
    assert isinstance(converted, Image.Image)
    return converted


def test_the_display_p3_profile_is_converted_to_srgb() -> None:
    data = IPHONE.read_bytes()
    output = _opened(render(data, ResizeSpec.create(IPHONE_SIZE, format="png")).data).convert("RGB")
    assert ImageChops.difference(output, _iphone_in_srgb()).getbbox() is None
    as_if_srgb = pillow_heif.open_heif(io.BytesIO(data)).to_pillow().convert("RGB")
    assert max(high for _low, high in ImageChops.difference(output, as_if_srgb).getextrema()) >= 10, (
        "the P3 picture must not be taken as sRGB"
    )


IPHONE_SPECS = {
    "fit": ResizeSpec.create((400, 300)),
    "fill": ResizeSpec.create((400, 300), mode="fill"),
    "pad": ResizeSpec.create((300, 300), mode="pad"),
    "crop": ResizeSpec.create((200, 100), mode="crop", rect=(100, 200, 600, 300)),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", IPHONE_SPECS)
def test_the_iphone_photo_in_every_mode_and_output(mode: str, fmt: str) -> None:
    """The HEIC renders as the same picture, converted to sRGB and stored as PNG, renders
    (up to rounding: the engine converts the colour after scaling, on the small image)."""
    base = IPHONE_SPECS[mode]
    spec = ResizeSpec.create((base.width, base.height), mode=base.mode, rect=base.rect, format=fmt)
    reference = Samples.encode(_iphone_in_srgb(), "PNG")
    rendered = render(IPHONE.read_bytes(), spec)
    expected = render(reference, spec)
    assert (rendered.width, rendered.height, rendered.content_type) == (
        expected.width,
        expected.height,
        expected.content_type,
    )
    difference = ImageChops.difference(_opened(rendered.data).convert("RGB"), _opened(expected.data).convert("RGB"))
    assert max(ImageStat.Stat(difference).mean) <= {"png": 0.5, "gif": 1.5}.get(fmt, 3)


def test_rendering_a_heic_is_deterministic() -> None:
    data = IPHONE.read_bytes()
    spec = ResizeSpec.create((400, 300), mode="fill", format="webp")
    assert render(data, spec).data == render(data, spec).data


def _quadrants_rgba() -> Image.Image:
    """The quadrant picture with its left half fully transparent."""
    image = Samples.quadrants((96, 64)).convert("RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 48, 64))
    return image


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", SPECS)
def test_rgb_and_alpha_in_every_mode_and_output(mode: str, fmt: str) -> None:
    make, size = SPECS[mode]
    opaque = _opened(render(heif(Samples.quadrants((96, 64)), quality=95), make(fmt)).data).convert("RGBA")
    clear = _opened(render(heif(_quadrants_rgba(), quality=-1), make(fmt)).data).convert("RGBA")
    assert opaque.size == clear.size == size
    for point, colour in zip(_quadrant_points(size), QUADRANT_COLOURS, strict=True):
        _assert_close(opaque.getpixel(point), (*colour, 255))  # type: ignore[arg-type]
        left = point[0] < size[0] // 2
        if not left:
            _assert_close(clear.getpixel(point), (*colour, 255))  # type: ignore[arg-type]
        elif fmt == "jpg":
            _assert_close(clear.getpixel(point), (255, 255, 255, 255), 8)  # type: ignore[arg-type]
        else:
            assert clear.getpixel(point)[3] <= 8, f"{fmt}: the clear half must stay clear"  # type: ignore[index]


def _ten_bit(mode: str) -> bytes:
    """A 32×16 HEIC of 10-bit samples (stored as 16-bit, ×64): left half full, right half half."""
    width, height = 32, 16
    values = {"RGB;16": ((1023, 0, 512), (0, 512, 1023)), "L;16": ((1023,), (512,))}[mode]
    rows = b"".join(
        struct.pack(f"<{len(values[0])}H", *(value * 64 for value in values[x >= width // 2]))
        for _y in range(height)
        for x in range(width)
    )
    file = pillow_heif.from_bytes(mode, (width, height), rows)
    buffer = io.BytesIO()
    file.save(buffer, quality=-1)
    data = buffer.getvalue()
    assert pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False).info["bit_depth"] == 10
    return data


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("mode", "left", "right"), [("RGB;16", (255, 0, 128), (0, 128, 255)), ("L;16", (255,) * 3, (128,) * 3)]
)
def test_ten_bit_heic_is_reduced_to_eight_bits(
    mode: str, left: tuple[int, ...], right: tuple[int, ...], fmt: str
) -> None:
    data = _ten_bit(mode)
    assert probe(data).width == 32
    output = _opened(render(data, ResizeSpec.create((16, 8), format=fmt)).data).convert("RGB")
    tolerance = {"png": 2, "gif": 6}.get(fmt, 16)
    _assert_close(output.getpixel((3, 4)), left, tolerance)  # type: ignore[arg-type]
    _assert_close(output.getpixel((12, 4)), right, tolerance)  # type: ignore[arg-type]


def test_grey_heic_stays_grey() -> None:
    grey = Samples.quadrants((96, 64)).convert("L")
    output = _opened(render(heif(grey, quality=-1), ResizeSpec.create((48, 0), format="png")).data)
    assert output.mode == "L"
    for point, colour in zip(_quadrant_points((48, 32)), QUADRANT_COLOURS, strict=True):
        assert abs(output.getpixel(point) - Image.new("RGB", (1, 1), colour).convert("L").getpixel((0, 0))) <= 2  # type: ignore[operator]


def _two_images(primary: int) -> bytes:
    file = pillow_heif.from_pillow(Image.new("RGB", (64, 48), (200, 0, 0)))
    file.add_from_pillow(Image.new("RGB", (40, 30), (0, 200, 0)))
    buffer = io.BytesIO()
    file.save(buffer, primary_index=primary, quality=95)
    return buffer.getvalue()


@pytest.mark.parametrize(("primary", "size", "colour"), [(0, (64, 48), (200, 0, 0)), (1, (40, 30), (0, 200, 0))])
def test_only_the_primary_image_is_shown(primary: int, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    data = _two_images(primary)
    info = probe(data)
    assert (info.width, info.height, info.frames) == (*size, 1)
    for fmt in ("png", "webp", "gif"):
        rendered = render(data, ResizeSpec.create((20, 0), format=fmt))
        assert rendered.frames == 1
        output = _opened(rendered.data)
        assert getattr(output, "n_frames", 1) == 1
        _assert_close(output.convert("RGB").getpixel((10, 5)), colour, 12)  # type: ignore[arg-type]


def test_an_embedded_thumbnail_is_never_decoded_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    """pillow-heif's ``draft()`` picks an embedded thumbnail; the engine never asks it to."""
    data = heif(Samples.quadrants((96, 64)), quality=95, thumbnails=[24])
    assert pillow_heif.open_heif(io.BytesIO(data)).info["thumbnails"]

    def refuse(*_args: object) -> None:
        raise AssertionError("draft() asked for a thumbnail")

    monkeypatch.setattr(pillow_heif.HeifImageFile, "draft", refuse)
    probe(data)
    output = _opened(render(data, ResizeSpec.create((24, 0), format="png")).data).convert("RGB")
    assert output.size == (24, 16)
    for point, colour in zip(_quadrant_points((24, 16)), QUADRANT_COLOURS, strict=True):
        _assert_close(output.getpixel(point), colour)  # type: ignore[arg-type]


BROKEN: dict[str, Callable[[], bytes]] = {
    "truncated iphone photo": lambda: Samples.truncated(IPHONE.read_bytes()),
    "iphone photo cut after its header": lambda: IPHONE.read_bytes()[:4096],
    "corrupted fixture": lambda: (FIXTURES / "heic_corrupted.heic").read_bytes(),
    "header only": lambda: IPHONE.read_bytes()[:40],
}


@pytest.mark.parametrize("name", BROKEN)
def test_truncated_and_corrupt_heic_is_invalid(name: str) -> None:
    data = BROKEN[name]()
    assert is_heif(data)
    with pytest.raises(InvalidImage) as caught:
        probe(data)
    assert not isinstance(caught.value, UnsupportedImage)
    for fmt in ("jpg", "webp"):
        with pytest.raises(InvalidImage):
            render(data, ResizeSpec.create((40, 30), format=fmt))


def test_a_truncated_secondary_image_does_not_matter() -> None:
    """pillow-heif's truncated.heic: its primary 16×16 image is whole, its second one is cut."""
    data = (FIXTURES / "heic_truncated.heic").read_bytes()
    assert probe(data).width == 16
    assert render(data, ResizeSpec.create((8, 8), format="png")).width == 8


def _ispe(data: bytes, size: tuple[int, int]) -> bytes:
    """``data`` with its (only) ``ispe`` box claiming ``size``."""
    assert data.count(b"ispe") == 1
    at = data.index(b"ispe") + 8
    return data[:at] + struct.pack(">II", *size) + data[at + 8 :]


def test_a_heic_over_the_pixel_limit_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[object] = []
    load = pillow_heif.HeifImageFile.load

    def spy(self: pillow_heif.HeifImageFile) -> object:
        decoded.append(self)
        return load(self)

    monkeypatch.setattr(pillow_heif.HeifImageFile, "load", spy)
    limits = Limits(max_pixels=IPHONE_SIZE[0] * IPHONE_SIZE[1] - 1)
    with pytest.raises(LimitExceeded, match="1025x900"):
        probe(IPHONE.read_bytes(), limits)
    with pytest.raises(LimitExceeded, match="1025x900"):
        render(IPHONE.read_bytes(), ResizeSpec.create((40, 30), format="png"), limits)
    assert decoded == []
    render(IPHONE.read_bytes(), ResizeSpec.create((40, 30), format="png"))
    assert decoded, "the spy sees a decode"


@pytest.mark.parametrize("size", [(20_000, 14_000), (60_000, 60_000), (1, 1)])
def test_a_heic_whose_header_lies_about_its_size_is_refused(size: tuple[int, int]) -> None:
    """libheif checks the declared size against the coded one (and its own
    security limit) as it parses the header: refused, a ShiftMediaError."""
    data = _ispe(heif(Image.new("RGB", (64, 48), (0, 90, 200)), quality=50), size)
    with pytest.raises(InvalidImage):
        probe(data)
    with pytest.raises(InvalidImage):
        render(data, ResizeSpec.create((40, 30), format="png"))


def test_a_heic_whose_header_claims_less_than_it_codes_is_never_decoded() -> None:
    """A decompression bomb the limits cannot see: a small header over a large
    coded picture. libheif (from 1.22, in pillow-heif's wheels from 1.4.0)
    refuses to decode more than the header says; older ones decode the whole
    picture, then crop it to the header's size."""
    data = _ispe(heif(Image.new("RGB", (512, 512), (0, 90, 200)), quality=10), (16, 16))
    for call in (lambda: probe(data), lambda: render(data, ResizeSpec.create((8, 8), format="png"))):
        started = time.perf_counter()
        with pytest.raises(InvalidImage):
            call()
        assert time.perf_counter() - started < 0.5


def test_without_pillow_heif_a_heic_is_refused_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    data = IPHONE.read_bytes()
    with pytest.raises(UnsupportedImage, match=r"install shiftmedia\[heic\]"):
        probe(data)
    with pytest.raises(UnsupportedImage, match=r"install shiftmedia\[heic\]"):
        render(data, ResizeSpec.create((40, 30), format="jpg"))
    for pillow_format in ("JPEG", "PNG", "AVIF"):
        other = Samples.encode(Samples.quadrants(), pillow_format)
        assert render(other, ResizeSpec.create((40, 30), format="png")).width == 40


@pytest.mark.parametrize("version", ["1.21.2", "1.19.8", "0.99.0"])
def test_a_libheif_that_would_decode_such_bombs_is_refused(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pillow_heif, "libheif_version", lambda: version)
    with pytest.raises(UnsupportedImage, match=f"need libheif 1.22 or newer .*; this one is {re.escape(version)}"):
        probe(IPHONE.read_bytes())


def test_the_engine_imports_pillow_heif_only_for_a_heic() -> None:
    code = (
        "import sys\n"
        "from shiftmedia.engine import resize_bytes\n"
        f"jpeg = open({str(FIXTURES / 'exif_orient_6.jpg')!r}, 'rb').read()\n"
        "resize_bytes(jpeg, '40x30-fit-0-noupscale.png')\n"
        "assert 'pillow_heif' not in sys.modules, 'imported for a JPEG'\n"
        f"resize_bytes(open({str(IPHONE)!r}, 'rb').read(), '40x30-fit-0-noupscale.png')\n"
        "assert 'pillow_heif' in sys.modules\n"
        "assert 'HEIF' not in __import__('PIL.Image').Image.OPEN, 'registered with Pillow'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def _avif(major: bytes) -> bytes:
    """A Pillow-written AVIF, its major brand replaced by ``major`` (both are in its compatible brands)."""
    data = Samples.encode(Samples.quadrants(), "AVIF", quality=90)
    assert data[4:12] == b"ftypavif" and b"mif1" in data[16:32]
    return data[:8] + major + data[12:]


@pytest.mark.parametrize("major", [b"avif", b"mif1"])
def test_avif_stays_with_pillows_own_plugin(major: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("pillow-heif asked to open an AVIF")

    monkeypatch.setattr(pillow_heif, "HeifImageFile", refuse)
    data = _avif(major)
    assert not is_heif(data)
    assert probe(data).format == "avif"
    assert render(data, ResizeSpec.create((32, 24), format="png")).width == 32


def test_a_heic_whose_major_brand_is_mif1_is_heic() -> None:
    """Pillow's AVIF plugin accepts the ``mif1`` brand, then gives it up; pillow-heif reads it."""
    data = heif(Samples.quadrants((96, 64)), quality=95)
    assert data[8:12] == b"heic"
    data = data[:8] + b"mif1" + data[12:]
    assert probe(data).format == "heic"


@pytest.mark.parametrize(
    ("brands", "expected"),
    [
        ((b"heic", b"mif1", b"heic"), True),
        ((b"heix", b"mif1"), True),
        ((b"mif1", b"MiHE", b"heic"), True),
        ((b"msf1", b"hevc"), True),
        ((b"mif1",), True),
        ((b"avif", b"mif1", b"miaf"), False),
        ((b"mif1", b"avif"), False),
        ((b"avis", b"msf1"), False),
        ((b"isom", b"mp41"), False),
        ((b"qt  ",), False),
    ],
)
def test_heif_is_told_by_its_brands(brands: tuple[bytes, ...], expected: bool) -> None:
    major, *compatible = brands
    body = major + bytes(4) + b"".join(compatible)
    assert is_heif(struct.pack(">I", 8 + len(body)) + b"ftyp" + body + bytes(16)) is expected


def test_not_every_ftyp_box_is_heif() -> None:
    assert not is_heif(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
    assert not is_heif(b"short")
