"""Pillow internals the engine leans on, each checked on its own: a Pillow release that changes one
fails here, saying what changed and what depends on it, rather than elsewhere as a wrong size or,
worse, nowhere, as a slower decode.

- The 3/8 JPEG decode (:mod:`shiftmedia.engine.scale`). ``JpegImageFile.draft()`` offers 1/2, 1/4
  and 1/8; the engine asks for 3/8 the way ``draft()`` asks for those: it rewrites the image's one
  ``jpeg`` tile and its ``_size`` to the reduced size, and puts the scale denominator in
  ``decoderconfig`` as ``(denominator, 0)``, which the JPEG decoder hands libjpeg-turbo as
  ``scale_denom``. Should ``draft()`` stop working that way, the imitation is stale: it may fall
  back to 1/2 (a third more pixels to resample, which no other test notices) or decode garbage.
- Lossless JPEG (:func:`shiftmedia.engine.scale.shrinks_on_load`): a DCT-coded JPEG is told by the
  quantization tables Pillow collects in ``quantization`` while it parses the header. Without
  them every JPEG would be taken for lossless and decoded whole.
- The plugin registry (:mod:`shiftmedia.engine.load` opens by content through
  ``Image.OPEN[format]``, a ``(factory, accept)`` pair, to skip ``Image.open``'s own bomb check).

``make test-newest-pillow`` runs the engine's tests, these included, on the newest Pillow release.
"""

from __future__ import annotations

import io
import math

import PIL
import pytest
from PIL import Image, ImageChops, ImageFile, ImageStat, JpegImagePlugin

from shiftmedia.engine.load import OPEN_FORMATS
from shiftmedia.engine.plan import make_plan
from shiftmedia.engine.scale import THREE_EIGHTHS, THREE_EIGHTHS_DENOMINATOR, shrink_on_load, shrinks_on_load
from shiftmedia.spec import ResizeSpec

SIZE = (1603, 1201)
"""Odd on both sides, so that every reduced size is rounded up."""

FIX = "update shiftmedia/engine/scale.py (_draft_three_eighths), or drop the 3/8 scale from DCT_SCALES"
"""What to do when the 3/8 decode no longer matches Pillow."""


def changed(what: str, consequence: str) -> str:
    """The failure message: the Pillow version, what changed in it, and what that breaks."""
    return f"Pillow {PIL.__version__} changed an internal the engine relies on: {what}. {consequence}"


def picture() -> Image.Image:
    """A smooth RGB picture of :data:`SIZE`, so that a scaled decode can be compared with a resize."""
    noise = Image.effect_noise((SIZE[0] // 40, SIZE[1] // 40), 60).convert("RGB")
    return noise.resize(SIZE, Image.Resampling.BICUBIC)


def jpeg(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def opened(data: bytes) -> JpegImagePlugin.JpegImageFile:
    image = Image.open(io.BytesIO(data))
    assert isinstance(image, JpegImagePlugin.JpegImageFile)
    return image


def test_a_jpeg_opens_as_the_one_plain_tile_the_three_eighths_decode_rewrites() -> None:
    image = opened(jpeg(picture()))
    consequence = f"The 3/8 decode no longer applies and every 3/8 resize falls back to 1/2: {FIX}."
    assert len(image.tile) == 1, changed(f"a JPEG opens as {len(image.tile)} tiles, not one", consequence)
    tile = image.tile[0]
    tile_type = getattr(ImageFile, "_Tile", None)
    assert tile_type is not None and isinstance(tile, tile_type), changed(
        f"a tile is a {type(tile).__name__}, not the named tuple ImageFile._Tile", consequence
    )
    assert tile._fields[:2] == ("codec_name", "extents"), changed(f"a tile's fields are {tile._fields}", FIX)
    assert tile.codec_name == "jpeg" and tile.extents == (0, 0, *SIZE) and isinstance(tile.args, tuple), changed(
        f"a JPEG's tile is {tile!r}, not ('jpeg', (0, 0, width, height), offset, (mode, rawmode, ...))", consequence
    )
    assert not image.decoderconfig, changed(f"a fresh JPEG's decoderconfig is {image.decoderconfig!r}", consequence)
    assert vars(image).get("_size") == SIZE, changed("an image's size is no longer kept in its _size", consequence)


@pytest.mark.parametrize("denominator", [2, 4, 8])
def test_draft_scales_the_way_the_three_eighths_decode_imitates(denominator: int) -> None:
    image = opened(jpeg(picture()))
    reduced = (math.ceil(SIZE[0] / denominator), math.ceil(SIZE[1] / denominator))
    drafted = image.draft(None, (SIZE[0] // denominator, SIZE[1] // denominator))
    what = (
        f"draft() at 1/{denominator} gave {drafted!r}, tile {image.tile!r}, size {image.size}, decoderconfig "
        f"{image.decoderconfig!r}; it used to give ('RGB', (0, 0, width/{denominator}, height/{denominator})), "
        f"one tile and a size of {reduced} and ({denominator}, 0)"
    )
    assert drafted == ("RGB", (0, 0, SIZE[0] / denominator, SIZE[1] / denominator)), changed(what, FIX)
    assert [tile.extents for tile in image.tile] == [(0, 0, *reduced)], changed(what, FIX)
    assert image.size == reduced and vars(image).get("_size") == reduced, changed(what, FIX)
    assert image.decoderconfig == (denominator, 0), changed(what, FIX)
    image.load()
    assert image.size == reduced, changed(f"draft() at 1/{denominator} now decodes {image.size}", FIX)


def test_the_jpeg_decoder_takes_three_as_its_scale_denominator() -> None:
    original = picture()
    image = opened(jpeg(original, quality=95))
    plan = make_plan(SIZE, ResizeSpec.parse("500x0-fit-80-noupscale.jpg"))
    extent = shrink_on_load(image, plan, 1)
    reduced = (math.ceil(SIZE[0] * THREE_EIGHTHS), math.ceil(SIZE[1] * THREE_EIGHTHS))
    assert image.decoderconfig == (THREE_EIGHTHS_DENOMINATOR, 0), changed(
        f"a plain JPEG no longer takes the 3/8 set-up (decoderconfig {image.decoderconfig!r}, tile {image.tile!r})",
        f"Every 3/8 resize falls back to draft() at 1/2: {FIX}.",
    )
    image.load()
    assert image.size == reduced, changed(
        f"a decoderconfig of ({THREE_EIGHTHS_DENOMINATOR}, 0) now decodes {image.size}, not the size x 3/8 {reduced}",
        FIX,
    )
    compared = (SIZE[0] // 8, SIZE[1] // 8)
    decoded = image.resize(compared, Image.Resampling.LANCZOS, box=(0, 0, *extent))
    error = max(ImageStat.Stat(ImageChops.difference(decoded, original.resize(compared, Image.Resampling.LANCZOS))).rms)
    assert error < 6, changed(f"the 3/8 decode is {error:.1f} RMS off the picture (a crop or a garbled stream)", FIX)


@pytest.mark.parametrize(
    ("mode", "options"),
    [("RGB", {}), ("RGB", {"progressive": True}), ("L", {}), ("CMYK", {}), ("RGB", {"subsampling": 0})],
)
def test_a_dct_jpeg_carries_its_quantization_tables(mode: str, options: dict[str, object]) -> None:
    image = opened(jpeg(picture().convert(mode), **options))
    tables = getattr(image, "quantization", None)
    assert isinstance(tables, dict) and tables, changed(
        f"a DCT-coded JPEG's quantization tables are {tables!r}, not a non-empty dict in `quantization`",
        "shrinks_on_load in shiftmedia/engine/scale.py takes every JPEG for lossless and decodes it whole: "
        "find the tables where Pillow now keeps them",
    )
    assert shrinks_on_load(image)


@pytest.mark.parametrize("name", OPEN_FORMATS)
def test_each_format_registers_a_factory_and_an_accept_check(name: str) -> None:
    Image.init()
    entry = Image.OPEN.get(name)
    factory, accept = entry if isinstance(entry, tuple) and len(entry) == 2 else (None, None)
    assert callable(factory) and (accept is None or callable(accept)), changed(
        f"Image.OPEN[{name!r}] is {entry!r}, not (factory, accept)",
        "shiftmedia/engine/load.py (parse_header) opens by content through it: follow the new registry",
    )
