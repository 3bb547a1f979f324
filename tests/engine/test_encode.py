"""Encoding: each format's settings, no metadata, animation, determinism."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shiftmedia.engine.encode import Timing, encode
from shiftmedia.engine.load import MEDIA_TYPES
from shiftmedia.spec import FORMATS, ResizeSpec

STILL = Timing(durations=(0,), loop=None)
PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF"}


def _spec(fmt: str, **options: object) -> ResizeSpec:
    return ResizeSpec.create((10, 10), format=fmt, **options)


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _photo() -> Image.Image:
    gradient = Image.linear_gradient("L").resize((120, 90))
    return Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient))


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_writes_what_it_says(fmt: str) -> None:
    image = _photo()
    image.info.update(exif=b"Exif\x00\x00junk", icc_profile=b"junk", xmp=b"<x/>")
    decoded = _decode(encode([image], _spec(fmt), STILL))
    assert decoded.format == PILLOW_FORMATS[fmt] and decoded.size == (120, 90)
    assert not decoded.getexif()
    assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp"} & set(decoded.info)
    assert fmt in MEDIA_TYPES


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_input_gives_identical_bytes(fmt: str) -> None:
    assert encode([_photo()], _spec(fmt), STILL) == encode([_photo()], _spec(fmt), STILL)


def test_jpeg_quality_is_used() -> None:
    low = encode([_photo()], _spec("jpg", quality=20), STILL)
    high = encode([_photo()], _spec("jpg", quality=95), STILL)
    assert len(low) < len(high)


def test_jpeg_is_progressive_from_100x100() -> None:
    assert _decode(encode([Image.new("RGB", (100, 100))], _spec("jpg"), STILL)).info.get("progressive")
    assert not _decode(encode([Image.new("RGB", (99, 100))], _spec("jpg"), STILL)).info.get("progressive")


def test_jpeg_keeps_grey_and_flattens_alpha_onto_the_background() -> None:
    assert _decode(encode([Image.new("L", (8, 8), 50)], _spec("jpg"), STILL)).mode == "L"
    clear = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    on_white = _decode(encode([clear], _spec("jpg"), STILL))
    assert on_white.mode == "RGB" and min(on_white.getpixel((4, 4))) >= 250
    on_blue = _decode(encode([clear], _spec("jpg", background="0000ff"), STILL)).getpixel((4, 4))
    assert on_blue[2] > 240 and on_blue[0] < 15


@pytest.mark.parametrize("fmt", ["png", "webp", "avif", "gif"])
def test_alpha_is_kept(fmt: str) -> None:
    image = Image.new("RGBA", (16, 16), (255, 0, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, 8, 16))
    decoded = _decode(encode([image], _spec(fmt), STILL)).convert("RGBA")
    assert decoded.getpixel((2, 8))[3] == 0
    assert decoded.getpixel((13, 8))[3] == 255 and decoded.getpixel((13, 8))[0] > 240


def test_png_keeps_grey() -> None:
    assert _decode(encode([Image.new("L", (4, 4))], _spec("png"), STILL)).mode == "L"


def _frames() -> list[Image.Image]:
    return [Image.new("RGB", (12, 12), colour) for colour in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_animations_keep_frames_durations_and_loop(fmt: str) -> None:
    decoded = _decode(encode(_frames(), _spec(fmt), Timing((100, 200, 300), loop=3)))
    assert decoded.n_frames == 3 and decoded.info["loop"] == 3
    durations = []
    for index in range(3):
        decoded.seek(index)
        decoded.load()
        durations.append(decoded.info["duration"])
    assert durations == [100, 200, 300]


def test_gif_without_loop_plays_once() -> None:
    decoded = _decode(encode(_frames(), _spec("gif"), Timing((100, 100, 100), loop=None)))
    assert decoded.n_frames == 3 and "loop" not in decoded.info


@pytest.mark.parametrize("fmt", ["jpg", "png", "avif"])
def test_other_formats_take_the_first_frame(fmt: str) -> None:
    decoded = _decode(encode(_frames(), _spec(fmt), Timing((100, 200, 300), loop=0)))
    assert getattr(decoded, "n_frames", 1) == 1
    red, green, blue = decoded.convert("RGB").getpixel((6, 6))
    assert red > 200 and green < 60 and blue < 60


def test_transparent_gif_frames_clear_before_the_next() -> None:
    first = Image.new("RGBA", (12, 12), (255, 0, 0, 255))
    second = Image.new("RGBA", (12, 12), (0, 0, 255, 255))
    second.paste((0, 0, 0, 0), (0, 0, 6, 12))
    decoded = _decode(encode([first, second], _spec("gif"), Timing((50, 50), loop=0)))
    decoded.seek(1)
    frame = decoded.convert("RGBA")
    assert frame.getpixel((2, 6))[3] == 0, "red from frame 1 must not show through"
    assert frame.getpixel((9, 6))[:3] == (0, 0, 255)


def test_animated_webp_flags_alpha_when_only_the_canvas_is_clear() -> None:
    """libwebp stores the changed rectangle of each frame: here only an opaque
    square, so it would leave the VP8X alpha flag cleared, and Pillow (like any
    decoder that trusts the flag) would show the clear canvas black."""
    frames = []
    for step in range(3):
        frame = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
        frame.paste((255, 0, 0, 255), (4 + 10 * step, 8, 16 + 10 * step, 20))
        frames.append(frame)
    data = encode(frames, _spec("webp"), Timing((100, 100, 100), loop=0))
    assert data[12:16] == b"VP8X" and data[20] & 0x10
    decoded = _decode(data)
    assert decoded.mode == "RGBA"
    for index, frame in enumerate(frames):
        decoded.seek(index)
        assert decoded.getchannel("A").tobytes() == frame.getchannel("A").tobytes()
