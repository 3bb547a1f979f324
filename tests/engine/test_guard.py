"""The guard turns Pillow's many exception types into shiftmedia's hierarchy."""

from __future__ import annotations

import struct

import pytest
from PIL import Image, UnidentifiedImageError

from shiftmedia.engine.guard import DECODE_ERRORS, pillow_errors
from shiftmedia.errors import InvalidImage, InvalidSpec, LimitExceeded, UnsupportedImage


@pytest.mark.parametrize("error_type", DECODE_ERRORS)
def test_decoder_errors_become_invalid_image(error_type: type[Exception]) -> None:
    with pytest.raises(InvalidImage) as caught, pillow_errors():
        raise error_type("broken")
    assert isinstance(caught.value.__cause__, error_type)


def test_struct_error_is_covered() -> None:
    with pytest.raises(InvalidImage), pillow_errors():
        struct.unpack(">I", b"\x00")


def test_unidentified_image_says_so() -> None:
    with pytest.raises(InvalidImage, match="not an image"), pillow_errors():
        raise UnidentifiedImageError("cannot identify")


@pytest.mark.parametrize("error_type", [Image.DecompressionBombError, Image.DecompressionBombWarning])
def test_pillow_bomb_checks_become_limit_exceeded(error_type: type[Exception]) -> None:
    with pytest.raises(LimitExceeded), pillow_errors():
        raise error_type("too many pixels")


@pytest.mark.parametrize("error", [InvalidSpec("x"), UnsupportedImage("y"), LimitExceeded("z")])
def test_shiftmedia_errors_pass_through_unchanged(error: Exception) -> None:
    with pytest.raises(type(error)) as caught, pillow_errors():
        raise error
    assert caught.value is error


def test_programming_errors_are_not_hidden() -> None:
    with pytest.raises(AttributeError), pillow_errors():
        raise AttributeError("a bug, not a bad image")
