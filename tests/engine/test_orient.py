"""EXIF orientation: reading the tag and turning pixels upright."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from shiftmedia.engine.orient import displayed_size, orient, read_orientation

ORIENTATIONS = range(1, 9)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_reads_the_tag_from_a_jpeg_header(samples, orientation: int) -> None:
    image = Image.open(io.BytesIO(samples.oriented_jpeg(orientation)))
    assert read_orientation(image) == orientation


@pytest.mark.parametrize("value", [0, 9, 65535])
def test_invalid_values_read_as_upright(samples, value: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = value
    data = samples.encode(Image.new("RGB", (8, 8)), "JPEG", exif=exif.tobytes())
    assert read_orientation(Image.open(io.BytesIO(data))) == 1


def test_missing_tag_reads_as_upright(samples) -> None:
    data = samples.encode(Image.new("RGB", (8, 8)), "PNG")
    assert read_orientation(Image.open(io.BytesIO(data))) == 1


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_orient_restores_the_upright_picture_exactly(samples, orientation: int) -> None:
    upright = samples.quadrants((6, 4))
    stored = samples.stored(upright, orientation)
    result = orient(stored, orientation)
    assert result.size == upright.size
    assert ImageChops.difference(result, upright).getbbox() is None


def test_upright_image_is_returned_untouched(samples) -> None:
    image = samples.quadrants()
    assert orient(image, 1) is image


@pytest.mark.parametrize(("orientation", "expected"), [(1, (30, 20)), (4, (30, 20)), (5, (20, 30)), (8, (20, 30))])
def test_displayed_size_swaps_for_quarter_turns(orientation: int, expected: tuple[int, int]) -> None:
    assert displayed_size((30, 20), orientation) == expected
