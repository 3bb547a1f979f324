"""The geometry of one resize, computed before any pixel is touched.

A :class:`Plan` says which part of the source to keep (``crop``), what size to
resample it to (``scaled``), and the canvas that size is placed on (``canvas``
at ``offset``). It depends only on the displayed source size and the spec, so
it is a pure function, unit-tested without images, and every later step just
carries it out. All arithmetic is on integers, so plans are exact and the same
on every platform.

The modes differ only in the region they start from and how they fill the
box: ``fit`` and ``pad`` scale the whole source inside it; ``fill`` covers it,
cutting a window of the box's aspect out of the whole source; ``crop`` does
the same inside the spec's rectangle (clamped to the source), or scales the
rectangle inside the box when one side is ``0``. A window is placed by
gravity: a compass point, or a focal point it is centred on as far as the
region allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..errors import InvalidImage, InvalidSpec
from ..spec import ResizeSpec
from .limits import Limits

Size = tuple[int, int]
Box = tuple[int, int, int, int]

ANCHORS: dict[str, tuple[int, int]] = {
    "nw": (0, 0),
    "n": (1, 0),
    "ne": (2, 0),
    "w": (0, 1),
    "c": (1, 1),
    "e": (2, 1),
    "sw": (0, 2),
    "s": (1, 2),
    "se": (2, 2),
}
"""Gravity as (x, y) in halves of the free space: 0 start, 1 centre, 2 end."""

FOCAL_SCALE = 1000
"""A focal point ``f<x>x<y>`` is in thousandths of the source's width and height."""


@dataclass(frozen=True)
class Plan:
    """What to do to a source of size ``source`` (as displayed, after orientation).

    ``crop`` is the kept region in source pixels, ``scaled`` the size that region
    is resampled to, ``canvas`` the output size and ``offset`` where the scaled
    image's top-left corner sits on the canvas.
    """

    source: Size
    crop: Box
    scaled: Size
    canvas: Size
    offset: Size

    @property
    def crop_size(self) -> Size:
        """Width and height of the crop box."""
        return self.crop[2] - self.crop[0], self.crop[3] - self.crop[1]

    def box_in(self, extent: tuple[float, float]) -> tuple[float, float, float, float]:
        """The crop box in an image whose content spans ``extent`` for the whole source.

        A decoder may hand back a reduced image (JPEG draft) whose content spans
        a fraction of a pixel less than its size; the box is scaled to the
        content, in the fractional coordinates Pillow's ``resize(box=...)`` takes.
        """
        across = extent[0] / self.source[0]
        down = extent[1] / self.source[1]
        left, top, right, bottom = self.crop
        return left * across, top * down, right * across, bottom * down

    def decode_size(self, detail: Fraction) -> Size:
        """The smallest source size that still holds ``detail`` × the output's pixels.

        A decoder that can shrink on load (JPEG's DCT scaling) may decode to any
        size at least this large without visible loss after the final resample.
        """
        crop_w, crop_h = self.crop_size
        # The larger of the two per-axis factors detail × scaled / crop, as n/d.
        across = self.scaled[0] * detail.numerator, crop_w * detail.denominator
        down = self.scaled[1] * detail.numerator, crop_h * detail.denominator
        numerator, denominator = across if across[0] * down[1] >= down[0] * across[1] else down
        if numerator >= denominator:
            return self.source
        return (
            max(1, -(-self.source[0] * numerator // denominator)),
            max(1, -(-self.source[1] * numerator // denominator)),
        )


def make_plan(source: Size, spec: ResizeSpec, limits: Limits = Limits()) -> Plan:
    """Plan resizing a source of displayed size ``source`` per ``spec``.

    Raises :class:`LimitExceeded` when the output would have a side over
    ``limits.max_output_side``, and :class:`InvalidSpec` when crop mode's
    rectangle lies wholly outside the source.
    """
    if source[0] < 1 or source[1] < 1:
        raise InvalidImage(f"image has no pixels: {source[0]}x{source[1]}")
    whole = (0, 0, *source)
    if spec.mode == "fill":
        plan = _cover(source, whole, spec)
    elif spec.mode == "crop":
        region = clamp_rect(source, spec.rect or whole)
        plan = _cover(source, region, spec) if spec.width and spec.height else _inside(source, region, spec)
    else:
        scaled = _fit(source, spec.width, spec.height, spec.upscale)
        canvas = (spec.width, spec.height) if spec.mode == "pad" else scaled
        plan = Plan(
            source=source,
            crop=whole,
            scaled=scaled,
            canvas=canvas,
            offset=_anchor(canvas, scaled, spec.gravity),
        )
    limits.check_output(plan.canvas)
    return plan


def clamp_rect(source: Size, rect: tuple[int, int, int, int]) -> Box:
    """Crop mode's ``(x, y, width, height)`` as a box inside ``source``.

    The part outside the source is dropped; a rectangle with nothing inside
    it raises :class:`InvalidSpec`.
    """
    x, y, width, height = rect
    left, top = min(x, source[0]), min(y, source[1])
    right, bottom = min(x + width, source[0]), min(y + height, source[1])
    if right <= left or bottom <= top:
        raise InvalidSpec(f"crop rectangle {rect} lies outside the {source[0]}x{source[1]} image")
    return left, top, right, bottom


def _fit(source: Size, width: int, height: int, upscale: bool) -> Size:
    """The largest size of the source's aspect inside ``width`` × ``height`` (0 = any)."""
    src_w, src_h = source
    if height == 0 or (width != 0 and width * src_h <= height * src_w):
        size = width, _round_div(src_h * width, src_w)
    else:
        size = _round_div(src_w * height, src_h), height
    if not upscale and (size[0] > src_w or size[1] > src_h):
        return source
    return max(1, size[0]), max(1, size[1])


def _inside(source: Size, region: Box, spec: ResizeSpec) -> Plan:
    """Scale all of ``region`` inside the box (one side of it may be 0)."""
    size = region[2] - region[0], region[3] - region[1]
    scaled = _fit(size, spec.width, spec.height, spec.upscale)
    return Plan(source=source, crop=region, scaled=scaled, canvas=scaled, offset=(0, 0))


def _cover(source: Size, region: Box, spec: ResizeSpec) -> Plan:
    """Cover the box: cut a window of the box's aspect out of ``region`` at
    gravity, then scale it to the box (or leave it, when that would enlarge it
    without upscale)."""
    region_w, region_h = region[2] - region[0], region[3] - region[1]
    width, height = spec.width, spec.height
    if width * region_h >= height * region_w:
        crop_w, crop_h = region_w, max(1, min(region_h, _round_div(region_w * height, width)))
    else:
        crop_w, crop_h = max(1, min(region_w, _round_div(region_h * width, height))), region_h
    enlarges = crop_w < width or crop_h < height
    scaled = (crop_w, crop_h) if enlarges and not spec.upscale else (width, height)
    left, top = _place(source, region, (crop_w, crop_h), spec.gravity)
    return Plan(
        source=source,
        crop=(left, top, left + crop_w, top + crop_h),
        scaled=scaled,
        canvas=scaled,
        offset=(0, 0),
    )


def _place(source: Size, region: Box, window: Size, gravity: str) -> Size:
    """Top-left corner of a ``window`` inside ``region`` at ``gravity``.

    A focal point (``f<x>x<y>``, thousandths of ``source``) centres the window
    on it, then moves it the least needed to keep it inside the region.
    """
    if not gravity.startswith("f"):
        x, y = _anchor((region[2] - region[0], region[3] - region[1]), window, gravity)
        return region[0] + x, region[1] + y
    focal_x, focal_y = (int(value) for value in gravity[1:].split("x"))
    centre_x = _round_div(2 * focal_x * source[0] - window[0] * FOCAL_SCALE, 2 * FOCAL_SCALE)
    centre_y = _round_div(2 * focal_y * source[1] - window[1] * FOCAL_SCALE, 2 * FOCAL_SCALE)
    return (
        max(region[0], min(region[2] - window[0], centre_x)),
        max(region[1], min(region[3] - window[1], centre_y)),
    )


def _anchor(outer: Size, inner: Size, gravity: str) -> Size:
    """Top-left position of ``inner`` inside ``outer`` at ``gravity``."""
    x, y = ANCHORS[gravity]
    return (outer[0] - inner[0]) * x // 2, (outer[1] - inner[1]) * y // 2


def _round_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, in exact integer arithmetic."""
    return (2 * numerator + denominator) // (2 * denominator)
