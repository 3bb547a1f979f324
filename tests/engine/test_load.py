"""Opening: format by content, supported formats only, limits before decode."""

from __future__ import annotations

import struct
import warnings

import pytest
from PIL import Image

from shiftmedia.engine import Limits
from shiftmedia.engine.guard import pillow_errors
from shiftmedia.engine.load import open_source, read_frames
from shiftmedia.errors import InvalidImage, LimitExceeded


def _open(data: bytes, limits: Limits = Limits()):
    with pillow_errors():
        return open_source(data, limits)


@pytest.mark.parametrize(
    ("pillow_format", "extension"),
    [
        ("JPEG", "jpg"),
        ("PNG", "png"),
        ("GIF", "gif"),
        ("WEBP", "webp"),
        ("AVIF", "avif"),
        ("TIFF", "tiff"),
        ("BMP", "bmp"),
    ],
)
def test_format_is_detected_by_content(samples, pillow_format: str, extension: str) -> None:
    source = _open(samples.encode(Image.new("RGB", (30, 20)), pillow_format))
    assert source.format == extension
    assert source.size == (30, 20) and source.frames == 1 and source.orientation == 1


@pytest.mark.parametrize("pillow_format", ["PCX", "TGA", "ICO", "PPM"])
def test_formats_outside_the_list_are_not_opened(samples, pillow_format: str) -> None:
    with pytest.raises(InvalidImage, match="not an image"):
        _open(samples.encode(Image.new("RGB", (16, 16)), pillow_format))


def test_not_an_image() -> None:
    with pytest.raises(InvalidImage):
        _open(b"<html>hello</html>")


def test_opening_decodes_nothing(samples) -> None:
    source = _open(samples.photo_jpeg())
    assert source.image.tile, "pixels should still be waiting to be decoded"


def test_size_is_as_displayed(samples) -> None:
    source = _open(samples.oriented_jpeg(6, size=(60, 40)))
    assert source.orientation == 6 and source.size == (60, 40) and source.image.size == (40, 60)


def test_an_oriented_jpeg_is_left_undecoded_for_its_plan(samples) -> None:
    source = _open(samples.oriented_jpeg(6, size=(60, 40)))
    assert source.image.tile, "a JPEG is planned before it decodes, to decode it reduced"


@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_tiff_turned_by_its_reader_has_nothing_left_to_turn(samples, orientation: int) -> None:
    """Pillow turns an oriented TIFF as it decodes it: the source is upright as it comes."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = samples.stored(samples.quadrants((60, 40)), orientation)
    source = _open(samples.encode(stored, "TIFF", exif=exif.tobytes()))
    assert source.orientation == 1
    assert source.size == source.image.size == (60, 40)


def test_input_bytes_checked_first(samples) -> None:
    with pytest.raises(LimitExceeded, match="bytes"):
        _open(b"x" * 101, Limits(max_input_bytes=100))


def test_pixels_checked_from_the_header(samples) -> None:
    with pytest.raises(LimitExceeded, match="20x20"):
        _open(samples.encode(Image.new("RGB", (20, 20)), "PNG"), Limits(max_pixels=399))


def test_animation_frames_times_pixels_checked(samples) -> None:
    data = samples.animated_gif([(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)], [10, 20, 30], size=(10, 10))
    assert _open(data, Limits(max_frame_pixels=300)).frames == 3
    with pytest.raises(LimitExceeded, match="3 frames"):
        _open(data, Limits(max_frame_pixels=299))


@pytest.mark.parametrize("builder", ["png_header", "jpeg_header"])
def test_header_bombs_are_refused_without_decoding(samples, builder: str) -> None:
    with pytest.raises(LimitExceeded):
        _open(getattr(samples, builder)(20000, 20000))


def test_our_pixel_limit_applies_below_pillows(samples) -> None:
    with pytest.raises(LimitExceeded, match="over the limit of 40000000"):
        _open(samples.png_header(8000, 8000))


def test_read_frames_yields_durations_and_stops_at_count(samples) -> None:
    data = samples.animated_gif([(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)], [10, 20, 30], loop=2)
    source = _open(data)
    assert source.loop == 2
    seen = [(frame.duration, frame.image.convert("RGB").getpixel((0, 0))) for frame in read_frames(source, 3, Limits())]
    assert seen == [(10, (255, 0, 0)), (20, (0, 255, 0)), (30, (0, 0, 255))]
    assert len(list(read_frames(_open(data), 1, Limits()))) == 1


def test_still_images_have_one_frame(samples) -> None:
    source = _open(samples.photo_jpeg())
    frames = list(read_frames(source, 10, Limits()))
    assert len(frames) == 1 and frames[0].image.size == (320, 240)


@pytest.mark.parametrize("max_pixels", [50_000_000, 200_000_000])
def test_pillow_bomb_warning_never_leaks(samples, max_pixels: int) -> None:
    data = samples.jpeg_header(10_000, 10_000)  # 100 MP: Pillow's warning band is 89-179 MP
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if max_pixels < 100_000_000:
            with pytest.raises(LimitExceeded):
                _open(data, Limits(max_pixels=max_pixels))
        else:
            assert _open(data, Limits(max_pixels=max_pixels, max_frame_pixels=max_pixels)).size == (10_000, 10_000)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_gif_frame_growing_past_the_limit_is_refused_before_decoding(samples) -> None:
    data = bytearray(samples.animated_gif([(255, 0, 0, 255), (0, 255, 0, 255)], [10, 10], size=(40, 30)))
    second = data.index(b"\x00\x2c", data.index(b"\x00\x2c") + 2) + 1
    data[second + 5 : second + 9] = struct.pack("<HH", 9000, 9000)
    with pytest.raises(LimitExceeded, match="9000x9000"):
        _open(bytes(data))


def test_gif_frames_are_counted_from_the_blocks(samples) -> None:
    data = samples.block_gif((10, 10), [(0, 0, 10, 10)] * 50)
    assert _open(data).frames == 50
    with pytest.raises(LimitExceeded, match="more than 49 frames"):
        _open(data, Limits(max_frames=49))


def test_a_gif_frame_reaching_past_the_canvas_is_cut_to_it(samples) -> None:
    """As browsers show it: the canvas is the first frame's (Pillow would grow it
    frame by frame), so no frame is decoded onto more than the header said."""
    data = samples.block_gif((10, 10), [(0, 0, 10, 10), (0, 0, 20, 20)])
    source = _open(data)
    assert [frame.image.size for frame in read_frames(source, 2, Limits(max_frame_pixels=2 * 10 * 10))] == [
        (10, 10),
        (10, 10),
    ]
