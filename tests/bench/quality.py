"""Quality: PSNR of a rendered JPEG against a full-resolution Pillow reference.

The reference is what a careful, slow resizer makes: the whole image decoded,
turned upright (``ImageOps.exif_transpose``), brought into sRGB through its
embedded ICC profile when it has one (as our engine does), then resized with
LANCZOS in one step from full resolution to the same size and centre crop.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat

from .workloads import Workload

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def upright_srgb(data: bytes) -> Image.Image:
    """The whole image decoded, upright, as 8-bit RGB in sRGB."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        icc = opened.info.get("icc_profile")
    if icc:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        if converted is not None:
            image = converted
    return image.convert("RGB")


def reference(upright: Image.Image, workload: Workload) -> Image.Image:
    """``upright`` resized to ``workload`` with LANCZOS from full resolution."""
    size = workload.target_size(upright.size)
    if workload.mode == "fill":
        return ImageOps.fit(upright, size, Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    return upright.resize(size, Image.Resampling.LANCZOS)


def psnr(image: Image.Image, expected: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB of 8-bit ``image`` against ``expected``.

    Both are compared as RGB and must have the same size; identical images give
    ``inf``.
    """
    if image.size != expected.size:
        raise ValueError(f"sizes differ: {image.size} vs {expected.size}")
    diff = ImageChops.difference(image.convert("RGB"), expected.convert("RGB"))
    squares = sum(ImageStat.Stat(diff).sum2)
    mse = squares / (image.size[0] * image.size[1] * 3)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def psnr_of_encoded(data: bytes, expected: Image.Image) -> float:
    """PSNR of encoded ``data`` (decoded whole) against ``expected``.

    An output whose size is one pixel off the reference's (rounding of an
    auto side) is compared on the common area.
    """
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGB")
    if image.size != expected.size:
        width = min(image.size[0], expected.size[0])
        height = min(image.size[1], expected.size[1])
        if abs(image.size[0] - expected.size[0]) > 1 or abs(image.size[1] - expected.size[1]) > 1:
            raise ValueError(f"output is {image.size}, the reference {expected.size}")
        image = image.crop((0, 0, width, height))
        expected = expected.crop((0, 0, width, height))
    return psnr(image, expected)
