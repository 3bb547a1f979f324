"""GIF palettes: adaptive colours plus one transparent index."""

from __future__ import annotations

from PIL import Image

from shiftmedia.engine.palette import TRANSPARENT_INDEX, to_palette


def test_rgb_becomes_a_palette_without_transparency() -> None:
    image = Image.linear_gradient("L").convert("RGB")
    result = to_palette(image)
    assert result.mode == "P" and "transparency" not in result.info
    assert result.getextrema()[1] < TRANSPARENT_INDEX


def test_mostly_transparent_pixels_take_the_transparent_index() -> None:
    image = Image.new("RGBA", (4, 1), (255, 0, 0, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))
    image.putpixel((1, 0), (0, 255, 0, 127))
    image.putpixel((2, 0), (0, 255, 0, 128))
    result = to_palette(image)
    assert result.info["transparency"] == TRANSPARENT_INDEX
    indices = [result.getpixel((x, 0)) for x in range(4)]
    assert indices[:2] == [TRANSPARENT_INDEX, TRANSPARENT_INDEX]
    assert TRANSPARENT_INDEX not in indices[2:]
    assert result.convert("RGB").getpixel((3, 0)) == (255, 0, 0)


def test_opaque_rgba_has_no_transparency() -> None:
    assert "transparency" not in to_palette(Image.new("RGBA", (2, 2), (1, 2, 3, 255))).info


def test_grey_stays_grey_and_grey_alpha_is_supported() -> None:
    grey = Image.new("L", (2, 2), 100)
    assert to_palette(grey) is grey
    assert to_palette(Image.new("LA", (2, 2), (100, 0))).info["transparency"] == TRANSPARENT_INDEX
