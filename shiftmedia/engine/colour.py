"""Bring any decoded image into a working mode in sRGB (or its own profile).

Later steps handle four modes only: ``RGB``, ``RGBA``, ``L`` and ``LA``, all
8 bits per channel and in sRGB. This step gets there without losing what the
source meant: 16-bit samples are scaled (not clipped) to 8 bits, palette and
tRNS transparency become an alpha channel, CMYK and non-sRGB RGB go through
their embedded ICC profile into sRGB. Grayscale stays grayscale.

It comes in two halves so that no mode is converted at full size when it need
not be: :func:`normalise` runs before scaling and only touches modes Pillow
cannot resample (palette, 16-bit, ...); :func:`to_srgb` runs after scaling and
does the profile conversion on the small image. :func:`to_working` is both.

The result never carries Pillow ``info`` metadata (EXIF, XMP, transparency),
and no ICC profile either unless the caller keeps the source's RGB or grey
profile: then the pixels are left in that space and the profile travels in
``info["icc_profile"]`` for the encoder to embed. CMYK is always converted,
since every output is RGB or grey.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageCms

from ..errors import UnsupportedImage

WORKING_MODES = frozenset({"RGB", "RGBA", "L", "LA"})
"""The modes every step after this one handles."""

SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
"""Integer grayscale modes, scaled from 0-65535 down to 0-255."""

SIMPLE_CONVERSIONS: dict[str, str] = {
    "1": "L",
    "PA": "RGBA",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "YCbCr": "RGB",
}
"""Modes Pillow converts exactly to a working mode."""

SUPPORTED_MODES = WORKING_MODES | SIXTEEN_BIT_MODES | set(SIMPLE_CONVERSIONS) | {"P", "CMYK"}
"""Every mode :func:`to_working` accepts."""

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


def normalise(image: Image.Image) -> Image.Image:
    """``image`` in a mode Pillow resamples: a working mode, or CMYK.

    ``info`` (the ICC profile) is kept for :func:`to_srgb`; ``image`` itself is
    returned when its mode is already one of those.
    """
    mode = image.mode
    if mode not in SUPPORTED_MODES:
        raise UnsupportedImage(f"images in mode {mode} are not supported")
    if mode in SIXTEEN_BIT_MODES:
        return image.convert("I").point(lambda value: value / 257 + 0.5).convert("L")
    if mode in SIMPLE_CONVERSIONS:
        return image.convert(SIMPLE_CONVERSIONS[mode])
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode in {"RGB", "L"} and "transparency" in image.info:
        return image.convert(mode + "A")
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
    """True when LittleCMS reads ``profile`` and it describes ``mode``'s colour space."""
    try:
        space = ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile.xcolor_space
    except (OSError, ImageCms.PyCMSError):
        return False
    return space.strip() == ("GRAY" if mode in {"L", "LA"} else "RGB")


def _in_srgb(image: Image.Image) -> Image.Image:
    """``image`` converted to sRGB through its embedded ICC profile where needed.

    CMYK always becomes RGB: through its profile when it has a usable one, by
    Pillow's plain conversion otherwise. RGB(A) with a usable non-sRGB profile
    is converted; anything else is returned as it is. A broken profile is
    ignored, as browsers ignore it.
    """
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
