"""EXIF orientation: read it from the header, apply it to the pixels.

Cameras store pixels as the sensor saw them and record how to display them in
the EXIF Orientation tag (1-8). Browsers honour the tag inconsistently, and the
encoder strips all EXIF, so the engine turns the pixels upright itself; the
output then carries no orientation at all. Where Pillow's reader has turned
the pixels already, it has dropped the tag, and there is nothing left to do
(:func:`~.load.open_source` reads the tag of the decoded image then).

The plan is made in displayed (upright) coordinates, but the engine crops and
scales the pixels as stored and turns only the small result upright, which
costs a fraction of turning the whole decoded image. :func:`stored_box` maps
the plan's box back into stored coordinates for that.
"""

from __future__ import annotations

from typing import TypeVar

from PIL import ExifTags, Image

FloatBox = tuple[float, float, float, float]
Number = TypeVar("Number", int, float)

TRANSPOSITIONS: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""The transposition that makes an image of each orientation upright."""

INVERSE = {6: 8, 8: 6}
"""Orientations whose turn the other one undoes; every other one undoes itself."""


def read_orientation(image: Image.Image) -> int:
    """The EXIF orientation of ``image``: 1-8, with 1 for absent or invalid values."""
    value = image.getexif().get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def displayed_size(size: tuple[Number, Number], orientation: int) -> tuple[Number, Number]:
    """The size of a ``size`` image once shown at ``orientation`` (5-8 swap the sides).

    The mapping is its own inverse, so it also turns a displayed size back into
    a stored one.
    """
    return (size[1], size[0]) if orientation >= 5 else size


def stored_box(box: FloatBox, extent: tuple[float, float], orientation: int) -> FloatBox:
    """``box`` (left, top, right, bottom in an upright image spanning ``extent``)
    as the same region of the stored image, before ``orientation`` is applied."""
    left, top, right, bottom = box
    width, height = extent
    return {
        1: (left, top, right, bottom),
        2: (width - right, top, width - left, bottom),
        3: (width - right, height - bottom, width - left, height - top),
        4: (left, height - bottom, right, height - top),
        5: (top, left, bottom, right),
        6: (top, width - right, bottom, width - left),
        7: (height - bottom, width - right, height - top, width - left),
        8: (height - bottom, left, height - top, right),
    }[orientation]


def upright_box(box: FloatBox, extent: tuple[float, float], orientation: int) -> FloatBox:
    """``box`` of a stored image spanning ``extent``, as the same region once
    upright: the inverse of :func:`stored_box`."""
    return stored_box(box, extent, INVERSE.get(orientation, orientation))


def orient(image: Image.Image, orientation: int) -> Image.Image:
    """``image`` turned upright for ``orientation``; the image itself when already upright."""
    method = TRANSPOSITIONS.get(orientation)
    return image if method is None else image.transpose(method)
