"""The colour step: every supported mode into RGB/RGBA/L/LA in sRGB, no metadata."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from shiftmedia.engine import colour
from shiftmedia.engine.colour import WORKING_MODES, is_supported, to_working
from shiftmedia.errors import UnsupportedImage


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    image = Image.new("I;16", (4, 1))
    for x, value in enumerate([0, 257, 32896, 65535]):
        image.putpixel((x, 0), value)
    result = to_working(image)
    assert result.mode == "L"
    assert [result.getpixel((x, 0)) for x in range(4)] == [0, 1, 128, 255]


def test_sixteen_bit_png_round_trip(samples) -> None:
    image = Image.new("I;16", (2, 1))
    image.putpixel((0, 0), 30000)
    image.putpixel((1, 0), 60000)
    decoded = Image.open(io.BytesIO(samples.encode(image, "PNG")))
    result = to_working(decoded)
    assert (result.getpixel((0, 0)), result.getpixel((1, 0))) == (117, 233)


def test_palette_with_transparency_gains_alpha() -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255])
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 0
    result = to_working(image)
    assert result.mode == "RGBA"
    assert result.getpixel((0, 0))[3] == 0
    assert result.getpixel((1, 0)) == (0, 0, 255, 255)


def test_opaque_palette_becomes_rgb() -> None:
    image = Image.new("P", (1, 1))
    image.putpalette([10, 20, 30])
    assert to_working(image).getpixel((0, 0)) == (10, 20, 30)


def test_rgb_with_trns_colour_gains_alpha() -> None:
    image = Image.new("RGB", (2, 1), (9, 9, 9))
    image.putpixel((1, 0), (200, 100, 0))
    image.info["transparency"] = (9, 9, 9)
    result = to_working(image)
    assert result.mode == "RGBA"
    assert result.getpixel((0, 0))[3] == 0 and result.getpixel((1, 0)) == (200, 100, 0, 255)


def test_grey_with_trns_becomes_la() -> None:
    image = Image.new("L", (1, 1), 7)
    image.info["transparency"] = 7
    result = to_working(image)
    assert result.mode == "LA" and result.getpixel((0, 0))[1] == 0


def test_cmyk_without_profile_uses_plain_conversion() -> None:
    result = to_working(Image.new("CMYK", (1, 1), (255, 0, 0, 0)))
    assert result.mode == "RGB" and result.getpixel((0, 0)) == (0, 255, 255)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("1", "L"), ("L", "L"), ("LA", "LA"), ("La", "LA"), ("PA", "RGBA"), ("RGB", "RGB"),
     ("RGBA", "RGBA"), ("RGBa", "RGBA"), ("RGBX", "RGB"), ("YCbCr", "RGB"), ("I", "L"), ("I;16B", "L")],
)  # fmt: skip
def test_every_supported_mode_reaches_a_working_mode(mode: str, expected: str) -> None:
    assert is_supported(mode)
    result = to_working(Image.new(mode, (3, 2)))
    assert result.mode == expected and result.mode in WORKING_MODES and result.size == (3, 2)


@pytest.mark.parametrize("mode", ["F", "HSV", "LAB"])
def test_other_modes_are_unsupported(mode: str) -> None:
    assert not is_supported(mode)
    with pytest.raises(UnsupportedImage, match=mode):
        to_working(Image.new(mode, (1, 1)))


def test_srgb_profile_leaves_pixels_alone_and_metadata_is_dropped() -> None:
    image = Image.new("RGB", (2, 2), (12, 34, 56))
    image.info.update(
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), exif=b"x", xmp=b"y"
    )
    result = to_working(image)
    assert result is not image and result.getpixel((0, 0)) == (12, 34, 56)
    assert result.info == {}
    assert "icc_profile" in image.info


def test_broken_profile_is_ignored() -> None:
    image = Image.new("RGB", (1, 1), (1, 2, 3))
    image.info["icc_profile"] = b"not a profile"
    assert to_working(image).getpixel((0, 0)) == (1, 2, 3)


def test_broken_profile_on_cmyk_falls_back_to_plain_conversion() -> None:
    image = Image.new("CMYK", (1, 1), (0, 255, 0, 0))
    image.info["icc_profile"] = b"not a profile"
    assert to_working(image).getpixel((0, 0)) == (255, 0, 255)


def test_alpha_survives_a_profile_conversion(corpus) -> None:
    adobe = Image.open(corpus / "jpeg_adobe_rgb_icc_canon7d.jpg").info["icc_profile"]
    image = Image.new("RGBA", (1, 1), (0, 200, 0, 77))
    image.info["icc_profile"] = adobe
    result = to_working(image).getpixel((0, 0))
    assert result[3] == 77
    assert result[:3] != (0, 200, 0)  # the colour was converted, not copied


def test_profile_transform_is_built_once_and_matches_a_fresh_conversion(corpus) -> None:
    with Image.open(corpus / "cam_7mp_canon_a560_camera_rgb_icc.jpg") as opened:
        icc = opened.info["icc_profile"]
    image = Image.effect_noise((40, 30), 60).convert("RGB")
    image.info["icc_profile"] = icc
    colour._transform_to_srgb.cache_clear()
    first = to_working(image)
    second = to_working(image)
    expected = ImageCms.profileToProfile(
        image,
        ImageCms.ImageCmsProfile(io.BytesIO(icc)),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.PERCEPTUAL,
        outputMode="RGB",
    )
    assert first.tobytes() == second.tobytes() == expected.tobytes()
    assert first.tobytes() != image.tobytes()
    assert colour._transform_to_srgb.cache_info().misses == 1
    assert colour._transform_to_srgb.cache_info().hits == 1
