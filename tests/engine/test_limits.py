"""Limits: defaults, validation and each check's boundary."""

from __future__ import annotations

import pytest

from shiftmedia.engine import Limits
from shiftmedia.errors import ConfigError, LimitExceeded


def test_defaults_match_the_public_contract() -> None:
    limits = Limits()
    assert limits.max_pixels == 40_000_000
    assert limits.max_input_bytes == 50 * 1024 * 1024
    assert limits.max_output_side == 4096
    assert limits.max_frame_pixels == 32_000_000
    assert limits.max_frames == 1000
    assert limits.max_output_pixels == 2 * 2048 * 2048


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "10"])
def test_rejects_values_that_are_not_positive_integers(value: object) -> None:
    with pytest.raises(ConfigError, match="max_pixels"):
        Limits(max_pixels=value)  # type: ignore[arg-type]


def test_input_bytes_boundary() -> None:
    limits = Limits(max_input_bytes=100)
    limits.check_input(100)
    with pytest.raises(LimitExceeded, match="101 bytes"):
        limits.check_input(101)


def test_pixels_boundary() -> None:
    limits = Limits(max_pixels=100)
    limits.check_image((10, 10), 1)
    with pytest.raises(LimitExceeded, match="101 pixels"):
        limits.check_image((101, 1), 1)


def test_animation_counts_every_frame() -> None:
    limits = Limits(max_pixels=100, max_frame_pixels=1000)
    limits.check_image((10, 10), 10)
    with pytest.raises(LimitExceeded, match="11 frames"):
        limits.check_image((10, 10), 11)


def test_a_still_is_bounded_by_its_pixels_alone() -> None:
    Limits(max_pixels=100, max_frame_pixels=10).check_image((10, 10), 1)


def test_frames_boundary() -> None:
    limits = Limits(max_frames=5)
    limits.check_image((1, 1), 5)
    with pytest.raises(LimitExceeded, match="more than 5 frames"):
        limits.check_image((1, 1), 6)


def test_output_pixels_boundary() -> None:
    limits = Limits(max_output_pixels=300)
    limits.check_output((10, 10), 3)
    with pytest.raises(LimitExceeded, match="4 frames of 10x10"):
        limits.check_output((10, 10), 4)


def test_output_pixels_leave_a_still_output_to_the_side_limit() -> None:
    Limits(max_output_pixels=10, max_output_side=100).check_output((100, 100))


def test_output_side_boundary() -> None:
    limits = Limits(max_output_side=50)
    limits.check_output((50, 1))
    with pytest.raises(LimitExceeded, match="1x51"):
        limits.check_output((1, 51))
