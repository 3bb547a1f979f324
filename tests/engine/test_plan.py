"""The geometry plan: a table of cases per mode and gravity, then properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shiftmedia.engine import Limits
from shiftmedia.engine.plan import Plan, make_plan
from shiftmedia.errors import InvalidImage, LimitExceeded
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


def test_empty_source_is_invalid() -> None:
    with pytest.raises(InvalidImage):
        make_plan((0, 10), ResizeSpec.parse("10x10-fit-80-noupscale.webp"))


def test_crop_in_maps_the_box_onto_a_reduced_decode() -> None:
    plan = make_plan((5760, 3840), ResizeSpec.parse("400x400-fill-85-noupscale.jpg"))
    assert plan.crop == (960, 0, 4800, 3840)
    assert plan.crop_in((5760, 3840)) == plan.crop
    assert plan.crop_in((1440, 960)) == (240, 0, 1200, 960)


def test_decode_size_keeps_the_requested_detail() -> None:
    plan = make_plan((5760, 3840), ResizeSpec.parse("400x400-fill-85-noupscale.jpg"))
    assert plan.decode_size(2) == (1200, 800)
    assert plan.decode_size(1) == (600, 400)
    enlarging = make_plan((300, 200), ResizeSpec.parse("400x400-fill-85-upscale.jpg"))
    assert enlarging.decode_size(2) == (300, 200)


sources = st.tuples(st.integers(1, 6000), st.integers(1, 6000))
boxes = st.tuples(st.integers(1, 3000), st.integers(1, 3000))


@st.composite
def specs(draw: st.DrawFn) -> ResizeSpec:
    mode = draw(st.sampled_from(["fit", "fill", "pad"]))
    width, height = draw(boxes)
    if mode == "fit":
        width, height = draw(st.sampled_from([(width, height), (width, 0), (0, height)]))
    gravity = "c" if mode == "fit" else draw(st.sampled_from(GRAVITIES))
    return ResizeSpec(width, height, mode=mode, upscale=draw(st.booleans()), gravity=gravity)


def _aspect_error(size: tuple[int, int], like: tuple[int, int]) -> float:
    """How many pixels ``size`` is off ``like``'s aspect, on its worse side."""
    return min(
        abs(size[1] - size[0] * like[1] / like[0]),
        abs(size[0] - size[1] * like[0] / like[1]),
    )


@given(source=sources, spec=specs())
def test_plan_properties(source: tuple[int, int], spec: ResizeSpec) -> None:
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
    if spec.mode == "fill":
        assert plan.canvas == plan.scaled
        assert plan.canvas[0] <= spec.width and plan.canvas[1] <= spec.height
        assert plan.crop_size[0] == source[0] or plan.crop_size[1] == source[1]
        if spec.upscale:
            assert plan.canvas == (spec.width, spec.height)
        if min(plan.crop_size) > 1:
            assert _aspect_error(plan.crop_size, (spec.width, spec.height)) <= 1


@given(source=sources, spec=specs(), reduction=st.sampled_from([1, 2, 4, 8]))
def test_crop_in_stays_inside_any_reduced_decode(source: tuple[int, int], spec: ResizeSpec, reduction: int) -> None:
    plan = make_plan(source, spec, Limits(max_output_side=1_000_000_000))
    reduced = (-(-source[0] // reduction), -(-source[1] // reduction))
    left, top, right, bottom = plan.crop_in(reduced)
    assert 0 <= left < right <= reduced[0] and 0 <= top < bottom <= reduced[1]


@given(source=sources, spec=specs())
def test_decode_size_never_below_twice_the_output(source: tuple[int, int], spec: ResizeSpec) -> None:
    plan = make_plan(source, spec, Limits(max_output_side=1_000_000_000))
    wanted = plan.decode_size(2)
    assert wanted[0] <= source[0] and wanted[1] <= source[1]
    crop_w, crop_h = plan.crop_size
    if wanted != source:
        assert wanted[0] * crop_w >= 2 * plan.scaled[0] * source[0] - source[0]
        assert wanted[1] * crop_h >= 2 * plan.scaled[1] * source[1] - source[1]
