"""The render pipeline: plan first, then one small step after another.

Like imgproxy's ``processing/pipeline``, :func:`render` computes the whole
geometry (:mod:`.plan`) from the header before any pixel is decoded, then runs
each frame through the steps load → orient → colour → crop → scale → pad and
hands the frames to the encoder. Each step is a plain function in its own
module; no step reads or writes shared state.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ..spec import ResizeSpec
from . import canvas, colour, orient, scale
from .encode import ANIMATED_OUTPUTS, CONTENT_TYPES, Timing, encode
from .guard import pillow_errors
from .limits import Limits
from .load import open_source, read_frames
from .plan import Plan, make_plan


@dataclass(frozen=True)
class Rendered:
    """An encoded derivative: its bytes, size, format (the spec's extension),
    media type and number of frames."""

    data: bytes
    width: int
    height: int
    format: str
    content_type: str
    frames: int


def render(data: bytes, spec: ResizeSpec, limits: Limits = Limits()) -> Rendered:
    """Resize the encoded image ``data`` per ``spec``.

    Raises :class:`~shiftmedia.errors.InvalidImage` (or its subclass
    :class:`~shiftmedia.errors.UnsupportedImage`) for input that is not a
    decodable image in a supported format and mode, and
    :class:`~shiftmedia.errors.LimitExceeded` for input or output over
    ``limits``, checked from the header before decoding.
    """
    with pillow_errors():
        source = open_source(data, limits)
        plan = make_plan(source.size, spec, limits)
        wanted = source.frames if spec.format in ANIMATED_OUTPUTS else 1
        if wanted == 1:
            scale.shrink_on_load(source.image, plan, source.orientation)
        frames: list[Image.Image] = []
        durations: list[int] = []
        for frame in read_frames(source, wanted):
            frames.append(_process(frame.image, source.orientation, plan, spec))
            durations.append(frame.duration)
        encoded = encode(frames, spec, Timing(tuple(durations), source.loop))
    return Rendered(
        data=encoded,
        width=plan.canvas[0],
        height=plan.canvas[1],
        format=spec.format,
        content_type=CONTENT_TYPES[spec.format],
        frames=len(frames),
    )


def resize_bytes(data: bytes, spec: ResizeSpec | str, limits: Limits = Limits()) -> bytes:
    """The encoded derivative of ``data``; ``spec`` may be a canonical unsigned
    name such as ``"400x300-fill-85-noupscale.webp"``."""
    if isinstance(spec, str):
        spec = ResizeSpec.parse(spec)
    return render(data, spec, limits).data


def _process(image: Image.Image, orientation: int, plan: Plan, spec: ResizeSpec) -> Image.Image:
    """One decoded frame through orient → colour → crop → scale → pad."""
    upright = orient.orient(image, orientation)
    working = colour.to_working(upright)
    kept = canvas.crop(working, plan)
    scaled = scale.scale(kept, plan.scaled)
    return canvas.pad(scaled, plan, spec.background)
