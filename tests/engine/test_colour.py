"""The colour step: every supported mode into RGB/RGBA/L/LA in sRGB, no metadata."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageCms

from shiftmedia.engine import colour, modes
from shiftmedia.engine.colour import WORKING_MODES, is_supported, normalise, to_srgb, to_working
from shiftmedia.engine.modes import decoded_key
from shiftmedia.errors import UnsupportedImage


def _row(image: Image.Image) -> list[object]:
    return [image.getpixel((x, 0)) for x in range(image.size[0])]


def _floats(values: list[float], mode: str = "F") -> Image.Image:
    image = Image.new(mode, (len(values), 1))
    for x, value in enumerate(values):
        image.putpixel((x, 0), value)
    return image


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
    [("1", "L"), ("L", "L"), ("LA", "LA"), ("La", "LA"), ("P", "RGB"), ("PA", "RGBA"), ("RGB", "RGB"),
     ("RGBA", "RGBA"), ("RGBa", "RGBA"), ("RGBX", "RGB"), ("YCbCr", "RGB"), ("HSV", "RGB"), ("CMYK", "RGB"),
     ("LAB", "RGB"), ("I", "L"), ("I;16", "L"), ("I;16B", "L"), ("I;16L", "L"), ("I;16N", "L"), ("F", "L")],
)  # fmt: skip
def test_every_mode_pillow_has_reaches_a_working_mode(mode: str, expected: str) -> None:
    assert is_supported(mode)
    result = to_working(Image.new(mode, (3, 2)))
    assert result.mode == expected and result.mode in WORKING_MODES and result.size == (3, 2)


class _Unknown:
    """An image in a mode this Pillow does not have (BGR;24 is gone since Pillow 12)."""

    mode = "BGR;24"


@pytest.mark.parametrize("mode", ["BGR;15", "BGR;16", "BGR;24", "CMYKA", "LABA"])
def test_other_modes_are_refused_by_name(mode: str) -> None:
    assert not is_supported(mode)


def test_an_unsupported_mode_raises_naming_it() -> None:
    with pytest.raises(UnsupportedImage, match="images in mode BGR;24 are not supported"):
        normalise(_Unknown())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [("La", (10, 128), (19, 128)), ("RGBa", (10, 20, 30, 128), (19, 39, 59, 128)), ("HSV", (0, 255, 255), (255, 0, 0))],
)
def test_premultiplied_and_hsv_modes_convert_exactly(
    mode: str, value: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    assert to_working(Image.new(mode, (1, 1), value)).getpixel((0, 0)) == expected


def test_palette_alpha_becomes_rgba() -> None:
    image = Image.new("PA", (1, 1), (1, 128))
    image.putpalette([0, 0, 0, 200, 40, 10])
    assert to_working(image).getpixel((0, 0)) == (200, 40, 10, 128)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 0.25, 0.5, 1.0], [0, 64, 128, 255]),  # 0..1: the float image convention
        ([100.0, 150.0, 200.0, 300.0], [0, 64, 128, 255]),  # anything else: min-max
        ([-1.0, -0.5, 0.0], [0, 128, 255]),
        ([math.nan, 0.5, 1.0], [0, 128, 255]),  # a NaN first sample is not the range
        ([0.0, math.nan, 2.0], [0, 0, 255]),
        ([-math.inf, 10.0, 20.0, math.inf], [0, 0, 255, 255]),  # infinities are not the range
        ([7.0, 7.0], [0, 0]),  # flat outside 0..1: black
        ([0.5, 0.5], [128, 128]),  # flat inside 0..1: as it is
        ([math.nan, math.inf, -math.inf], [0, 255, 0]),  # nothing finite
    ],
)
def test_float_samples_map_to_grey(values: list[float], expected: list[int]) -> None:
    result = to_working(_floats(values))
    assert result.mode == "L" and _row(result) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [([0, 1, 1, 0], [0, 255, 255, 0]), ([-5, 0, 1000], [0, 1, 255]), ([70000, 80000], [0, 255])],
)
def test_integer_samples_map_like_floats(values: list[int], expected: list[int]) -> None:
    assert _row(to_working(_floats(values, "I"))) == expected


def test_numbers_are_mapped_strip_by_strip_with_one_range(monkeypatch: pytest.MonkeyPatch) -> None:
    image = Image.linear_gradient("L").resize((8, 40)).convert("F").point(lambda value: value * 10 + 1000)
    whole = to_working(image)
    monkeypatch.setattr(modes, "STRIP_PIXELS", 24)
    assert to_working(image).tobytes() == whole.tobytes()
    assert whole.getextrema() == (0, 255)


def test_twelve_bit_grey_spans_its_own_range() -> None:
    image = _floats([0, 2048, 4095], "I;16")
    assert _row(normalise(image, bits=12)) == [0, 128, 255]
    assert _row(normalise(image, bits=16)) == [0, 8, 16]


def test_sixteen_bit_key_is_exact_and_the_profile_travels(samples) -> None:
    image = _floats([0x1234, 0x1235, 0xFFFF], "I;16")
    image.info.update(transparency=0x1234, icc_profile=samples.grey_profile())
    result = normalise(image, bits=16)
    assert result.mode == "LA" and _row(result) == [(18, 0), (18, 255), (255, 255)]
    assert result.info["icc_profile"] == image.info["icc_profile"]


@pytest.mark.parametrize(
    ("mode", "key", "bits", "expected"),
    [
        ("1", 1, 1, 255),  # Pillow < 13 reports a 1-bit key as stored
        ("1", 255, 1, 255),
        ("1", 0, 1, 0),
        ("L", 1, 2, 85),
        ("L", 3, 2, 255),
        ("L", 5, 4, 85),
        ("L", 170, 2, 170),  # already scaled: left alone
        ("L", 40, 8, 40),
        ("L", 40, None, 40),
        ("L", 256, 8, None),  # no 8-bit pixel can match it (Pillow compares its low byte)
        ("I;16", 0x1234, 16, 0x1234),
        ("RGB", (0x1234, 0x5678, 0x9ABC), 16, (0x12, 0x56, 0x9A)),
        ("RGB", (0, 0, 100), 16, (0, 0, 0)),
        ("RGB", (10, 20, 30), 8, (10, 20, 30)),
        ("RGB", (256, 0, 0), 8, None),
        ("RGB", 5, 8, None),
        ("P", 0, 8, None),  # palettes carry their alpha in the palette
        ("RGBA", (1, 2, 3), 8, None),
    ],
)
def test_decoded_key(mode: str, key: object, bits: int | None, expected: object) -> None:
    image = Image.new(mode, (1, 1))
    image.info["transparency"] = key
    assert decoded_key(image, bits) == expected


def test_rescaled_key_leaves_the_decoders_info_alone() -> None:
    image = _floats([85, 170], "L")
    image.info["transparency"] = 1
    result = normalise(image, bits=2)
    assert _row(result) == [(85, 0), (170, 255)]
    assert image.info["transparency"] == 1


def test_out_of_range_key_marks_nothing() -> None:
    image = Image.new("RGB", (1, 1), (0, 0, 0))
    image.info["transparency"] = (256, 0, 0)
    assert to_working(image).mode == "RGB"


def test_lab_white_black_and_grey_are_exact() -> None:
    image = Image.new("LAB", (3, 1))
    for x, value in enumerate([(255, 128, 128), (0, 128, 128), (128, 128, 128)]):
        image.putpixel((x, 0), value)
    assert _row(to_working(image)) == [(255, 255, 255), (0, 0, 0), (119, 119, 119)]


def test_lab_is_converted_even_with_a_profile_to_keep() -> None:
    image = Image.new("LAB", (1, 1), (255, 128, 128))
    image.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    result = to_srgb(image, keep_profile=True)
    assert result.mode == "RGB" and result.getpixel((0, 0)) == (255, 255, 255) and result.info == {}


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
    with Image.open(corpus / "jpeg_adobe_rgb_icc_canon7d.jpg") as opened:
        adobe = opened.info["icc_profile"]
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
