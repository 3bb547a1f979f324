"""The background colour: parsing, and flattening alpha for JPEG."""

from __future__ import annotations

import pytest
from PIL import Image

from shiftmedia.engine.background import flatten, over_white, parse


@pytest.mark.parametrize(
    ("colour", "expected"),
    [("ffffff", (255, 255, 255, 255)), ("00000000", (0, 0, 0, 0)), ("12ab3480", (0x12, 0xAB, 0x34, 0x80))],
)
def test_parse(colour: str, expected: tuple[int, int, int, int]) -> None:
    assert parse(colour) == expected


@pytest.mark.parametrize(
    ("colour", "expected"),
    [((0, 0, 0, 0), (255, 255, 255)), ((10, 20, 30, 255), (10, 20, 30)), ((0, 0, 0, 128), (127, 127, 127))],
)
def test_over_white(colour: tuple[int, int, int, int], expected: tuple[int, int, int]) -> None:
    assert over_white(colour) == expected


def test_transparent_pixels_flatten_to_white_not_black() -> None:
    image = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    image.putpixel((1, 0), (255, 0, 0, 255))
    flat = flatten(image, parse("00000000"))
    assert flat.mode == "RGB"
    assert flat.getpixel((0, 0)) == (255, 255, 255) and flat.getpixel((1, 0)) == (255, 0, 0)


def test_flatten_onto_a_colour() -> None:
    flat = flatten(Image.new("RGBA", (1, 1), (0, 0, 0, 0)), parse("0000ff"))
    assert flat.getpixel((0, 0)) == (0, 0, 255)


def test_grey_alpha_stays_grey_on_white_and_turns_rgb_on_colour() -> None:
    image = Image.new("LA", (1, 1), (0, 0))
    assert flatten(image, parse("ffffff")).mode == "L"
    assert flatten(image, parse("ff0000")).getpixel((0, 0)) == (255, 0, 0)


def test_images_without_alpha_pass_through() -> None:
    image = Image.new("RGB", (1, 1))
    assert flatten(image, parse("ffffff")) is image
