"""Scaling: Lanczos to the planned size, and JPEG's shrink-on-load."""

from __future__ import annotations

import io

from PIL import Image

from shiftmedia.engine.orient import displayed_size
from shiftmedia.engine.plan import make_plan
from shiftmedia.engine.scale import DRAFT_DETAIL, scale, shrink_on_load
from shiftmedia.spec import ResizeSpec


def test_scale_reaches_the_exact_size() -> None:
    assert scale(Image.new("RGB", (1000, 700)), (123, 45)).size == (123, 45)


def test_scale_is_a_no_op_at_the_same_size() -> None:
    image = Image.new("RGB", (10, 10))
    assert scale(image, (10, 10)) is image


def test_scale_does_not_bleed_transparent_colour_into_edges() -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 255, 0))
    image.paste((255, 0, 0, 255), (50, 0, 100, 100))
    red, green, blue, alpha = scale(image, (10, 10)).getpixel((5, 5))
    assert alpha > 0 and blue == 0 and red > 250


def _opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_jpeg_decodes_reduced_but_with_twice_the_detail(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (1600, 1200)), "JPEG"))
    plan = make_plan(image.size, ResizeSpec.parse("100x100-fill-80-noupscale.jpg"))
    shrink_on_load(image, plan, 1)
    image.load()
    assert image.size == (400, 300)
    crop_w, crop_h = plan.crop_in(image.size)[2:]
    assert min(crop_w, crop_h) >= DRAFT_DETAIL * 100


def test_jpeg_draft_works_in_stored_orientation(samples) -> None:
    image = _opened(samples.oriented_jpeg(6, size=(1600, 800)))
    assert image.size == (800, 1600)
    plan = make_plan(displayed_size(image.size, 6), ResizeSpec.parse("200x0-fit-80-noupscale.jpg"))
    shrink_on_load(image, plan, 6)
    image.load()
    assert plan.scaled == (200, 100)
    assert displayed_size(image.size, 6) == (400, 200)


def test_no_draft_when_the_output_needs_full_resolution(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (400, 300)), "JPEG"))
    shrink_on_load(image, make_plan(image.size, ResizeSpec.parse("300x0-fit-80-noupscale.jpg")), 1)
    image.load()
    assert image.size == (400, 300)


def test_other_formats_are_not_drafted(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (1600, 1200)), "PNG"))
    shrink_on_load(image, make_plan(image.size, ResizeSpec.parse("100x0-fit-80-noupscale.jpg")), 1)
    image.load()
    assert image.size == (1600, 1200)
