"""The geometry plan: a table of cases per mode and gravity, then properties."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shiftmedia.engine import Limits
from shiftmedia.engine.plan import Plan, clamp_rect, make_plan
from shiftmedia.errors import InvalidImage, InvalidSpec, LimitExceeded
from shiftmedia.spec import GRAVITIES, ResizeSpec

CASES = [
    # source, spec name, crop, scaled, canvas, offset
    ((1600, 1200), "400x300-fit-80-noupscale.webp", (0, 0, 1600, 1200), (400, 300), (400, 300), (0, 0)),
    ((1600, 1200), "400x0-fit-80-noupscale.webp", (0, 0, 1600, 1200), (400, 300), (400, 300), (0, 0)),
    ((1600, 1200), "0x300-fit-80-noupscale.webp", (0, 0, 1600, 1200), (400, 300), (400, 300), (0, 0)),
    ((1600, 1200), "400x400-fit-80-noupscale.webp", (0, 0, 1600, 1200), (400, 300), (400, 300), (0, 0)),
    ((1200, 1600), "400x400-fit-80-noupscale.webp", (0, 0, 1200, 1600), (300, 400), (300, 400), (0, 0)),
    ((200, 100), "400x400-fit-80-noupscale.webp", (0, 0, 200, 100), (200, 100), (200, 100), (0, 0)),
    ((200, 100), "400x400-fit-80-upscale.webp", (0, 0, 200, 100), (400, 200), (400, 200), (0, 0)),
    ((10000, 1), "100x0-fit-80-noupscale.webp", (0, 0, 10000, 1), (100, 1), (100, 1), (0, 0)),
    ((1600, 1200), "400x400-fill-80-noupscale.webp", (200, 0, 1400, 1200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "400x400-fill-80-noupscale-gnw.webp", (0, 0, 1200, 1200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "400x400-fill-80-noupscale-ge.webp", (400, 0, 1600, 1200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "400x400-fill-80-noupscale-gw.webp", (0, 0, 1200, 1200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "400x100-fill-80-noupscale.webp", (0, 400, 1600, 800), (400, 100), (400, 100), (0, 0)),
    ((1600, 1200), "400x100-fill-80-noupscale-gn.webp", (0, 0, 1600, 400), (400, 100), (400, 100), (0, 0)),
    ((1600, 1200), "400x100-fill-80-noupscale-gs.webp", (0, 800, 1600, 1200), (400, 100), (400, 100), (0, 0)),
    ((1600, 1200), "400x100-fill-80-noupscale-gse.webp", (0, 800, 1600, 1200), (400, 100), (400, 100), (0, 0)),
    ((300, 200), "400x400-fill-80-noupscale.webp", (50, 0, 250, 200), (200, 200), (200, 200), (0, 0)),
    ((300, 200), "400x400-fill-80-upscale.webp", (50, 0, 250, 200), (400, 400), (400, 400), (0, 0)),
    ((300, 200), "400x200-fill-80-noupscale-gne.webp", (0, 0, 300, 150), (300, 150), (300, 150), (0, 0)),
    ((1600, 1200), "400x400-pad-80-noupscale.webp", (0, 0, 1600, 1200), (400, 300), (400, 400), (0, 50)),
    ((1600, 1200), "400x400-pad-80-noupscale-gn.webp", (0, 0, 1600, 1200), (400, 300), (400, 400), (0, 0)),
    ((1600, 1200), "400x400-pad-80-noupscale-gs.webp", (0, 0, 1600, 1200), (400, 300), (400, 400), (0, 100)),
    ((1200, 1600), "400x400-pad-80-noupscale-ge.webp", (0, 0, 1200, 1600), (300, 400), (400, 400), (100, 0)),
    ((1200, 1600), "400x400-pad-80-noupscale-gw.webp", (0, 0, 1200, 1600), (300, 400), (400, 400), (0, 0)),
    ((100, 50), "400x400-pad-80-noupscale.webp", (0, 0, 100, 50), (100, 50), (400, 400), (150, 175)),
    ((100, 50), "400x400-pad-80-noupscale-gse.webp", (0, 0, 100, 50), (100, 50), (400, 400), (300, 350)),
    ((100, 50), "400x400-pad-80-upscale-gnw.webp", (0, 0, 100, 50), (400, 200), (400, 400), (0, 0)),
    # focal points: the window centred on the point, then clamped to the image
    ((1600, 1200), "400x400-fill-80-noupscale-gf500x500.webp", (200, 0, 1400, 1200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "400x400-fill-80-noupscale-gf250x0.webp", (0, 0, 1200, 1200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "400x400-fill-80-noupscale-gf600x0.webp", (360, 0, 1560, 1200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "400x400-fill-80-noupscale-gf1000x1000.webp", (400, 0, 1600, 1200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "400x100-fill-80-noupscale-gf0x300.webp", (0, 160, 1600, 560), (400, 100), (400, 100), (0, 0)),
    # crop: the rectangle (clamped), then covered like fill; a 0 side follows its aspect
    (
        (1600, 1200),
        "200x100-crop-80-noupscale-r100x200x800x400.webp",
        (100, 200, 900, 600),
        (200, 100),
        (200, 100),
        (0, 0),
    ),
    (
        (1600, 1200),
        "100x100-crop-80-noupscale-r100x200x800x400.webp",
        (300, 200, 700, 600),
        (100, 100),
        (100, 100),
        (0, 0),
    ),
    (
        (1600, 1200),
        "100x100-crop-80-noupscale-r100x200x800x400-gw.webp",
        (100, 200, 500, 600),
        (100, 100),
        (100, 100),
        (0, 0),
    ),
    (
        (1600, 1200),
        "100x100-crop-80-noupscale-r100x200x800x400-gf1000x0.webp",
        (500, 200, 900, 600),
        (100, 100),
        (100, 100),
        (0, 0),
    ),
    (
        (1600, 1200),
        "100x100-crop-80-noupscale-r100x200x800x400-gf300x500.webp",
        (280, 200, 680, 600),
        (100, 100),
        (100, 100),
        (0, 0),
    ),
    (
        (1600, 1200),
        "200x0-crop-80-noupscale-r100x200x800x400.webp",
        (100, 200, 900, 600),
        (200, 100),
        (200, 100),
        (0, 0),
    ),
    ((1600, 1200), "0x50-crop-80-noupscale-r100x200x800x400.webp", (100, 200, 900, 600), (100, 50), (100, 50), (0, 0)),
    (
        (1600, 1200),
        "200x0-crop-80-noupscale-r1500x1100x800x400.webp",
        (1500, 1100, 1600, 1200),
        (100, 100),
        (100, 100),
        (0, 0),
    ),
    ((1600, 1200), "400x400-crop-80-noupscale-r0x0x300x200.webp", (50, 0, 250, 200), (200, 200), (200, 200), (0, 0)),
    ((1600, 1200), "400x400-crop-80-upscale-r0x0x300x200.webp", (50, 0, 250, 200), (400, 400), (400, 400), (0, 0)),
    ((1600, 1200), "900x0-crop-80-upscale-r0x0x300x200.webp", (0, 0, 300, 200), (900, 600), (900, 600), (0, 0)),
]


@pytest.mark.parametrize(("source", "name", "crop", "scaled", "canvas", "offset"), CASES)
def test_plan_table(
    source: tuple[int, int],
    name: str,
    crop: tuple[int, int, int, int],
    scaled: tuple[int, int],
    canvas: tuple[int, int],
    offset: tuple[int, int],
) -> None:
    plan = make_plan(source, ResizeSpec.parse(name))
    assert plan == Plan(source=source, crop=crop, scaled=scaled, canvas=canvas, offset=offset)


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ((10000, 1), "0x4000-fit-80-upscale.webp"),
        ((100, 100), "5000x100-pad-80-noupscale.webp"),
        ((8000, 8000), "5000x5000-fill-80-noupscale.webp"),
    ],
)
def test_output_over_the_side_limit_is_refused(source: tuple[int, int], name: str) -> None:
    with pytest.raises(LimitExceeded):
        make_plan(source, ResizeSpec.parse(name))


def test_side_limit_comes_from_limits() -> None:
    plan = make_plan((8000, 8000), ResizeSpec.parse("5000x5000-fill-80-noupscale.webp"), Limits(max_output_side=5000))
    assert plan.canvas == (5000, 5000)


def test_fit_to_a_small_box_never_exceeds_the_source_limit_check_on_output_only() -> None:
    plan = make_plan((100, 100), ResizeSpec.parse("16000x16000-fit-80-noupscale.webp"))
    assert plan.canvas == (100, 100)


@pytest.mark.parametrize("rect", ["r1600x0x10x10", "r0x1200x10x10", "r5000x5000x1x1"])
def test_crop_rectangle_outside_the_image_is_an_invalid_spec(rect: str) -> None:
    with pytest.raises(InvalidSpec):
        make_plan((1600, 1200), ResizeSpec.parse(f"100x100-crop-80-noupscale-{rect}.webp"))


def test_empty_source_is_invalid() -> None:
    with pytest.raises(InvalidImage):
        make_plan((0, 10), ResizeSpec.parse("10x10-fit-80-noupscale.webp"))


def test_box_in_maps_the_box_onto_a_reduced_decode() -> None:
    plan = make_plan((5760, 3840), ResizeSpec.parse("400x400-fill-85-noupscale.jpg"))
    assert plan.crop == (960, 0, 4800, 3840)
    assert plan.box_in((5760, 3840)) == plan.crop
    assert plan.box_in((1440, 960)) == (240, 0, 1200, 960)
    assert plan.box_in((720.125, 480)) == pytest.approx((960 * 720.125 / 5760, 0, 4800 * 720.125 / 5760, 480))


def test_decode_size_keeps_the_requested_detail() -> None:
    plan = make_plan((5760, 3840), ResizeSpec.parse("400x400-fill-85-noupscale.jpg"))
    assert plan.decode_size(Fraction(2)) == (1200, 800)
    assert plan.decode_size(Fraction(3, 2)) == (900, 600)
    assert plan.decode_size(Fraction(1)) == (600, 400)
    enlarging = make_plan((300, 200), ResizeSpec.parse("400x400-fill-85-upscale.jpg"))
    assert enlarging.decode_size(Fraction(2)) == (300, 200)


sources = st.tuples(st.integers(1, 6000), st.integers(1, 6000))
boxes = st.tuples(st.integers(1, 3000), st.integers(1, 3000))


focal_points = st.builds(lambda x, y: f"f{x}x{y}", st.integers(0, 1000), st.integers(0, 1000))


@st.composite
def specs(draw: st.DrawFn, source: tuple[int, int] = (6000, 6000)) -> ResizeSpec:
    mode = draw(st.sampled_from(["fit", "fill", "pad", "crop"]))
    width, height = draw(boxes)
    if mode in {"fit", "crop"}:
        width, height = draw(st.sampled_from([(width, height), (width, 0), (0, height)]))
    gravity = "c" if mode == "fit" else draw(st.sampled_from(GRAVITIES))
    if mode in {"fill", "crop"} and draw(st.booleans()):
        gravity = draw(focal_points)
    rect = None
    if mode == "crop":
        x, y = draw(st.integers(0, source[0] - 1)), draw(st.integers(0, source[1] - 1))
        rect = (x, y, draw(st.integers(1, 7000)), draw(st.integers(1, 7000)))
    return ResizeSpec(width, height, mode=mode, upscale=draw(st.booleans()), gravity=gravity, rect=rect)


@st.composite
def sources_and_specs(draw: st.DrawFn) -> tuple[tuple[int, int], ResizeSpec]:
    source = draw(sources)
    return source, draw(specs(source))


def _aspect_error(size: tuple[int, int], like: tuple[int, int]) -> float:
    """How many pixels ``size`` is off ``like``'s aspect, on its worse side."""
    return min(
        abs(size[1] - size[0] * like[1] / like[0]),
        abs(size[0] - size[1] * like[0] / like[1]),
    )


@given(case=sources_and_specs())
def test_plan_properties(case: tuple[tuple[int, int], ResizeSpec]) -> None:
    source, spec = case
    plan = make_plan(source, spec, Limits(max_output_side=1_000_000_000))
    left, top, right, bottom = plan.crop
    assert 0 <= left < right <= source[0] and 0 <= top < bottom <= source[1]
    assert min(plan.scaled) >= 1 and min(plan.canvas) >= 1
    assert 0 <= plan.offset[0] <= plan.canvas[0] - plan.scaled[0]
    assert 0 <= plan.offset[1] <= plan.canvas[1] - plan.scaled[1]
    if not spec.upscale:
        assert plan.scaled[0] <= plan.crop_size[0] and plan.scaled[1] <= plan.crop_size[1]
    if spec.mode == "pad":
        assert plan.canvas == (spec.width, spec.height)
    if spec.mode in {"fit", "pad"}:
        assert plan.crop == (0, 0, *source)
        if spec.width:
            assert plan.scaled[0] <= spec.width
        if spec.height:
            assert plan.scaled[1] <= spec.height
        if min(plan.scaled) > 1:
            assert _aspect_error(plan.scaled, source) <= 1
    if spec.mode == "fit":
        assert plan.canvas == plan.scaled
        if spec.upscale:
            assert plan.scaled[0] == spec.width or plan.scaled[1] == spec.height
    region = (0, 0, *source) if spec.rect is None else clamp_rect(source, spec.rect)
    assert region[0] <= left and region[1] <= top and right <= region[2] and bottom <= region[3]
    region_size = region[2] - region[0], region[3] - region[1]
    covers = spec.mode == "fill" or (spec.mode == "crop" and spec.width and spec.height)
    if covers:
        assert plan.canvas == plan.scaled
        assert plan.canvas[0] <= spec.width and plan.canvas[1] <= spec.height
        assert plan.crop_size[0] == region_size[0] or plan.crop_size[1] == region_size[1]
        if spec.upscale:
            assert plan.canvas == (spec.width, spec.height)
        if min(plan.crop_size) > 1:
            assert _aspect_error(plan.crop_size, (spec.width, spec.height)) <= 1
    elif spec.mode == "crop":
        assert plan.crop == region and plan.canvas == plan.scaled
        if min(plan.scaled) > 1:
            assert _aspect_error(plan.scaled, region_size) <= 1
    if spec.gravity.startswith("f"):
        focal = [int(v) * side / 1000 for v, side in zip(spec.gravity[1:].split("x"), source, strict=True)]
        for low, high, lower_bound, upper_bound, point in (
            (left, right, region[0], region[2], focal[0]),
            (top, bottom, region[1], region[3], focal[1]),
        ):
            centre = (low + high) / 2
            if lower_bound < low and high < upper_bound:
                assert abs(centre - point) <= 1, "a free window is centred on the focal point"
            elif low == lower_bound and high < upper_bound:
                assert centre >= point - 1, "clamped at the start only when the point is near it"
            elif high == upper_bound and low > lower_bound:
                assert centre <= point + 1, "clamped at the end only when the point is near it"


@given(case=sources_and_specs(), reduction=st.sampled_from([1, 2, 4, 8]))
def test_box_in_stays_inside_any_reduced_decode(case: tuple[tuple[int, int], ResizeSpec], reduction: int) -> None:
    source, spec = case
    plan = make_plan(source, spec, Limits(max_output_side=1_000_000_000))
    extent = (source[0] / reduction, source[1] / reduction)
    left, top, right, bottom = plan.box_in(extent)
    assert 0 <= left < right <= extent[0] and 0 <= top < bottom <= extent[1]


@given(case=sources_and_specs())
def test_decode_size_never_below_twice_the_output(case: tuple[tuple[int, int], ResizeSpec]) -> None:
    source, spec = case
    plan = make_plan(source, spec, Limits(max_output_side=1_000_000_000))
    wanted = plan.decode_size(Fraction(2))
    assert wanted[0] <= source[0] and wanted[1] <= source[1]
    crop_w, crop_h = plan.crop_size
    if wanted != source:
        assert wanted[0] * crop_w >= 2 * plan.scaled[0] * source[0] - source[0]
        assert wanted[1] * crop_h >= 2 * plan.scaled[1] * source[1] - source[1]
