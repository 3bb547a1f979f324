"""Scaling: crop and Lanczos in one resample of the stored pixels, and JPEG's shrink-on-load."""

from __future__ import annotations

import functools
import io
from fractions import Fraction

import pytest
from PIL import Image, ImageChops, ImageStat

from shiftmedia.engine.orient import displayed_size, orient
from shiftmedia.engine.plan import make_plan
from shiftmedia.engine.scale import DRAFT_DETAIL, THREE_EIGHTHS, dct_scale, premultiply, resample, shrink_on_load
from shiftmedia.spec import ResizeSpec

from .test_lossless_jpeg import lossless_jpeg


def _resampled(image: Image.Image, name: str, orientation: int = 1) -> Image.Image:
    """``image`` (stored) through the plan for ``name`` and turned upright."""
    plan = make_plan(displayed_size(image.size, orientation), ResizeSpec.parse(name))
    return orient(resample(image, plan, orientation, image.size), orientation)


def test_resample_reaches_the_exact_size() -> None:
    assert _resampled(Image.new("RGB", (1000, 700)), "123x45-fill-80-noupscale.jpg").size == (123, 45)


def test_resample_is_a_no_op_when_the_plan_keeps_everything() -> None:
    image = Image.new("RGB", (30, 20))
    plan = make_plan(image.size, ResizeSpec.parse("30x0-fit-80-noupscale.jpg"))
    assert resample(image, plan, 1, image.size) is image


def test_resample_keeps_the_gravity_side(samples) -> None:
    kept = _resampled(samples.quadrants((40, 20)), "20x20-fill-0-noupscale-ge.png")
    assert kept.size == (20, 20)
    assert kept.getpixel((0, 0)) == (0, 200, 0) and kept.getpixel((19, 19)) == (255, 255, 255)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_crop_and_scale_of_the_stored_pixels_equal_those_of_the_upright_ones(samples, orientation: int) -> None:
    upright = Image.effect_noise((90, 60), 60).convert("RGB").resize((90, 60))
    name = "20x30-crop-0-upscale-r10x5x60x50-gf300x500.png"
    expected = _resampled(upright, name)
    result = _resampled(samples.stored(upright, orientation), name, orientation)
    assert result.size == expected.size == (20, 30)
    assert max(ImageStat.Stat(ImageChops.difference(result, expected)).mean) < 1.0


def test_resample_does_not_bleed_transparent_colour_into_edges() -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 255, 0))
    image.paste((255, 0, 0, 255), (50, 0, 100, 100))
    red, _green, blue, alpha = _resampled(image, "10x10-fit-0-noupscale.png").getpixel((5, 5))
    assert alpha > 0 and blue == 0 and red > 250


def test_resample_maps_the_box_onto_a_reduced_decode(samples) -> None:
    upright = samples.quadrants((400, 200))
    plan = make_plan(upright.size, ResizeSpec.parse("10x10-fill-0-noupscale-ge.png"))
    reduced = upright.resize((100, 50))
    result = resample(reduced, plan, 1, (100.0, 50.0))
    assert result.size == (10, 10)
    assert result.getpixel((5, 0)) == (0, 200, 0) and result.getpixel((9, 9)) == (255, 255, 255)


def _opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_jpeg_decodes_reduced_but_with_the_detail_kept(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (1600, 1200)), "JPEG"))
    plan = make_plan(image.size, ResizeSpec.parse("100x100-fill-80-noupscale.jpg"))
    extent = shrink_on_load(image, plan, 1)
    image.load()
    assert image.size == (200, 150) and extent == (200.0, 150.0)
    left, top, right, bottom = plan.box_in(extent)
    assert min(right - left, bottom - top) >= DRAFT_DETAIL * 100


def test_jpeg_draft_reports_the_fractional_extent(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (1601, 1203)), "JPEG"))
    extent = shrink_on_load(image, make_plan(image.size, ResizeSpec.parse("50x0-fit-80-noupscale.jpg")), 1)
    image.load()
    assert image.size == (201, 151) and extent == (1601 / 8, 1203 / 8)


def test_jpeg_draft_works_in_stored_orientation(samples) -> None:
    image = _opened(samples.oriented_jpeg(6, size=(1600, 800)))
    assert image.size == (800, 1600)
    plan = make_plan(displayed_size(image.size, 6), ResizeSpec.parse("200x0-fit-80-noupscale.jpg"))
    shrink_on_load(image, plan, 6)
    image.load()
    assert plan.scaled == (200, 100)
    assert displayed_size(image.size, 6) == (200, 100)


def test_jpeg_draft_follows_the_crop(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (1600, 1200)), "JPEG"))
    plan = make_plan(image.size, ResizeSpec.parse("100x100-crop-80-noupscale-r0x0x400x400.jpg"))
    shrink_on_load(image, plan, 1)
    image.load()
    assert image.size == (400, 300), "the 400 px rectangle holds 100 px at 1/4 scale, not at 1/8"


def test_no_draft_when_the_output_needs_full_resolution(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (400, 300)), "JPEG"))
    extent = shrink_on_load(image, make_plan(image.size, ResizeSpec.parse("300x0-fit-80-noupscale.jpg")), 1)
    image.load()
    assert image.size == (400, 300) and extent == (400.0, 300.0)


def test_other_formats_are_not_drafted(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (1600, 1200)), "PNG"))
    shrink_on_load(image, make_plan(image.size, ResizeSpec.parse("100x0-fit-80-noupscale.jpg")), 1)
    image.load()
    assert image.size == (1600, 1200)


@functools.cache
def _lossless() -> bytes:
    return lossless_jpeg(Image.effect_noise((400, 300), 40).convert("RGB"))


@pytest.mark.parametrize("width", [50, 100, 150, 200])
def test_lossless_jpeg_is_not_drafted(width: int) -> None:
    """No DCT, no reduced decode (1/8, 1/4, 3/8, 1/2 for these widths): it decodes whole."""
    image = _opened(_lossless())
    extent = shrink_on_load(image, make_plan(image.size, ResizeSpec.create((width, 0), format="jpg")), 1)
    image.load()
    assert image.size == (400, 300) and extent == (400.0, 300.0)


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ((200, 150), Fraction(1, 8)),
        ((401, 300), THREE_EIGHTHS),
        ((600, 450), THREE_EIGHTHS),
        ((601, 450), Fraction(1, 2)),
    ],
)
def test_dct_scale_is_the_smallest_that_still_spans_the_wanted_size(
    wanted: tuple[int, int], expected: Fraction
) -> None:
    assert dct_scale((1600, 1200), wanted) == expected
    assert dct_scale((1600, 1200), (1600, 1200)) == 1


def test_jpeg_decodes_at_three_eighths_between_a_quarter_and_a_half(samples) -> None:
    original = Image.effect_noise((1603, 1201), 40).convert("RGB").resize((1603, 1201))
    original = original.resize((160, 120)).resize(original.size, Image.Resampling.BICUBIC)
    image = _opened(samples.encode(original, "JPEG", quality=95))
    plan = make_plan(image.size, ResizeSpec.parse("500x0-fit-80-noupscale.jpg"))
    extent = shrink_on_load(image, plan, 1)
    image.load()
    assert image.size == (602, 451), "libjpeg-turbo's 3/8 output is the size × 3/8 rounded up"
    assert extent == (1603 * 3 / 8, 1201 * 3 / 8)
    expected = original.resize(image.size, Image.Resampling.LANCZOS, box=(0, 0, *extent))
    diff = ImageChops.difference(image, expected)
    assert max(ImageStat.Stat(diff).rms) < 6, "the 3/8 decode is the whole picture, not a crop or a garbled stream"


def test_three_eighths_falls_back_to_draft_when_the_tile_is_not_plain(samples) -> None:
    image = _opened(samples.encode(Image.new("RGB", (1600, 1200)), "JPEG"))
    image.decoderconfig = (1, 0)
    plan = make_plan(image.size, ResizeSpec.parse("500x0-fit-80-noupscale.jpg"))
    assert shrink_on_load(image, plan, 1) == (1600.0, 1200.0)
    image.load()
    assert image.size == (1600, 1200)


def test_three_eighths_decodes_the_same_every_time(samples) -> None:
    data = samples.encode(Image.effect_noise((1600, 1200), 50).convert("RGB"), "JPEG")
    plan = make_plan((1600, 1200), ResizeSpec.parse("500x0-fit-80-noupscale.jpg"))
    decoded = []
    for _ in range(2):
        image = _opened(data)
        shrink_on_load(image, plan, 1)
        image.load()
        decoded.append(image.tobytes())
    assert decoded[0] == decoded[1]


def test_premultiply_is_for_alpha_images_that_will_be_resampled() -> None:
    rgba = Image.new("RGBA", (800, 600), (10, 20, 30, 128))
    shrink = make_plan(rgba.size, ResizeSpec.parse("400x0-fit-0-noupscale.png"))
    keep = make_plan(rgba.size, ResizeSpec.parse("800x0-fit-0-noupscale.png"))
    assert premultiply(rgba, shrink, 1, (800.0, 600.0)).mode == "RGBa"
    assert premultiply(rgba, keep, 1, (800.0, 600.0)) is rgba
    rgb = rgba.convert("RGB")
    assert premultiply(rgb, shrink, 1, (800.0, 600.0)) is rgb
    assert premultiply(rgba.convert("LA"), shrink, 1, (800.0, 600.0)).mode == "La"


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_a_premultiplied_source_resamples_to_straight_alpha_as_pillow_does(mode: str) -> None:
    image = Image.merge(
        "RGBA",
        [*Image.effect_noise((640, 480), 80).convert("RGB").split(), Image.linear_gradient("L").resize((640, 480))],
    )
    image = image.convert(mode)
    plan = make_plan(image.size, ResizeSpec.parse("300x0-fit-0-noupscale.png"))
    extent = (640.0, 480.0)
    ours = resample(premultiply(image, plan, 1, extent), plan, 1, extent)
    assert ours.mode == mode
    assert ours.tobytes() == resample(image, plan, 1, extent).tobytes()
