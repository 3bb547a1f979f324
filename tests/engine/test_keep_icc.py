"""keep_icc: the source's RGB or grey profile is kept and embedded instead of converting to sRGB."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from shiftmedia.engine import render
from shiftmedia.engine.colour import to_srgb
from shiftmedia.spec import ResizeSpec


def _adobe_profile(corpus) -> bytes:
    return Image.open(corpus / "jpeg_adobe_rgb_icc_canon7d.jpg").info["icc_profile"]


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "avif"])
def test_adobe_rgb_profile_is_kept_and_pixels_are_not_converted(corpus, fmt: str) -> None:
    data = (corpus / "jpeg_adobe_rgb_icc_canon7d.jpg").read_bytes()
    kept = _decode(render(data, ResizeSpec.create((60, 0), format=fmt, keep_icc=True)).data)
    converted = _decode(render(data, ResizeSpec.create((60, 0), format=fmt)).data)
    assert kept.info.get("icc_profile") == _adobe_profile(corpus)
    assert "icc_profile" not in converted.info
    naive = (
        Image.open(corpus / "jpeg_adobe_rgb_icc_canon7d.jpg").convert("RGB").resize(kept.size, Image.Resampling.LANCZOS)
    )
    kept_off = max(ImageStat.Stat(ImageChops.difference(kept.convert("RGB"), naive)).mean)
    converted_off = max(ImageStat.Stat(ImageChops.difference(converted.convert("RGB"), naive)).mean)
    assert kept_off < converted_off, "kept pixels are the source's, converted ones moved to sRGB"


def test_gif_cannot_embed_a_profile_so_it_converts(corpus) -> None:
    data = (corpus / "jpeg_adobe_rgb_icc_canon7d.jpg").read_bytes()
    kept = render(data, ResizeSpec.create((60, 0), format="gif", keep_icc=True)).data
    assert kept == render(data, ResizeSpec.create((60, 0), format="gif")).data


def test_cmyk_is_converted_even_when_keeping_the_profile(corpus) -> None:
    data = (corpus / "jpeg_cmyk_swop_icc.jpg").read_bytes()
    kept = render(data, ResizeSpec.create((100, 0), format="png", keep_icc=True)).data
    assert kept == render(data, ResizeSpec.create((100, 0), format="png")).data
    assert "icc_profile" not in _decode(kept).info


def test_srgb_source_keeps_its_srgb_profile(corpus) -> None:
    data = (corpus / "cam_22mp_5760x3840.jpg").read_bytes()
    kept = _decode(render(data, ResizeSpec.create((200, 0), format="jpg", keep_icc=True)).data)
    assert b"sRGB" in kept.info["icc_profile"]


def test_grey_profile_is_kept_where_grey_is_written(samples) -> None:
    grey_icc = samples.grey_profile()
    image = Image.new("L", (4, 4), 100)
    image.info["icc_profile"] = grey_icc
    kept = to_srgb(image, keep_profile=True)
    assert kept.mode == "L" and kept.info == {"icc_profile": grey_icc}
    data = samples.encode(Image.new("L", (64, 48), 100), "PNG", icc_profile=grey_icc)
    for fmt in ("png", "jpg"):
        decoded = _decode(render(data, ResizeSpec.create((32, 0), format=fmt, keep_icc=True)).data)
        assert decoded.mode == "L" and decoded.info["icc_profile"] == grey_icc
    webp = _decode(render(data, ResizeSpec.create((32, 0), format="webp", keep_icc=True)).data)
    assert "icc_profile" not in webp.info, "a grey profile cannot describe the RGB WebP"


def test_profile_for_another_colour_space_or_broken_is_not_kept(samples) -> None:
    rgb = Image.new("RGB", (2, 2), (10, 20, 30))
    rgb.info["icc_profile"] = samples.grey_profile()
    assert to_srgb(rgb, keep_profile=True).info == {}
    rgb.info["icc_profile"] = b"broken"
    assert to_srgb(rgb, keep_profile=True).info == {}
