"""render and resize_bytes end to end, on images built in memory."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from shiftmedia.engine import Limits, Rendered, render, resize_bytes
from shiftmedia.errors import InvalidImage, InvalidSpec, LimitExceeded
from shiftmedia.spec import FORMATS, ResizeSpec

PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF"}


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("mode", "expected"), [("fit", (80, 60)), ("fill", (80, 80)), ("pad", (80, 80))])
def test_modes_and_formats(samples, fmt: str, mode: str, expected: tuple[int, int]) -> None:
    rendered = render(samples.photo_jpeg((320, 240)), ResizeSpec.create((80, 80), mode=mode, format=fmt))
    decoded = _decode(rendered.data)
    assert decoded.format == PILLOW_FORMATS[fmt]
    assert decoded.size == expected == (rendered.width, rendered.height)
    assert rendered.format == fmt and rendered.frames == 1
    assert rendered.content_type == Image.MIME[PILLOW_FORMATS[fmt]]


def test_resize_bytes_accepts_a_canonical_name(samples) -> None:
    data = samples.photo_jpeg()
    by_name = resize_bytes(data, "100x0-fit-80-noupscale.webp")
    assert by_name == render(data, ResizeSpec.parse("100x0-fit-80-noupscale.webp")).data
    assert _decode(by_name).size == (100, 75)


def test_resize_bytes_rejects_a_bad_name(samples) -> None:
    with pytest.raises(InvalidSpec):
        resize_bytes(samples.photo_jpeg(), "100x100-stretch-80-noupscale.webp")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_comes_out_upright(samples, orientation: int) -> None:
    rendered = render(samples.oriented_jpeg(orientation, size=(64, 48)), ResizeSpec.parse("32x0-fit-0-noupscale.png"))
    decoded = _decode(rendered.data).convert("RGB")
    assert decoded.size == (32, 24)
    upright = samples.quadrants((32, 24))
    assert max(ImageStat.Stat(ImageChops.difference(decoded, upright)).mean) < 12
    assert not decoded.getexif()


def test_transparent_png_to_jpeg_is_white_not_black(samples) -> None:
    decoded = _decode(resize_bytes(samples.rgba_png((64, 48)), "32x24-fit-85-noupscale.jpg"))
    assert decoded.mode == "RGB"
    assert min(decoded.getpixel((4, 12))) > 245
    red, green, blue = decoded.getpixel((28, 12))
    assert red > 240 and green < 20 and blue < 20


@pytest.mark.parametrize("fmt", ["png", "webp", "avif", "gif"])
def test_transparent_pad_keeps_transparency(samples, fmt: str) -> None:
    data = samples.encode(Image.new("RGB", (40, 20), (0, 0, 255)), "PNG")
    spec = ResizeSpec.create((40, 40), mode="pad", format=fmt, background="00000000")
    decoded = _decode(render(data, spec).data).convert("RGBA")
    assert decoded.getpixel((20, 2))[3] == 0
    assert decoded.getpixel((20, 20))[3] == 255 and decoded.getpixel((20, 20))[2] > 240


def test_transparent_pad_onto_jpeg_is_white(samples) -> None:
    data = samples.encode(Image.new("RGB", (40, 20), (0, 0, 255)), "PNG")
    spec = ResizeSpec.create((40, 40), mode="pad", format="jpg", background="00000000")
    decoded = _decode(render(data, spec).data)
    assert min(decoded.getpixel((20, 2))) > 245


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_deterministic(samples, fmt: str) -> None:
    data = samples.oriented_jpeg(6, size=(200, 150))
    spec = ResizeSpec.create((50, 50), mode="fill", format=fmt)
    assert render(data, spec).data == render(data, spec).data


def test_animated_gif_to_gif_keeps_frames_durations_and_loop(samples) -> None:
    colours = [(255, 0, 0, 255), (0, 255, 0, 0), (0, 0, 255, 255)]
    data = samples.animated_gif(colours, [70, 80, 90], size=(40, 30), loop=5)
    rendered = render(data, ResizeSpec.parse("20x0-fit-0-noupscale.gif"))
    decoded = _decode(rendered.data)
    assert rendered.frames == decoded.n_frames == 3 and decoded.info["loop"] == 5
    durations = []
    for index, colour in enumerate(colours):
        decoded.seek(index)
        durations.append(decoded.info["duration"])
        frame = decoded.convert("RGBA")
        assert frame.getpixel((15, 7)) == (*colour[:3], 255)
        assert frame.getpixel((2, 7))[3] == colour[3]
    assert durations == [70, 80, 90]


def test_animated_to_jpeg_is_the_first_frame(samples) -> None:
    data = samples.animated_gif([(255, 0, 0, 255), (0, 0, 255, 255)], [50, 50])
    rendered = render(data, ResizeSpec.parse("20x0-fit-80-noupscale.jpg"))
    assert rendered.frames == 1
    red, _green, blue = _decode(rendered.data).getpixel((10, 7))
    assert red > 240 and blue < 20


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG"])
def test_truncated_input_is_invalid(samples, pillow_format: str) -> None:
    data = samples.encode(Image.effect_noise((200, 150), 64).convert("RGB"), pillow_format)
    with pytest.raises(InvalidImage):
        render(samples.truncated(data), ResizeSpec.parse("50x0-fit-80-noupscale.jpg"))


def test_output_side_limit(samples) -> None:
    with pytest.raises(LimitExceeded):
        render(samples.photo_jpeg(), ResizeSpec.parse("5000x5000-pad-80-noupscale.jpg"))
    rendered = render(
        samples.photo_jpeg(), ResizeSpec.parse("5000x0-fit-80-noupscale.jpg"), Limits(max_output_side=320)
    )
    assert (rendered.width, rendered.height) == (320, 240)


def test_rendered_is_frozen(samples) -> None:
    rendered = render(samples.photo_jpeg(), ResizeSpec.parse("10x0-fit-80-noupscale.jpg"))
    assert isinstance(rendered, Rendered)
    with pytest.raises(AttributeError):
        rendered.width = 3  # type: ignore[misc]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_crop_rectangle_is_in_upright_pixels(samples, orientation: int) -> None:
    data = samples.oriented_jpeg(orientation, size=(64, 48))
    decoded = _decode(render(data, ResizeSpec.parse("16x0-crop-0-noupscale-r34x2x28x20.png")).data).convert("RGB")
    assert decoded.size == (16, 11)
    red, green, blue = ImageStat.Stat(decoded).mean
    assert green > 180 and red < 20 and blue < 20, "the upright top-right quadrant is green"


def test_crop_rectangle_outside_the_image_is_an_invalid_spec(samples) -> None:
    with pytest.raises(InvalidSpec):
        render(samples.photo_jpeg((320, 240)), ResizeSpec.parse("16x0-crop-0-noupscale-r400x0x10x10.png"))


def test_focal_point_keeps_the_side_it_is_on(samples) -> None:
    data = samples.encode(samples.quadrants((64, 48)), "PNG")
    decoded = _decode(render(data, ResizeSpec.parse("12x24-fill-0-noupscale-gf900x500.png")).data).convert("RGB")
    assert decoded.size == (12, 24)
    assert decoded.getpixel((6, 2)) == (0, 200, 0) and decoded.getpixel((6, 21)) == (255, 255, 255)


STANDARD_DC_LUMINANCE_BITS = bytes.fromhex("00010501010101010100000000000000")
"""The code-length counts of JPEG's Annex K luminance DC table, which libjpeg
writes unless asked to optimise the Huffman tables."""


@pytest.mark.parametrize("fmt", FORMATS)
def test_exif_gps_and_xmp_are_stripped(samples, fmt: str) -> None:
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "Camera maker"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)  # GPSLatitude
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret place</x:xmpmeta>'
    data = samples.encode(samples.quadrants((200, 150)), "JPEG", exif=exif.tobytes(), xmp=xmp)
    assert b"secret place" in data and b"Camera maker" in data
    output = render(data, ResizeSpec.create((100, 0), format=fmt)).data
    assert b"secret place" not in output and b"Camera maker" not in output
    decoded = _decode(output)
    assert not decoded.getexif() and "xmp" not in decoded.info


@pytest.mark.parametrize("size", [(60, 40), (400, 300)])
def test_jpeg_huffman_tables_are_optimised(samples, size: tuple[int, int]) -> None:
    data = samples.encode(Image.effect_noise((800, 600), 40).convert("RGB"), "PNG")
    output = render(data, ResizeSpec.create(size, format="jpg")).data
    standard = samples.encode(_decode(output), "JPEG", quality=85)
    assert STANDARD_DC_LUMINANCE_BITS in standard
    assert STANDARD_DC_LUMINANCE_BITS not in output


def test_grey_jpeg_stays_grey(corpus) -> None:
    data = (corpus / "jpeg_grayscale_800x533.jpg").read_bytes()
    for fmt in ("jpg", "png"):
        assert _decode(render(data, ResizeSpec.create((200, 0), format=fmt)).data).mode == "L"


def test_rendered_reports_the_time_of_each_stage(samples) -> None:
    rendered = render(samples.photo_jpeg(), ResizeSpec.parse("10x0-fit-80-noupscale.jpg"))
    assert set(rendered.timings) == {"decode", "resize", "encode"}
    assert all(seconds >= 0 for seconds in rendered.timings.values())


def test_keyed_sixteen_bit_grey_keeps_its_alpha_and_its_profile(samples) -> None:
    image = Image.new("I;16", (40, 20), 0x8080)
    image.paste(Image.new("I;16", (20, 20), 0x1234), (0, 0))
    profile = samples.grey_profile()
    data = samples.encode(image, "PNG", transparency=0x1234, icc_profile=profile)
    output = _decode(render(data, ResizeSpec.create((20, 0), format="png", keep_icc=True)).data)
    assert output.mode == "LA" and output.info["icc_profile"] == profile
    assert output.getpixel((2, 5))[1] == 0 and output.getpixel((17, 5)) == (128, 255)
