"""Write working-mode frames as the spec's output format, without metadata.

The output carries no EXIF (so no GPS and no orientation) and no XMP: the
pixels are already upright. It carries no ICC profile either, as the pixels
are in sRGB, unless the colour step kept the source's profile (the spec's
``keep_icc``): then that profile is embedded where the format stores one and
it describes the written mode (a grey profile cannot describe a frame that had
to become RGB; such a frame is written as plain grey, the default for grey).
Every setting is fixed here, so the same frames and spec always give the same
bytes.

Animations (several frames) are written as animations by GIF and WebP with
their per-frame durations and loop count; the other formats take one frame.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops

from ..spec import ResizeSpec
from . import background
from .palette import to_palette

ANIMATED_OUTPUTS = frozenset({"gif", "webp"})
"""Output formats that keep every frame of an animation."""

PROFILE_OUTPUTS = frozenset({"jpg", "png", "webp", "avif"})
"""Output formats that can embed an ICC profile."""

PROFILE_SPACES: dict[str, bytes] = {"L": b"GRAY", "LA": b"GRAY", "RGB": b"RGB ", "RGBA": b"RGB "}
"""The ICC colour-space signature (header bytes 16-19) each written mode needs."""

PROGRESSIVE_MIN_PIXELS = 10_000
"""JPEGs from about 100×100 up are progressive: smaller, and they render early."""

WEBP_METHOD = 4
"""libwebp's effort (0-6); 4 is its default balance of size and time."""

WEBP_KEY_FRAMES = {"kmin": 0, "kmax": 0}
"""No key frames after the first in an animated WebP, as libvips writes them.

By default (gif2webp's kmin 3, kmax 5) libwebp encodes many frames twice, as
a key frame and as a patch over the last, and keeps the smaller: 40-70 % more
encoding time, for files that come out no smaller (the corpus's rotating
earth at 400×400: 0.9 s and 288 KB with key frames, 0.5 s and 256 KB
without). Key frames only help a player that jumps into the middle; browsers
play from the start."""

VP8X_FLAGS = 20
"""Offset of the flags byte of the VP8X chunk, which libwebp writes right after
the 12-byte RIFF header of every animated (or extended) WebP."""

VP8X_ALPHA = 0x10
"""The alpha bit of the VP8X flags: the canvas may hold non-opaque pixels."""

AVIF_SPEED = 8
"""libavif's speed (0-10); 8 encodes 400×400 in ~45 ms, 6 takes ~3× longer."""


@dataclass(frozen=True)
class Timing:
    """How an animation plays: per-frame durations in ms, and the loop count
    (None when the source sets none; GIF then plays once)."""

    durations: tuple[int, ...]
    loop: int | None


def encode(frames: Sequence[Image.Image], spec: ResizeSpec, timing: Timing) -> bytes:
    """Encode ``frames`` (working modes, equal sizes) as ``spec.format``.

    Only GIF and WebP write more than the first frame. Of the ``info`` the
    frames carry only the first frame's ``icc_profile`` is used (see the module
    doc); the rest is ignored: Pillow's writers would copy parts of it (PNG
    its ICC profile, GIF its comment) into the output.
    """
    profile = frames[0].info.get("icc_profile") if spec.format in PROFILE_OUTPUTS else None
    frames = [_bare(frame) for frame in frames]
    if spec.format == "gif":
        return _gif(frames, timing)
    if spec.format == "webp":
        return _webp(frames, spec, timing, profile)
    first = frames[0]
    if spec.format == "jpg":
        flat = background.flatten(first, background.parse(spec.background))
        pixels = flat.size[0] * flat.size[1]
        return _save(
            flat,
            "JPEG",
            quality=spec.quality,
            optimize=True,
            progressive=pixels >= PROGRESSIVE_MIN_PIXELS,
            **_embedded(flat, profile),
        )
    if spec.format == "avif":
        coloured = _colour(first)
        return _save(coloured, "AVIF", quality=spec.quality, speed=AVIF_SPEED, **_embedded(coloured, profile))
    return _save(first, "PNG", optimize=False, **_embedded(first, profile))


def _embedded(image: Image.Image, profile: bytes | None) -> dict[str, object]:
    """The ``icc_profile`` save option when ``profile`` describes ``image``'s mode."""
    if profile and profile[16:20] == PROFILE_SPACES.get(image.mode):
        return {"icc_profile": profile}
    return {}


def _webp(frames: Sequence[Image.Image], spec: ResizeSpec, timing: Timing, profile: bytes | None) -> bytes:
    """Lossy WebP, alpha kept; animated when there are several frames."""
    first = _colour(frames[0])
    options: dict[str, object] = {"quality": spec.quality, "method": WEBP_METHOD, **_embedded(first, profile)}
    if len(frames) > 1:
        options.update(
            save_all=True,
            append_images=[_colour(frame) for frame in frames[1:]],
            duration=list(timing.durations),
            loop=1 if timing.loop is None else timing.loop,
            **WEBP_KEY_FRAMES,
        )
    encoded = _save(first, "WEBP", **options)
    if len(frames) > 1 and _alpha_unflagged(encoded) and any(_transparent(frame) for frame in frames):
        return _flag_alpha(encoded)
    return encoded


def _alpha_unflagged(data: bytes) -> bool:
    """True when the WebP ``data`` has a VP8X chunk whose alpha flag is cleared."""
    return data[12:16] == b"VP8X" and not data[VP8X_FLAGS] & VP8X_ALPHA


def _transparent(image: Image.Image) -> bool:
    """True when ``image`` (a working mode) has a pixel that is not fully opaque:
    its inverted alpha is not all zero (0.2 ms for 400×400)."""
    return image.mode in {"RGBA", "LA"} and ImageChops.invert(image.getchannel("A")).getbbox() is not None


def _flag_alpha(data: bytes) -> bytes:
    """The animated WebP ``data`` with the VP8X alpha flag set.

    libwebp's animation encoder stores only the rectangle of each frame that
    changed (the first frame's trimmed to what differs from a clear canvas)
    and derives the flag from those rectangles alone: an opaque shape moving
    over a clear canvas stores opaque rectangles only, and the flag comes out
    cleared although the canvas around them is clear. Pillow trusts the flag
    and shows the clear canvas opaque, black (Chromium and libvips work it out
    from the frame rectangles). No encoder option fixes it: with
    ``allow_mixed``, ``minimize_size`` or key frames (even ``kmax`` 1, every
    later frame whole: 1.7× the bytes and 2.4× the time on the corpus's
    earth) the first frame is still trimmed, and the flag is set only when
    some stored rectangle happens to hold a clear pixel. The flag is a single
    bit that no checksum covers, so it is set here; every stored frame that
    holds a non-opaque pixel already carries its ALPH chunk.
    """
    flagged = bytearray(data)
    flagged[VP8X_FLAGS] |= VP8X_ALPHA
    return bytes(flagged)


def _gif(frames: Sequence[Image.Image], timing: Timing) -> bytes:
    """GIF with per-frame palettes; animated when there are several frames.

    The decoder hands over whole pictures with the source's disposal already
    applied, so the written disposal only has to let each picture show as it
    is: with transparency anywhere, every frame clears to transparent before
    the next (2); when all are opaque, each frame just covers the last (1),
    which lets Pillow store only the changed rectangle. Pillow's palette
    optimisation is off for animations: it drops a transparent index that a
    frame does not use, and with it the frame's transparency.
    """
    paletted = [to_palette(frame) for frame in frames]
    if len(paletted) == 1:
        return _save(paletted[0], "GIF")
    transparent = any("transparency" in frame.info for frame in paletted)
    if transparent:
        paletted = [to_palette(frame, declare_transparency=True) for frame in frames]
    options: dict[str, object] = {
        "save_all": True,
        "append_images": paletted[1:],
        "duration": list(timing.durations),
        "disposal": 2 if transparent else 1,
        "optimize": False,
    }
    if timing.loop is not None:
        options["loop"] = timing.loop
    return _save(paletted[0], "GIF", **options)


def _bare(image: Image.Image) -> Image.Image:
    """``image`` without Pillow ``info`` metadata; ``image`` itself when it has none."""
    if not image.info:
        return image
    bare = image.copy()
    bare.info = {}
    return bare


def _colour(image: Image.Image) -> Image.Image:
    """``image`` in RGB or RGBA, for encoders without a grayscale mode."""
    mode = {"L": "RGB", "LA": "RGBA"}.get(image.mode)
    return image if mode is None else image.convert(mode)


def _save(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    """``image`` encoded by Pillow's ``pillow_format`` writer with ``options``."""
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()
