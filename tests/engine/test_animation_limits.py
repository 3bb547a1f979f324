"""Animations are bounded from the header and the plan, before a pixel is decoded.

Each limit (frames, decoded pixels of all frames, output pixels of all frames)
is refused by ``probe`` (upload) and ``render`` alike, quickly and without
decoding; the two reproductions of the hardening issue are built here, small
and fast: 44 frames of 4096×4096 behind a 1×1 first frame, and 9,000 tiny
frames padded to 400×300.
"""

from __future__ import annotations

import io
import time
import weakref
from collections.abc import Callable, Sequence

import pytest
from PIL import Image, ImageFile

from shiftmedia.engine import Limits, pipeline, probe, render
from shiftmedia.engine.encode import Timing
from shiftmedia.engine.load import Source
from shiftmedia.errors import LimitExceeded
from shiftmedia.spec import ResizeSpec

PAD_400X300_GIF = ResizeSpec.parse("400x300-pad-0-upscale.gif")
THREE_COLOURS = [(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)]
"""Frames that differ, so that no writer merges them."""


def _refuse_to_decode(image: Image.Image) -> None:
    raise AssertionError(f"{image.format} pixels were decoded")


def _refused_quickly(call: Callable[[], object], match: str) -> None:
    """``call`` raises LimitExceeded matching ``match`` within a second, and
    no image file's pixels are loaded on the way."""
    Image.init()  # importing every plugin builds a few images; not ours to count
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ImageFile.ImageFile, "load", _refuse_to_decode)
        started = time.perf_counter()
        with pytest.raises(LimitExceeded, match=match):
            call()
        assert time.perf_counter() - started < 1.0


@pytest.fixture(scope="module")
def huge_frames_behind_a_tiny_one(samples) -> bytes:
    """Reproduction 1: a 1×1 screen and first frame, then 43 flat frames of
    4096×4096 that Pillow grows the canvas for only as it decodes them
    (65 s and 4.6 GiB to render before the fix)."""
    return samples.block_gif((1, 1), [(0, 0, 1, 1)] + [(0, 0, 4096, 4096)] * 43)


@pytest.fixture(scope="module")
def nine_thousand_tiny_frames(samples) -> bytes:
    """Reproduction 2: 9,000 frames of 1×1 (225 KB), to be padded to 400×300
    (24 s and 4.3 GiB before the fix)."""
    return samples.block_gif((1, 1), [(0, 0, 1, 1)] * 9000)


def test_huge_frames_behind_a_tiny_one_are_refused_from_the_blocks(huge_frames_behind_a_tiny_one: bytes) -> None:
    data = huge_frames_behind_a_tiny_one
    _refused_quickly(lambda: probe(data), "44 frames of 16777216 pixels")
    _refused_quickly(lambda: render(data, PAD_400X300_GIF), "44 frames of 16777216 pixels")


def test_a_huge_frame_past_the_screen_is_refused_as_a_frame(samples) -> None:
    data = samples.block_gif((1, 1), [(0, 0, 1, 1), (0, 0, 8000, 8000)])
    _refused_quickly(lambda: probe(data), "8000x8000")


def test_nine_thousand_tiny_frames_are_refused_by_the_frame_count(nine_thousand_tiny_frames: bytes) -> None:
    data = nine_thousand_tiny_frames
    _refused_quickly(lambda: probe(data), "more than 1000 frames")
    _refused_quickly(lambda: render(data, PAD_400X300_GIF), "more than 1000 frames")


def test_nine_thousand_tiny_frames_are_refused_by_the_output_too(nine_thousand_tiny_frames: bytes) -> None:
    limits = Limits(max_frames=10_000)
    _refused_quickly(lambda: render(nine_thousand_tiny_frames, PAD_400X300_GIF, limits), "9000 frames of 400x300")


def test_a_small_animation_upscaled_to_4096_is_refused_from_the_plan(samples) -> None:
    data = samples.block_gif((40, 40), [(0, 0, 40, 40)] * 44)
    for name in ("4096x4096-fit-0-upscale.gif", "4096x4096-fit-80-upscale.webp"):
        spec = ResizeSpec.parse(name)
        _refused_quickly(lambda spec=spec: render(data, spec), "44 frames of 4096x4096")


@pytest.mark.parametrize("pillow_format", ["GIF", "WEBP", "AVIF"])
def test_frame_count_boundary(samples, pillow_format: str) -> None:
    frames = [Image.new("RGB", (8, 8), (60 * index, 0, 0)) for index in range(5)]
    data = samples.encode(frames[0], pillow_format, save_all=True, append_images=frames[1:], duration=40)
    spec = ResizeSpec.parse("8x8-fit-80-noupscale.webp")
    assert probe(data, Limits(max_frames=5)).frames == 5
    assert render(data, spec, Limits(max_frames=5)).frames == 5
    with pytest.raises(LimitExceeded, match="more than 4 frames"):
        probe(data, Limits(max_frames=4))
    with pytest.raises(LimitExceeded, match="more than 4 frames"):
        render(data, spec, Limits(max_frames=4))


def test_frame_pixels_count_the_grown_canvas(samples) -> None:
    data = samples.block_gif((10, 10), [(0, 0, 10, 10), (0, 0, 20, 10), (0, 0, 10, 10)])
    spec = ResizeSpec.parse("10x10-fit-0-noupscale.gif")
    assert probe(data, Limits(max_frame_pixels=600)).frames == 3
    render(data, spec, Limits(max_frame_pixels=600))
    with pytest.raises(LimitExceeded, match="3 frames of 200 pixels"):
        probe(data, Limits(max_frame_pixels=599))
    with pytest.raises(LimitExceeded, match="3 frames of 200 pixels"):
        render(data, spec, Limits(max_frame_pixels=599))


def test_frame_pixels_do_not_bound_a_still(samples) -> None:
    data = samples.encode(Image.new("RGB", (30, 20)), "PNG")
    assert probe(data, Limits(max_frame_pixels=100)).width == 30


def test_output_pixels_boundary(samples) -> None:
    data = samples.animated_gif(THREE_COLOURS, [10, 10, 10], size=(20, 10))
    for name in ("40x20-fit-0-upscale.gif", "40x20-fit-80-upscale.webp"):
        spec = ResizeSpec.parse(name)
        assert render(data, spec, Limits(max_output_pixels=3 * 40 * 20)).frames == 3
        with pytest.raises(LimitExceeded, match="3 frames of 40x20"):
            render(data, spec, Limits(max_output_pixels=3 * 40 * 20 - 1))


def test_output_pixels_count_only_the_frames_the_output_keeps(samples) -> None:
    data = samples.animated_gif(THREE_COLOURS, [10, 10, 10], size=(20, 10))
    limits = Limits(max_output_pixels=100)
    assert render(data, ResizeSpec.parse("40x20-fit-85-upscale.jpg"), limits).frames == 1
    assert render(samples.photo_jpeg(), ResizeSpec.parse("40x30-fit-80-noupscale.webp"), limits).frames == 1
    with pytest.raises(LimitExceeded):
        render(data, ResizeSpec.parse("40x20-fit-80-upscale.webp"), limits)


def test_animated_png_is_opened_as_its_still_default_image(samples) -> None:
    frames = [Image.new("RGB", (16, 16), (40 * index, 0, 0)) for index in range(6)]
    data = samples.encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=40)
    assert Image.open(io.BytesIO(data)).n_frames == 6
    assert probe(data, Limits(max_frames=1)).frames == 1
    rendered = render(data, ResizeSpec.parse("16x16-fit-0-noupscale.gif"), Limits(max_frames=1))
    assert rendered.frames == 1


def test_a_fragmented_gif_is_refused_before_pillow_parses_it(samples) -> None:
    data = samples.block_gif((1, 1), [(0, 0, 1, 1)], comment_sub_blocks=1_000_000)
    _refused_quickly(lambda: probe(data), "sub-blocks")
    _refused_quickly(lambda: render(data, PAD_400X300_GIF), "sub-blocks")


def test_the_decoder_is_freed_before_the_encoder_runs(samples, monkeypatch: pytest.MonkeyPatch) -> None:
    decoders: list[weakref.ref[Image.Image]] = []
    alive: list[bool] = []
    open_source, encode = pipeline.open_source, pipeline.encode

    def watched_open(data: bytes, limits: Limits) -> Source:
        source = open_source(data, limits)
        decoders.append(weakref.ref(source.image))
        return source

    def watched_encode(images: Sequence[Image.Image], spec: ResizeSpec, timing: Timing) -> bytes:
        alive.append(decoders[0]() is not None)
        return encode(images, spec, timing)

    monkeypatch.setattr(pipeline, "open_source", watched_open)
    monkeypatch.setattr(pipeline, "encode", watched_encode)
    render(samples.animated_gif(THREE_COLOURS, [10, 10, 10]), ResizeSpec.parse("20x20-fit-0-noupscale.gif"))
    assert alive == [False]
