"""Pad onto the plan's canvas."""

from __future__ import annotations

from PIL import Image

from shiftmedia.engine.canvas import pad
from shiftmedia.engine.plan import make_plan
from shiftmedia.spec import ResizeSpec


def _padded(image: Image.Image, name: str) -> Image.Image:
    return pad(image, make_plan(image.size, ResizeSpec.parse(name)), ResizeSpec.parse(name).background)


def test_pad_places_the_image_at_gravity_on_the_colour() -> None:
    result = _padded(Image.new("RGB", (10, 5), (0, 0, 255)), "10x10-pad-0-noupscale-gs-bgff0000.png")
    assert result.size == (10, 10) and result.mode == "RGB"
    assert result.getpixel((0, 0)) == (255, 0, 0)
    assert result.getpixel((0, 9)) == (0, 0, 255)


def test_transparent_background_adds_alpha() -> None:
    result = _padded(Image.new("RGB", (10, 5), (0, 0, 255)), "10x10-pad-0-noupscale-bg00000000.png")
    assert result.mode == "RGBA"
    assert result.getpixel((0, 0))[3] == 0 and result.getpixel((5, 5)) == (0, 0, 255, 255)


def test_grey_stays_grey_on_a_grey_background() -> None:
    result = _padded(Image.new("L", (10, 5), 20), "10x10-pad-0-noupscale-bg808080.png")
    assert result.mode == "L" and result.getpixel((0, 0)) == 128 and result.getpixel((5, 5)) == 20


def test_grey_gains_colour_on_a_coloured_background() -> None:
    result = _padded(Image.new("LA", (10, 5), (20, 255)), "10x10-pad-0-noupscale-bg00ff0080.png")
    assert result.mode == "RGBA" and result.getpixel((0, 0)) == (0, 255, 0, 128)


def test_pad_is_a_no_op_when_the_image_fills_the_canvas() -> None:
    image = Image.new("RGB", (10, 10))
    assert _padded(image, "10x10-pad-0-noupscale.png") is image
