"""The render pipeline: plan first, then one small step after another.

Like imgproxy's ``processing/pipeline``, :func:`render` computes the whole
geometry (:mod:`.plan`) from the header before any pixel is decoded, checks
the output's frames × pixels against the limits, then runs each frame through
the steps load → scale (crop included) → orient → colour → pad and hands the
frames to the encoder, once the decoder and its buffers are gone. Each step
is a plain function in its own module; no step reads or writes shared state.

A video original (:mod:`.video`) enters the same steps once its frame is
decoded: the frame comes as sRGB pixels as stored and an EXIF orientation
(its display matrix), is planned from its upright size, and goes through
scale → orient → colour → pad as a photo does, so both have one resize path.
A frame time in the spec picks the frame; an image original refuses one
(:class:`~shiftmedia.errors.InvalidSpec`), as two URLs giving the same bytes
would be two cache entries for one picture.

The order is chosen for speed: a JPEG decodes straight to a reduced size
(DCT scaling, chosen from the plan, the orientation and the crop), the crop
and scale happen in one resample of the pixels as stored, and turning
upright and colour conversion then work on the small result only. Only modes
Pillow cannot resample (palette, 16-bit, float, tRNS keys) are converted
before scaling, with the bit depth the file stores (:mod:`.modes`). A
large output is made in two bands on two threads (:mod:`.bands`), each going
through scale → orient → colour on its own, and each inside
:func:`~.guard.pillow_errors`, as the worker thread is a thread of the call too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from PIL import Image

from ..errors import InvalidSpec
from ..spec import ResizeSpec
from . import bands, canvas, colour, modes, orient, scale, video
from .encode import ANIMATED_OUTPUTS, PROFILE_OUTPUTS, Timing, encode
from .guard import pillow_errors
from .limits import Limits
from .load import MEDIA_TYPES, open_source, read_frames
from .plan import Plan, Size, make_plan


@dataclass(frozen=True)
class Rendered:
    """An encoded derivative: its bytes, size, format (the spec's extension),
    media type and number of frames, and the seconds each stage took
    (``decode``: header and pixels; ``resize``: scale, orient, colour, pad;
    ``encode``), for a service's ``Server-Timing``."""

    data: bytes
    width: int
    height: int
    format: str
    content_type: str
    frames: int
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)


def render(data: bytes, spec: ResizeSpec, limits: Limits = Limits()) -> Rendered:
    """Resize the encoded image ``data`` per ``spec``.

    Raises :class:`~shiftmedia.errors.InvalidImage` (or its subclass
    :class:`~shiftmedia.errors.UnsupportedImage`) for input that is not a
    decodable image in a supported format and mode, and
    :class:`~shiftmedia.errors.LimitExceeded` for input or output over
    ``limits``, checked from the header and the plan before decoding, and
    :class:`~shiftmedia.errors.InvalidSpec` for a frame time past the end of a
    video, or given for an image.
    """
    with pillow_errors():
        made = _make_frames(data, spec, limits)
        clock = time.perf_counter()
        encoded = encode(made.images, spec, made.timing)
    return Rendered(
        data=encoded,
        width=made.canvas[0],
        height=made.canvas[1],
        format=spec.format,
        content_type=MEDIA_TYPES[spec.format],
        frames=len(made.images),
        timings={"decode": made.decoding, "resize": made.resizing, "encode": time.perf_counter() - clock},
    )


def resize_bytes(data: bytes, spec: ResizeSpec | str, limits: Limits = Limits()) -> bytes:
    """The encoded derivative of ``data``; ``spec`` may be a canonical unsigned
    name such as ``"400x300-fill-85-noupscale.webp"``."""
    if isinstance(spec, str):
        spec = ResizeSpec.parse(spec)
    return render(data, spec, limits).data


def _process(
    image: Image.Image, orientation: int, plan: Plan, spec: ResizeSpec, extent: scale.Extent, bits: int | None
) -> Image.Image:
    """One decoded frame through scale (with crop) → orient → colour, band by band, then pad.

    ``bits`` is the bit depth the file stores (:func:`.modes.stored_bits`).
    """
    normal = scale.premultiply(colour.normalise(image, bits), plan, orientation, extent)
    keep_profile = spec.keep_icc and spec.format in PROFILE_OUTPUTS
    kept: list[bytes | None] = []

    def band(rows: bands.Rows) -> Image.Image:
        with pillow_errors():
            upright = orient.orient(scale.resample(normal, plan, orientation, extent, rows), orientation)
            pixels, profile = colour.srgb_pixels(upright, keep_profile)
        kept.append(profile)
        return pixels

    working = bands.assemble(band, orient.displayed_size(plan.scaled, orientation), orientation)
    if kept[0] is not None:
        working.info["icc_profile"] = kept[0]
    return canvas.pad(working, plan, spec.background)


@dataclass(frozen=True)
class _Made:
    """The output frames of a render, ready for the encoder: their pixels, how
    they play, the canvas size, and the seconds spent decoding and resizing."""

    images: list[Image.Image]
    timing: Timing
    canvas: Size
    decoding: float
    resizing: float


def _make_frames(data: bytes, spec: ResizeSpec, limits: Limits) -> _Made:
    """Open and plan ``data``, check the output against ``limits``, then decode
    and process each frame the output keeps.

    The output's frames × pixels are known from the header and the plan, so
    they are checked here, before the first pixel is decoded. This is a
    function of its own so that the decoder, and every buffer it holds (the
    canvas of the frame, the previous one, a disposal patch), is freed when it
    returns, before the encoder needs memory of its own.
    """
    clock = time.perf_counter()
    if video.is_video(data):
        return _make_poster(data, spec, limits, clock)
    if spec.time_ms is not None:
        raise InvalidSpec("a frame time applies to video originals only, and this original is an image")
    decoding = resizing = 0.0
    source = open_source(data, limits)
    plan = make_plan(source.size, spec, limits)
    wanted = source.frames if spec.format in ANIMATED_OUTPUTS else 1
    limits.check_output(plan.canvas, wanted)
    extent = scale.shrink_on_load(source.image, plan, source.orientation)
    bits = modes.stored_bits(source.image, data)
    images: list[Image.Image] = []
    durations: list[int] = []
    for frame in read_frames(source, wanted, limits):
        decoded = time.perf_counter()
        decoding += decoded - clock
        images.append(_process(frame.image, source.orientation, plan, spec, extent, bits))
        durations.append(frame.duration)
        clock = time.perf_counter()
        resizing += clock - decoded
    return _Made(images, Timing(tuple(durations), source.loop), plan.canvas, decoding, resizing)


def _make_poster(data: bytes, spec: ResizeSpec, limits: Limits, clock: float) -> _Made:
    """The one output frame of the video ``data``: its frame at the spec's time
    (or its representative frame) through the steps a photo goes through."""
    poster = video.poster(data, spec.time_ms, limits)
    decoded = time.perf_counter()
    plan = make_plan(orient.displayed_size(poster.image.size, poster.orientation), spec, limits)
    limits.check_output(plan.canvas)
    extent = (float(poster.image.width), float(poster.image.height))
    image = _process(poster.image, poster.orientation, plan, spec, extent, None)
    return _Made([image], Timing((0,), None), plan.canvas, decoded - clock, time.perf_counter() - decoded)
