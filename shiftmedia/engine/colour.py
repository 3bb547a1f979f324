"""Bring any decoded image into a working mode in sRGB (or its own profile).

Later steps handle four modes only: ``RGB``, ``RGBA``, ``L`` and ``LA``, all
8 bits per channel and in sRGB. This step gets there without losing what the
source meant: 16-bit samples are scaled (not clipped) to 8 bits and 32-bit
integer and float samples mapped to them (see :mod:`.modes`), palette and
tRNS transparency become an alpha channel, CMYK and non-sRGB RGB go through
their embedded ICC profile into sRGB, and CIE L*a*b* through LittleCMS's
built-in Lab profile. Grayscale stays grayscale.

It comes in two halves so that no mode is converted at full size when it need
not be: :func:`normalise` runs before scaling and only touches modes Pillow
cannot resample (palette, 16-bit, float, ...); :func:`to_srgb` runs after
scaling and does the profile conversion (CMYK, Lab, ICC) on the small image.
:func:`to_working` is both.

The result never carries Pillow ``info`` metadata (EXIF, XMP, transparency),
and no ICC profile either unless the caller keeps the source's RGB or grey
profile: then the pixels are left in that space and the profile travels in
``info["icc_profile"]`` for the encoder to embed. CMYK and Lab are always
converted, since every output is RGB or grey.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageCms

from ..errors import UnsupportedImage
from .modes import NUMERIC_MODES, decoded_key, keyed, to_grey

WORKING_MODES = frozenset({"RGB", "RGBA", "L", "LA"})
"""The modes every step after this one handles."""

SIMPLE_CONVERSIONS: dict[str, str] = {
    "1": "L",
    "PA": "RGBA",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "YCbCr": "RGB",
    "HSV": "RGB",
}
"""Modes Pillow converts exactly to a working mode."""

CONVERTED_AFTER_SCALING = frozenset({"CMYK", "LAB"})
"""Modes Pillow resamples as they are, converted to sRGB on the small image."""

SUPPORTED_MODES = WORKING_MODES | NUMERIC_MODES | set(SIMPLE_CONVERSIONS) | CONVERTED_AFTER_SCALING | {"P"}
"""Every mode :func:`to_working` accepts. Pillow has one more family, the
``BGR;15``/``BGR;16``/``BGR;24`` modes (deprecated, gone in Pillow 12), which
no reader produces; they and any mode a later Pillow adds are refused."""

PROFILE_SPACES = {"L": "GRAY", "LA": "GRAY", "RGB": "RGB", "RGBA": "RGB"}
"""The ICC colour space a kept profile must describe, per working mode."""

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

TRANSFORM_CACHE_SIZE = 32
"""How many distinct (profile, mode) transforms to sRGB are kept: building one
costs a few ms, more than applying it to a thumbnail."""


def is_supported(mode: str) -> bool:
    """True when :func:`to_working` can convert an image of ``mode``."""
    return mode in SUPPORTED_MODES


def to_working(image: Image.Image, keep_profile: bool = False) -> Image.Image:
    """A new image in a working mode and sRGB, without metadata; see the module doc."""
    return to_srgb(normalise(image), keep_profile)


def normalise(image: Image.Image, bits: int | None = None) -> Image.Image:
    """``image`` in a mode Pillow resamples: a working mode, CMYK or LAB.

    ``bits`` is what :func:`.modes.stored_bits` read from the file; it tells
    how to read transparency keys and 16-bit samples. ``info`` (the ICC
    profile) is kept for :func:`to_srgb`; ``image`` itself is returned when
    its mode is already one of those.
    """
    mode = image.mode
    if mode not in SUPPORTED_MODES:
        raise UnsupportedImage(f"images in mode {mode} are not supported")
    if mode in NUMERIC_MODES:
        return to_grey(image, bits)
    key = decoded_key(image, bits)
    if key is not None:
        return keyed(image, key)
    if mode in SIMPLE_CONVERSIONS:
        return image.convert(SIMPLE_CONVERSIONS[mode])
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image


def to_srgb(image: Image.Image, keep_profile: bool = False) -> Image.Image:
    """A new image in a working mode and sRGB from a :func:`normalise` result.

    With ``keep_profile``, an RGB or grey image whose embedded profile is
    usable and matches its mode keeps its pixels and that profile (alone in
    ``info``); everything else is converted to sRGB and carries no ``info``.
    """
    pixels, profile = srgb_pixels(image, keep_profile)
    result = image.copy() if pixels is image else pixels
    result.info = {} if profile is None else {"icc_profile": profile}
    return result


def srgb_pixels(image: Image.Image, keep_profile: bool = False) -> tuple[Image.Image, bytes | None]:
    """What :func:`to_srgb` does, without a copy: the pixels (``image`` itself
    when they need no conversion, with its ``info`` untouched) and the profile
    they keep, or None when they are sRGB."""
    profile = image.info.get("icc_profile")
    if keep_profile and profile and _matches(profile, image.mode):
        return image, profile
    return _in_srgb(image), None


def _matches(profile: bytes, mode: str) -> bool:
    """True when ``mode`` is a working mode, LittleCMS reads ``profile`` and it
    describes that mode's colour space."""
    if mode not in PROFILE_SPACES:
        return False
    try:
        space = ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile.xcolor_space
    except (OSError, ImageCms.PyCMSError):
        return False
    return space.strip() == PROFILE_SPACES[mode]


def _in_srgb(image: Image.Image) -> Image.Image:
    """``image`` converted to sRGB through its embedded ICC profile where needed.

    CMYK always becomes RGB: through its profile when it has a usable one, by
    Pillow's plain conversion otherwise. LAB always becomes RGB through the
    built-in Lab profile. RGB(A) with a usable non-sRGB profile is converted;
    anything else is returned as it is. A broken profile is ignored, as
    browsers ignore it.
    """
    if image.mode == "LAB":
        return _lab_to_srgb().apply(image)
    converted = None
    if image.mode in {"RGB", "RGBA", "CMYK"}:
        converted = _through_profile(image, "RGBA" if image.mode == "RGBA" else "RGB")
    if converted is None and image.mode == "CMYK":
        converted = image.convert("RGB")
    return image if converted is None else converted


def _through_profile(image: Image.Image, output_mode: str) -> Image.Image | None:
    """``image`` converted from its embedded profile to sRGB; None when there is
    no profile, it is already sRGB, or LittleCMS cannot use it."""
    icc = image.info.get("icc_profile")
    if not icc:
        return None
    transform = _transform_to_srgb(icc, image.mode, output_mode)
    if transform is None:
        return None
    try:
        return ImageCms.applyTransform(image, transform)
    except (OSError, ImageCms.PyCMSError):
        return None


@lru_cache(maxsize=TRANSFORM_CACHE_SIZE)
def _transform_to_srgb(icc: bytes, input_mode: str, output_mode: str) -> ImageCms.ImageCmsTransform | None:
    """The perceptual transform from the profile ``icc`` to sRGB, built once per
    profile and modes; None when the profile is sRGB (unless the input is CMYK)
    or LittleCMS cannot use it. LittleCMS transforms are safe to apply from
    several threads at once."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if input_mode != "CMYK" and "sRGB" in ImageCms.getProfileDescription(profile):
            return None
        return ImageCms.buildTransform(
            profile,
            _SRGB,
            input_mode,
            output_mode,
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
    except (OSError, ImageCms.PyCMSError):
        return None


@lru_cache(maxsize=1)
def _lab_to_srgb() -> ImageCms.ImageCmsTransform:
    """The transform from CIE L*a*b* (D50, the ICC connection space; TIFF's
    CIELab white is the perfect diffuser, so relative colorimetric) to sRGB.

    LittleCMS's optimised 8-bit Lab transform is off by 1-5 levels (white
    comes out 254, 255, 254); unoptimised it is exact, at about 0.15 s per
    output megapixel instead of 0.06, on the scaled image only.
    """
    return ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")),
        _SRGB,
        "LAB",
        "RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        flags=ImageCms.Flags.NOOPTIMIZE,
    )
