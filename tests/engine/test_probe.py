"""Probe: identify, check limits, prove the whole image decodes."""

from __future__ import annotations

import importlib

import pytest
from PIL import Image

from shiftmedia.engine import ImageInfo, Limits, probe
from shiftmedia.errors import InvalidImage, LimitExceeded, UnsupportedImage


def test_describes_a_still_image(samples) -> None:
    assert probe(samples.photo_jpeg()) == ImageInfo(format="jpg", width=320, height=240, frames=1, mode="RGB")


def test_size_is_as_displayed(samples) -> None:
    info = probe(samples.oriented_jpeg(8, size=(60, 40)))
    assert (info.width, info.height) == (60, 40)


def test_counts_animation_frames(samples) -> None:
    data = samples.animated_gif([(255, 0, 0, 255), (0, 255, 0, 0)], [10, 20])
    info = probe(data)
    assert (info.format, info.frames, info.mode) == ("gif", 2, "P")


@pytest.mark.parametrize("pillow_format", ["PNG", "JPEG", "WEBP"])
def test_truncation_is_caught(samples, pillow_format: str) -> None:
    data = samples.encode(Image.effect_noise((200, 150), 64).convert("RGB"), pillow_format)
    with pytest.raises(InvalidImage):
        probe(samples.truncated(data))


def test_truncated_animation_is_caught(samples) -> None:
    data = samples.animated_gif([(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)], [10, 20, 30])
    with pytest.raises(InvalidImage):
        probe(samples.truncated(data, keep=0.8))


def test_limits_from_the_header(samples) -> None:
    with pytest.raises(LimitExceeded):
        probe(samples.png_header(10000, 10000))
    with pytest.raises(LimitExceeded):
        probe(samples.photo_jpeg(), Limits(max_input_bytes=100))


def test_unsupported_mode(samples, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mode the engine cannot render is refused at upload, by name (every mode
    Pillow's readers give is supported now, so the check is made to refuse one)."""
    monkeypatch.setattr(importlib.import_module("shiftmedia.engine.probe"), "is_supported", lambda mode: mode != "F")
    with pytest.raises(UnsupportedImage, match="mode F"):
        probe(samples.encode(Image.new("F", (4, 4)), "TIFF"))
