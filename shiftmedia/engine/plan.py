"""The geometry of one resize, computed before any pixel is touched.

A :class:`Plan` says which part of the source to keep (``crop``), what size to
resample it to (``scaled``), and the canvas that size is placed on (``canvas``
at ``offset``). It depends only on the displayed source size and the spec, so
it is a pure function, unit-tested without images, and every later step just
carries it out. All arithmetic is on integers, so plans are exact and the same
on every platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidImage
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

    def crop_in(self, size: Size) -> Box:
        """The crop box in an image of ``size`` that shows the whole source.

        A decoder may hand back a reduced image (JPEG draft); the box is scaled
        to it and kept at least one pixel wide and high.
        """
        width, height = size
        left = min(width - 1, _round_div(self.crop[0] * width, self.source[0]))
        top = min(height - 1, _round_div(self.crop[1] * height, self.source[1]))
        right = max(left + 1, min(width, _round_div(self.crop[2] * width, self.source[0])))
        bottom = max(top + 1, min(height, _round_div(self.crop[3] * height, self.source[1])))
        return left, top, right, bottom

    def decode_size(self, detail: int) -> Size:
        """The smallest source size that still holds ``detail`` × the output's pixels.

        A decoder that can shrink on load (JPEG's DCT scaling) may decode to any
        size at least this large without visible loss after the final resample.
        """
        crop_w, crop_h = self.crop_size
        # The larger of the two per-axis factors detail × scaled / crop, as n/d.
        across = self.scaled[0] * detail, crop_w
        down = self.scaled[1] * detail, crop_h
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
    ``limits.max_output_side``.
    """
    if source[0] < 1 or source[1] < 1:
        raise InvalidImage(f"image has no pixels: {source[0]}x{source[1]}")
    if spec.mode == "fill":
        plan = _fill(source, spec)
    else:
        scaled = _fit(source, spec.width, spec.height, spec.upscale)
        canvas = (spec.width, spec.height) if spec.mode == "pad" else scaled
        plan = Plan(
            source=source,
            crop=(0, 0, *source),
            scaled=scaled,
            canvas=canvas,
            offset=_anchor(canvas, scaled, spec.gravity),
        )
    limits.check_output(plan.canvas)
    return plan


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


def _fill(source: Size, spec: ResizeSpec) -> Plan:
    """Cover the box: crop the source to the box's aspect at gravity, then scale."""
    src_w, src_h = source
    width, height = spec.width, spec.height
    if width * src_h >= height * src_w:
        crop_w, crop_h = src_w, max(1, min(src_h, _round_div(src_w * height, width)))
    else:
        crop_w, crop_h = max(1, min(src_w, _round_div(src_h * width, height))), src_h
    enlarges = crop_w < width or crop_h < height
    scaled = (crop_w, crop_h) if enlarges and not spec.upscale else (width, height)
    left, top = _anchor(source, (crop_w, crop_h), spec.gravity)
    return Plan(
        source=source,
        crop=(left, top, left + crop_w, top + crop_h),
        scaled=scaled,
        canvas=scaled,
        offset=(0, 0),
    )


def _anchor(outer: Size, inner: Size, gravity: str) -> Size:
    """Top-left position of ``inner`` inside ``outer`` at ``gravity``."""
    x, y = ANCHORS[gravity]
    return (outer[0] - inner[0]) * x // 2, (outer[1] - inner[1]) * y // 2


def _round_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, in exact integer arithmetic."""
    return (2 * numerator + denominator) // (2 * denominator)
