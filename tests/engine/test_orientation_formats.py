"""Orientation 1-8 in every format that carries one, every mode and output, checked by the picture.

Each source displays as the quadrant picture of ``Samples.quadrants`` (red,
green / blue, white) through its orientation; the pixels are stored turned
the way a camera stores them. Pillow's readers differ in who turns them: JPEG,
PNG (eXIf), WebP and AVIF (irot/imir) leave it to the caller, TIFF turns the
pixels itself as it decodes (and reports the upright size from the header
on), and so does pillow-heif for HEIF (libheif applies irot/imir; the EXIF
orientation it reports is 1). The engine must show the same upright picture either way, so every
case checks the output's size (asymmetric, so a sideways result shows) and
the colour of each quadrant (so a mirrored or upside-down one shows).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import ExifTags, Image

from shiftmedia.engine import probe, render
from shiftmedia.spec import FORMATS, ResizeSpec

from .conftest import QUADRANT_COLOURS, Samples

ORIENTATIONS = range(1, 9)
UPRIGHT = (96, 64)
"""Size of the upright picture: 3:2, so a sideways result has another size."""

TOLERANCE = 40
"""Largest difference per channel from a quadrant's colour (lossy outputs, chroma subsampling)."""

SPECS: dict[str, tuple[Callable[[str], ResizeSpec], tuple[int, int]]] = {
    "fit": (lambda fmt: ResizeSpec.create((48, 0), format=fmt), (48, 32)),
    "fill": (lambda fmt: ResizeSpec.create((40, 30), mode="fill", format=fmt), (40, 30)),
    "pad": (lambda fmt: ResizeSpec.create((60, 60), mode="pad", format=fmt), (60, 60)),
    "crop": (lambda fmt: ResizeSpec.create((36, 24), mode="crop", rect=(12, 8, 72, 48), format=fmt), (36, 24)),
}
"""Per mode: the spec for an output format, and the output's size. Each maps the
centre of the upright picture (where its quadrants meet) to the output's centre."""


def _spec(mode: str, fmt: str) -> ResizeSpec:
    return SPECS[mode][0](fmt)


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return exif.tobytes()


def _save_mpo(image: Image.Image, exif: bytes) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "MPO", save_all=True, append_images=[image.copy()], exif=exif, quality=95)
    return buffer.getvalue()


def _save_heif(image: Image.Image, exif: bytes) -> bytes:
    """HEIC by pillow-heif, which stores the EXIF orientation as irot/imir (and keeps the tag)."""
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, exif=exif, quality=95)
    return buffer.getvalue()


WRITERS: dict[str, Callable[[Image.Image, bytes], bytes]] = {
    "JPEG": lambda image, exif: Samples.encode(image, "JPEG", exif=exif, quality=95),
    "MPO": _save_mpo,
    "TIFF": lambda image, exif: Samples.encode(image, "TIFF", exif=exif),
    "TIFF-lzw": lambda image, exif: Samples.encode(image, "TIFF", exif=exif, compression="tiff_lzw"),
    "PNG": lambda image, exif: Samples.encode(image, "PNG", exif=exif),
    "WEBP": lambda image, exif: Samples.encode(image, "WEBP", exif=exif, quality=95),
    "AVIF": lambda image, exif: Samples.encode(image, "AVIF", exif=exif, quality=95),
    "HEIF": _save_heif,
}
"""Every format, as Pillow (pillow-heif for HEIF) writes it, that stores an
orientation (AVIF and HEIF as irot/imir)."""


def oriented(writer: str, orientation: int, upright: Image.Image | None = None) -> bytes:
    """``upright`` (the quadrant picture by default) stored turned and tagged with ``orientation``."""
    picture = Samples.quadrants(UPRIGHT) if upright is None else upright
    return WRITERS[writer](Samples.stored(picture, orientation), _exif(orientation))


def _points(size: tuple[int, int]) -> list[tuple[int, int]]:
    """The centres of the four quadrants of an output of ``size``: top-left, top-right, bottom-left, bottom-right."""
    width, height = size
    return [
        (width // 4, height // 4),
        (3 * width // 4, height // 4),
        (width // 4, 3 * height // 4),
        (3 * width // 4, 3 * height // 4),
    ]


def _colours(image: Image.Image) -> list[tuple[int, ...]]:
    rgb = image.convert("RGB")
    return [tuple(rgb.getpixel(point)) for point in _points(rgb.size)]  # type: ignore[arg-type]


def _assert_picture(data: bytes, size: tuple[int, int], expected: list[tuple[int, ...]]) -> None:
    """The encoded output ``data`` is ``size`` and shows ``expected`` in its four quadrants."""
    _assert_picture_image(Image.open(io.BytesIO(data)), size, expected)


def _assert_picture_image(image: Image.Image, size: tuple[int, int], expected: list[tuple[int, ...]]) -> None:
    image.load()
    assert image.size == size
    got = _colours(image)
    assert all(
        max(abs(a - b) for a, b in zip(seen, wanted, strict=True)) <= TOLERANCE
        for seen, wanted in zip(got, expected, strict=True)
    ), f"quadrants {got}, expected {expected}"


@pytest.mark.parametrize("mode", SPECS)
@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("writer", WRITERS)
def test_every_format_orientation_and_mode_is_upright(writer: str, orientation: int, mode: str) -> None:
    rendered = render(oriented(writer, orientation), _spec(mode, "png"))
    _assert_picture(rendered.data, SPECS[mode][1], list(QUADRANT_COLOURS))


@pytest.mark.parametrize("fmt", [fmt for fmt in FORMATS if fmt != "png"])
@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("writer", ["TIFF", "JPEG", "PNG", "HEIF"])
def test_every_output_format_is_upright(writer: str, orientation: int, fmt: str) -> None:
    for mode in ("fit", "pad"):
        rendered = render(oriented(writer, orientation), _spec(mode, fmt))
        _assert_picture(rendered.data, SPECS[mode][1], list(QUADRANT_COLOURS))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("writer", WRITERS)
def test_probe_reports_the_upright_size(writer: str, orientation: int) -> None:
    info = probe(oriented(writer, orientation))
    assert (info.width, info.height) == UPRIGHT


def _grey() -> Image.Image:
    return Samples.quadrants(UPRIGHT).convert("L")


def _one_bit() -> Image.Image:
    """A 1-bit picture: the bottom-right quadrant white, the rest black.

    Two colours cannot tell all eight orientations apart, but with the size
    (sideways or not) the white quadrant's corner does."""
    image = Image.new("1", UPRIGHT, 0)
    image.paste(1, (UPRIGHT[0] // 2, UPRIGHT[1] // 2, *UPRIGHT))
    return image


def _sixteen_bit() -> Image.Image:
    """The grey picture in 16-bit samples (each 8-bit value × 257)."""
    return _grey().convert("I").point(lambda value: value * 257).convert("I;16")


TIFF_PICTURES: dict[str, tuple[Callable[[], Image.Image], dict[str, object]]] = {
    "L": (_grey, {}),
    "LA": (lambda: Samples.quadrants(UPRIGHT).convert("LA"), {}),
    "RGBA": (lambda: Samples.quadrants(UPRIGHT).convert("RGBA"), {}),
    "CMYK": (lambda: Samples.quadrants(UPRIGHT).convert("CMYK"), {}),
    "P": (lambda: Samples.quadrants(UPRIGHT).convert("P", palette=Image.Palette.ADAPTIVE, colors=4), {}),
    "I;16": (_sixteen_bit, {}),
    "1": (_one_bit, {}),
    "1-group4": (_one_bit, {"compression": "group4"}),
    "RGB-deflate": (lambda: Samples.quadrants(UPRIGHT), {"compression": "tiff_adobe_deflate"}),
    "RGB-packbits": (lambda: Samples.quadrants(UPRIGHT), {"compression": "packbits"}),
    "RGB-jpeg": (lambda: Samples.quadrants(UPRIGHT), {"compression": "jpeg", "quality": 95}),
    "RGB-tiled": (lambda: Samples.quadrants(UPRIGHT), {"compression": "tiff_lzw", "tile": (16, 16)}),
}
"""TIFFs in every mode Pillow writes and the engine renders, and encodings that
take both of Pillow's TIFF decode paths (its own and libtiff's), strips and tiles."""


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("picture", TIFF_PICTURES)
def test_tiff_in_every_mode_and_encoding_is_upright(picture: str, orientation: int) -> None:
    make, options = TIFF_PICTURES[picture]
    upright = make()
    data = Samples.encode(Samples.stored(upright, orientation), "TIFF", exif=_exif(orientation), **options)
    expected = _colours(_grey() if picture == "I;16" else upright)
    for fmt in ("png", "jpg"):
        _assert_picture(render(data, _spec("fit", fmt)).data, SPECS["fit"][1], expected)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("width", [48, 180, 280, 600])
def test_dct_scaled_jpeg_is_upright(orientation: int, width: int) -> None:
    """A large JPEG decodes at 1/8, 1/4, 3/8 or in full (by the output width), turned after."""
    data = oriented("JPEG", orientation, Samples.quadrants((800, 600)))
    size = (width, width * 3 // 4)
    rendered = render(data, ResizeSpec.create((width, 0), format="png"))
    _assert_picture(rendered.data, size, list(QUADRANT_COLOURS))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_every_frame_of_an_oriented_animation_is_upright(orientation: int) -> None:
    """The orientation is read once, with the first frame decoded, and applies to
    every frame. (WebP only: Pillow 13 crashes writing an animated AVIF turned
    by irot/imir.)"""
    upright = Samples.quadrants(UPRIGHT)
    frames = [Samples.stored(picture, orientation) for picture in (upright, upright.rotate(180))]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "WEBP", save_all=True, append_images=frames[1:], exif=_exif(orientation), duration=100, quality=95
    )
    rendered = render(buffer.getvalue(), _spec("fit", "webp"))
    output = Image.open(io.BytesIO(rendered.data))
    assert rendered.frames == output.n_frames == 2
    for index, expected in enumerate((QUADRANT_COLOURS, QUADRANT_COLOURS[::-1])):
        output.seek(index)
        _assert_picture_image(output, SPECS["fit"][1], list(expected))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("writer", ["JPEG", "MPO"])
def test_pillow_leaves_jpeg_orientation_to_the_caller(writer: str, orientation: int) -> None:
    """Guard: the engine plans a JPEG, and turns it, from the header's tag,
    before Pillow decodes it; should Pillow ever turn JPEG pixels itself, this fails."""
    image = Image.open(io.BytesIO(oriented(writer, orientation)))
    stored = Samples.stored(Samples.quadrants(UPRIGHT), orientation).size
    assert image.size == stored
    image.load()
    assert image.size == stored
    assert image.getexif().get(ExifTags.Base.Orientation) == orientation


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_pillow_heif_turns_heif_itself(orientation: int) -> None:
    """Guard: libheif turns the pixels as it decodes, pillow-heif reports the
    upright size from the header on and orientation 1, so the engine turns
    nothing; should it ever leave the turn to the caller, this fails."""
    import pillow_heif

    data = oriented("HEIF", orientation)
    image = pillow_heif.HeifImageFile(io.BytesIO(data), "")
    assert image.size == UPRIGHT
    assert image.getexif().get(ExifTags.Base.Orientation, 1) == 1
    _assert_picture_image(image, UPRIGHT, list(QUADRANT_COLOURS))
