"""Animated alpha: every frame of an animation keeps its transparency through the engine.

libwebp's animation encoder stores only the rectangle of each frame that
changed (the first frame's is trimmed to what differs from a clear canvas),
and it sets the file's VP8X alpha flag only when one of those rectangles
holds a non-opaque pixel. An opaque shape moving over a clear canvas gives
opaque rectangles only: the flag came out cleared, and decoders that trust it
(Pillow among them) showed the clear canvas black. Each case here is decoded
by Pillow frame by frame and its alpha compared with the alpha the engine
gives that frame as a still PNG (itself checked against the source at the
source's size); the WebP's RIFF chunks are read for the flag and each stored
frame's alpha, the GIF's blocks for each frame's transparency index.

Sources are built here: GIFs written block by block (a clear canvas with
opaque moving rectangles under each disposal method, an opaque first frame
then clear holes, a transparency index that changes from frame to frame, a
first frame smaller than the screen), a GIF and an animated WebP written by
Pillow from RGBA frames, an animated PNG (the engine reads its default image);
and the corpus's animations.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter

from shiftmedia.engine import render
from shiftmedia.spec import ResizeSpec

from .conftest import gif_frame_data

SCREEN = (64, 48)
PALETTE = [0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 200, 0, 255, 255, 255] + [128] * (768 - 15)
"""Palette of the block-written GIFs: 0 black, 1 red, 2 blue, 3 green, 4 white, then grey."""

CLEAR = 9
"""A palette index no frame paints, declared transparent so the canvas starts clear."""

DELAY = 10
"""Every frame's delay, in hundredths of a second."""

VP8X_ALPHA = 0x10
"""The alpha bit of the VP8X flags."""

GIF_OPAQUE = 128
"""GIF output: source alpha from this up is opaque, below it clear."""

JPEG_REACH = 9
"""JPEG output: clear pixels this far (a filter size, so 4 pixels either way) from any
other are checked; JPEG's 8×8 blocks smear an edge's colour into its neighbours."""


@dataclass(frozen=True)
class GifFrame:
    """One frame of a block-written GIF: palette pixels, where they go, the
    disposal method and the transparency index (None: no transparency)."""

    image: Image.Image
    position: tuple[int, int] = (0, 0)
    disposal: int = 1
    transparency: int | None = CLEAR


def _paletted(size: tuple[int, int], index: int, *patches: tuple[tuple[int, int, int, int], int]) -> Image.Image:
    """A ``P`` image of ``size`` in ``index``, with each ``(box, index)`` patch painted on."""
    image = Image.new("P", size, index)
    image.putpalette(PALETTE)
    for box, patch in patches:
        image.paste(patch, box)
    return image


def _lzw(image: Image.Image) -> bytes:
    """The image data (code size, sub-blocks, terminator) of ``image`` (``P``,
    256 colours), as Pillow's GIF writer codes it, not interlaced (the descriptors
    written here do not say so)."""
    buffer = io.BytesIO()
    image.save(buffer, "GIF", optimize=False, interlace=False)
    coded = gif_frame_data(buffer.getvalue())
    assert coded[0] == 8, "a 256-colour frame codes 8-bit indices"
    return coded


def block_gif(frames: Sequence[GifFrame], screen: tuple[int, int] = SCREEN) -> bytes:
    """A looping GIF written block by block: each frame with its own graphic
    control (disposal, transparency index) and a local 256-colour table."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", *screen, 0, 0, 0))
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for frame in frames:
        packed = (frame.disposal << 2) | (frame.transparency is not None)
        out += b"!\xf9\x04" + struct.pack("<BHBB", packed, DELAY, frame.transparency or 0, 0)
        out += b"," + struct.pack("<HHHHB", *frame.position, *frame.image.size, 0x87) + bytes(PALETTE)
        out += _lzw(frame.image)
    return bytes(out + b";")


def moving_rectangle(disposal: int) -> bytes:
    """A clear canvas and one opaque red square moving right: each frame stores only the square."""
    square = _paletted((16, 16), 1)
    return block_gif([GifFrame(square, (4 + 12 * step, 16), disposal) for step in range(4)])


def opaque_then_holes() -> bytes:
    """A fully opaque blue first frame, cleared away (disposal 2), then red frames with a clear moving hole."""
    frames = [GifFrame(_paletted(SCREEN, 2), disposal=2)]
    frames += [
        GifFrame(_paletted(SCREEN, 1, ((8 + 12 * step, 12, 24 + 12 * step, 36), CLEAR)), disposal=2)
        for step in range(3)
    ]
    return block_gif(frames)


def changing_transparency_index() -> bytes:
    """Full frames whose transparency index is a different colour each time, under disposals 1, 2, 3, 0."""
    left, right = (0, 0, 32, 48), (32, 0, 64, 48)
    return block_gif(
        [
            GifFrame(_paletted(SCREEN, 1, (left, 2)), disposal=1, transparency=2),
            GifFrame(_paletted(SCREEN, 1, (right, 3)), disposal=2, transparency=1),
            GifFrame(_paletted(SCREEN, 3, ((0, 0, 16, 48), 4)), disposal=3, transparency=4),
            GifFrame(_paletted(SCREEN, 4, ((16, 16, 48, 32), 0)), disposal=0, transparency=0),
        ]
    )


def small_first_frame() -> bytes:
    """A first frame covering a corner of the screen only, then squares elsewhere."""
    return block_gif(
        [
            GifFrame(_paletted((20, 20), 1), (0, 0)),
            GifFrame(_paletted((20, 20), 2), (40, 24)),
            GifFrame(_paletted((20, 20), 3), (20, 10), disposal=2),
        ]
    )


def _rgba_frames() -> list[Image.Image]:
    """Frames for Pillow's writers: a clear canvas, an opaque square moving down and a
    still half-transparent band, so the first stored rectangle already carries alpha."""
    frames = []
    for step in range(4):
        frame = Image.new("RGBA", SCREEN, (0, 0, 0, 0))
        frame.paste((255, 0, 0, 255), (24, 4 + 10 * step, 40, 20 + 10 * step))
        frame.paste((0, 0, 255, 128), (0, 0, 8, 48))
        frames.append(frame)
    return frames


def _saved(frames: Sequence[Image.Image], pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(buffer, pillow_format, save_all=True, append_images=list(frames[1:]), **options)
    return buffer.getvalue()


def pillow_gif() -> bytes:
    """A GIF Pillow writes from RGBA frames (one transparency index, disposal 2, cropped frames)."""
    frames = [frame.convert("RGB").convert("RGBA") for frame in _rgba_frames()]
    for frame, source in zip(frames, _rgba_frames(), strict=True):
        frame.putalpha(source.getchannel("A").point(lambda alpha: 255 if alpha else 0))
    return _saved(frames, "GIF", duration=100, loop=0, disposal=2)


def pillow_webp() -> bytes:
    """An animated lossless WebP written by Pillow from RGBA frames."""
    return _saved(_rgba_frames(), "WEBP", duration=100, loop=0, lossless=True)


def apng() -> bytes:
    """An animated PNG with alpha; the engine reads its default image (the first frame)."""
    return _saved(_rgba_frames(), "PNG", duration=100, loop=0)


SOURCES: dict[str, Callable[[], bytes]] = {
    "gif moving square, disposal 0": lambda: moving_rectangle(0),
    "gif moving square, disposal 1": lambda: moving_rectangle(1),
    "gif moving square, disposal 2": lambda: moving_rectangle(2),
    "gif moving square, disposal 3": lambda: moving_rectangle(3),
    "gif opaque first frame then holes": opaque_then_holes,
    "gif transparency index changes": changing_transparency_index,
    "gif first frame smaller than the screen": small_first_frame,
    "gif written by Pillow": pillow_gif,
    "animated webp": pillow_webp,
    "animated png": apng,
}

MODES: dict[str, dict[str, object]] = {
    "fit same size": {"size": SCREEN},
    "fit half": {"size": (32, 24)},
    "fill square": {"size": (40, 40), "mode": "fill"},
    "pad clear": {"size": (80, 80), "mode": "pad", "background": "00000000"},
    "pad opaque": {"size": (80, 64), "mode": "pad", "background": "336699"},
    "crop": {"size": (32, 32), "mode": "crop", "rect": (20, 8, 32, 32)},
}


def _spec(fmt: str, options: dict[str, object]) -> ResizeSpec:
    settings = dict(options)
    size = settings.pop("size")
    assert isinstance(size, tuple)
    return ResizeSpec.create(size, format=fmt, upscale=True, **settings)


def _alpha(image: Image.Image) -> Image.Image:
    """The alpha channel of ``image`` as ``L`` (all 255 when it has none)."""
    return image.convert("RGBA").getchannel("A")


def timeline(data: bytes, first_only: bool = False) -> list[tuple[int, Image.Image]]:
    """Each frame Pillow decodes from ``data``, as RGBA, with the time (ms) it starts showing."""
    image = Image.open(io.BytesIO(data))
    frames = []
    start = 0
    for index in range(1 if first_only else getattr(image, "n_frames", 1)):
        image.seek(index)
        image.load()
        frames.append((start, image.convert("RGBA")))
        start += int(image.info.get("duration", 0))
    return frames


def shown_at(frames: Sequence[tuple[int, Image.Image]], moment: int) -> Image.Image:
    """The frame of ``frames`` on screen at ``moment`` ms."""
    return [image for start, image in frames if start <= moment][-1]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def expected_alphas(data: bytes, options: dict[str, object]) -> list[tuple[int, Image.Image]]:
    """The alpha the engine gives each source frame on its own: the frame as
    Pillow composites it, rendered as a still PNG with the same geometry."""
    source = timeline(data, first_only=data.startswith(b"\x89PNG"))
    spec = _spec("png", options)
    return [(start, _alpha(Image.open(io.BytesIO(render(_png(frame), spec).data)))) for start, frame in source]


@dataclass(frozen=True)
class StoredFrame:
    """One image a WebP file stores: its box on the canvas and whether it carries alpha."""

    box: tuple[int, int, int, int]
    alpha: bool


@dataclass(frozen=True)
class WebPLayout:
    """What a WebP's chunks say: the VP8X alpha flag, and the stored images in order."""

    alpha_flag: bool
    animated: bool
    frames: list[StoredFrame]


def _chunks(data: bytes, position: int, end: int) -> Iterator[tuple[bytes, bytes]]:
    """The (FourCC, payload) RIFF chunks of ``data[position:end]``."""
    while position + 8 <= end:
        size = struct.unpack_from("<I", data, position + 4)[0]
        yield data[position : position + 4], data[position + 8 : position + 8 + size]
        position += 8 + size + (size & 1)


def _carries_alpha(chunks: Sequence[tuple[bytes, bytes]]) -> bool:
    """True when an image's chunks hold alpha: an ALPH chunk, or a VP8L header's alpha bit."""
    for fourcc, payload in chunks:
        if fourcc == b"ALPH":
            return True
        if fourcc == b"VP8L":
            return bool(struct.unpack_from("<I", payload, 1)[0] >> 28 & 1)
    return False


def webp_layout(data: bytes) -> WebPLayout:
    """Read a WebP's RIFF chunks (the container spec, not libwebp)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks = list(_chunks(data, 12, len(data)))
    flags = chunks[0][1][0] if chunks[0][0] == b"VP8X" else 0
    frames = []
    for fourcc, payload in chunks:
        if fourcc == b"ANMF":
            left, top = (2 * int.from_bytes(payload[at : at + 3], "little") for at in (0, 3))
            width, height = (1 + int.from_bytes(payload[at : at + 3], "little") for at in (6, 9))
            inner = list(_chunks(payload, 16, len(payload)))
            frames.append(StoredFrame((left, top, left + width, top + height), _carries_alpha(inner)))
    if not frames:
        size = Image.open(io.BytesIO(data)).size
        frames.append(StoredFrame((0, 0, *size), _carries_alpha(chunks)))
    return WebPLayout(alpha_flag=bool(flags & VP8X_ALPHA), animated=bool(flags & 0x02), frames=frames)


def gif_controls(data: bytes) -> list[tuple[int, int | None]]:
    """Each GIF frame's disposal method and transparency index (None: none), from its blocks."""
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    controls: list[tuple[int, int | None]] = []
    control: tuple[int, int | None] = (0, None)
    while data[position] != 0x3B:
        if data[position] == 0x21:
            if data[position + 1] == 0xF9:
                packed, _, index = struct.unpack_from("<BHB", data, position + 3)
                control = ((packed >> 2) & 7, index if packed & 1 else None)
            position += 2
        else:
            flags = data[position + 9]
            position += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            controls.append(control)
            control = (0, None)
        while data[position]:
            position += 1 + data[position]
        position += 1
    return controls


def _differs(actual: Image.Image, expected: Image.Image) -> tuple[int, int, int, int] | None:
    """The box where two alpha channels differ, None when they are equal."""
    assert actual.size == expected.size
    return ImageChops.difference(actual, expected).getbbox()


def _transparent(alpha: Image.Image) -> bool:
    return alpha.getextrema()[0] < 255


def check_webp(data: bytes, expected: Sequence[tuple[int, Image.Image]], tolerance: int = 0) -> None:
    """Every source frame's alpha in the WebP ``data`` (up to ``tolerance`` levels), and chunks that declare it."""
    output = timeline(data)
    for start, alpha in expected:
        seen = _alpha(shown_at(output, start))
        assert ImageChops.difference(seen, alpha).getextrema()[1] <= tolerance, f"frame at {start} ms"
    layout = webp_layout(data)
    if any(_transparent(alpha) for _, alpha in expected):
        assert layout.alpha_flag, "VP8X alpha flag cleared on a transparent animation"
    assert len(layout.frames) == len(output)
    for (start, _), stored in zip(output, layout.frames, strict=True):
        if _transparent(shown_at(expected, start).crop(stored.box)):
            assert stored.alpha, f"stored frame at {start} ms has clear pixels but no alpha"


def check_gif(data: bytes, expected: Sequence[tuple[int, Image.Image]]) -> None:
    """Every source frame's alpha, cut at one half, in the GIF ``data``; each
    frame declares its transparency index when the animation has any."""
    output = timeline(data)
    for start, alpha in expected:
        cut = alpha.point(lambda value: 255 if value >= GIF_OPAQUE else 0)
        assert _differs(_alpha(shown_at(output, start)), cut) is None, f"frame at {start} ms"
    controls = gif_controls(data)
    assert len(controls) == len(output)
    if len(output) > 1 and any(alpha.getextrema()[0] < GIF_OPAQUE for _, alpha in expected):
        assert all(index is not None for _, index in controls), controls


@pytest.mark.parametrize("source", SOURCES)
def test_reference_is_the_source_alpha(source: str) -> None:
    data = SOURCES[source]()
    frames = timeline(data, first_only=data.startswith(b"\x89PNG"))
    expected = expected_alphas(data, MODES["fit same size"])
    assert [start for start, _ in expected] == [start for start, _ in frames]
    for (_, frame), (_, alpha) in zip(frames, expected, strict=True):
        assert _differs(alpha, _alpha(frame)) is None
    assert any(_transparent(alpha) for _, alpha in expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", SOURCES)
def test_animated_webp_keeps_every_frames_alpha(source: str, mode: str) -> None:
    data = SOURCES[source]()
    check_webp(render(data, _spec("webp", MODES[mode])).data, expected_alphas(data, MODES[mode]))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", SOURCES)
def test_animated_gif_keeps_every_frames_transparency(source: str, mode: str) -> None:
    data = SOURCES[source]()
    check_gif(render(data, _spec("gif", MODES[mode])).data, expected_alphas(data, MODES[mode]))


@pytest.mark.parametrize("fmt", ["png", "avif", "jpg"])
@pytest.mark.parametrize("source", SOURCES)
def test_still_outputs_keep_the_first_frames_alpha(source: str, fmt: str) -> None:
    data = SOURCES[source]()
    _, first = timeline(data, first_only=True)[0]
    output = Image.open(io.BytesIO(render(data, _spec(fmt, MODES["fit same size"])).data)).convert("RGBA")
    alpha = first.getchannel("A")
    if fmt == "png":
        assert _differs(output.getchannel("A"), alpha) is None
    elif fmt == "avif":
        assert ImageChops.difference(output.getchannel("A"), alpha).getextrema()[1] <= 8
    else:
        away_from_edges = alpha.point(lambda value: 255 if value == 0 else 0).filter(ImageFilter.MinFilter(JPEG_REACH))
        off_white = ImageChops.invert(output.convert("L")).point(lambda value: 255 if value > 8 else 0)
        assert ImageChops.multiply(off_white, away_from_edges).getbbox() is None, "clear must show the white background"


def test_single_stored_frame_keeps_alpha() -> None:
    """Frames that all look alike merge into one stored frame (libwebp may then write a still)."""
    square = _paletted((16, 16), 1)
    data = block_gif([GifFrame(square, (24, 16)), GifFrame(_paletted((16, 16), 1), (24, 16))])
    expected = expected_alphas(data, MODES["fit same size"])
    check_webp(render(data, _spec("webp", MODES["fit same size"])).data, expected)


CORPUS_ANIMATIONS = ["gif_animated_trns_30f.gif", "webp_animated_10f.webp", "gif_animated_earth_44f.gif"]


@pytest.mark.parametrize("fmt", ["webp", "gif"])
@pytest.mark.parametrize("name", CORPUS_ANIMATIONS)
def test_corpus_animations_keep_every_frames_alpha(corpus: Path, name: str, fmt: str) -> None:
    data = (corpus / name).read_bytes()
    options: dict[str, object] = {"size": (100, 100), "mode": "fit"}
    rendered = render(data, _spec(fmt, options)).data
    (check_webp if fmt == "webp" else check_gif)(rendered, expected_alphas(data, options))
