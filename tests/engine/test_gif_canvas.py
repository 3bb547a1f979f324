"""GIF frames are drawn as browsers draw them, also where Pillow draws them otherwise.

Browsers (Chromium, Firefox) start a GIF on a transparent canvas, clear a
frame of disposal 2 to transparent (ignoring the background colour the file
names), put the canvas back as it was before a frame of disposal 3 or 4 (for
the first frame: transparent), leave it for 5-7, and take a frame without a
graphic control as disposal 0, whatever came before. Pillow agrees only when the first frame
has a transparency index; each source here is one of the cases it does not
(checked: ``test_pillow_alone_shows_these_otherwise``), written block by
block from known palette pictures, and :func:`browser_frames` is the
browsers' rule, pixel by pixel, over those pictures.

Each output frame's alpha is compared with the engine's still PNG of the
reference frame at the same geometry, for webp and gif (every frame), png
and avif (the first); jpg shows the background where the canvas is clear,
never black.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from PIL import Image, ImageChops, ImageFilter

from shiftmedia.engine import render
from shiftmedia.engine.gifcanvas import composite, needs_compositing
from shiftmedia.engine.gifscan import scan

from .test_animated_alpha import (
    CLEAR,
    DELAY,
    MODES,
    PALETTE,
    SCREEN,
    _alpha,
    _differs,
    _lzw,
    _paletted,
    _png,
    _spec,
    check_gif,
    check_webp,
    timeline,
)

RED, BLUE, GREEN, WHITE = 1, 2, 3, 4
"""Palette indices of :data:`PALETTE`."""

WEBP_ALPHA_ROUNDING = 2
"""libwebp's animation encoder may store an edge's alpha a level or two off
(254 as 255) in a frame's rectangle; a drawing error is 255 levels off."""


@dataclass(frozen=True)
class Drawn:
    """One frame: its palette picture, where it goes, its disposal and
    transparency index, and whether it has a graphic control at all."""

    image: Image.Image
    position: tuple[int, int] = (0, 0)
    disposal: int = 1
    transparency: int | None = None
    control: bool = True


@dataclass(frozen=True)
class Gif:
    """A GIF to write: its frames, and the background index its screen names (with a global table)."""

    frames: Sequence[Drawn]
    background: int | None = None


def write(gif: Gif) -> bytes:
    """``gif`` block by block, each frame with a local 256-colour table."""
    flags, table = (0x87, bytes(PALETTE)) if gif.background is not None else (0, b"")
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", *SCREEN, flags, gif.background or 0, 0) + table)
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for frame in gif.frames:
        if frame.control:
            packed = (frame.disposal << 2) | (frame.transparency is not None)
            out += b"!\xf9\x04" + struct.pack("<BHBB", packed, DELAY, frame.transparency or 0, 0)
        out += b"," + struct.pack("<HHHHB", *frame.position, *frame.image.size, 0x87) + bytes(PALETTE)
        out += _lzw(frame.image)
    return bytes(out + b";")


def _browsers_disposal(frame: Drawn) -> int:
    """What browsers make of a frame's disposal: 4 is 3, 5-7 are 0, and 0 without a graphic control."""
    if not frame.control or frame.disposal > 4:
        return 0
    return 3 if frame.disposal == 4 else frame.disposal


def browser_frames(gif: Gif) -> list[tuple[int, Image.Image]]:
    """Each frame as browsers show it (RGBA, the screen's size), with the time (ms) it starts."""
    width, height = SCREEN
    canvas = [[(0, 0, 0, 0)] * width for _ in range(height)]
    shown: list[tuple[int, Image.Image]] = []
    start = 0
    for frame in gif.frames:
        saved = [row[:] for row in canvas]
        left, top = frame.position
        disposal = _browsers_disposal(frame)
        transparency = frame.transparency if frame.control else None
        for y in range(frame.image.height):
            for x in range(frame.image.width):
                index = frame.image.getpixel((x, y))
                assert isinstance(index, int)
                if index != transparency and left + x < width and top + y < height:
                    canvas[top + y][left + x] = (*PALETTE[3 * index : 3 * index + 3], 255)  # type: ignore[assignment]
        picture = Image.new("RGBA", SCREEN)
        picture.putdata([pixel for row in canvas for pixel in row])
        shown.append((start, picture))
        start += DELAY * 10 if frame.control else 0
        right, bottom = left + frame.image.width, top + frame.image.height
        if disposal == 2:
            for y in range(top, min(bottom, height)):
                canvas[y][left:right] = [(0, 0, 0, 0)] * (min(right, width) - left)
        elif disposal == 3:
            canvas = saved
    return shown


def _square(index: int, size: int = 16) -> Image.Image:
    return _paletted((size, size), index)


SOURCES: dict[str, Gif] = {
    "still, smaller than the screen": Gif([Drawn(_square(RED, 20), (10, 8))]),
    "smaller first frame, then squares": Gif(
        [Drawn(_square(RED, 20), (0, 0)), Drawn(_square(BLUE), (40, 24)), Drawn(_square(GREEN), (20, 10))]
    ),
    "opaque screen cleared, then squares": Gif(
        [
            Drawn(_paletted(SCREEN, BLUE), disposal=2),
            Drawn(_square(RED), (4, 16), disposal=2),
            Drawn(_square(RED), (30, 16)),
        ]
    ),
    "moving square, disposal 2, no transparency": Gif(
        [Drawn(_square(RED), (4 + 12 * step, 16), disposal=2) for step in range(4)]
    ),
    "first frame of disposal 3": Gif(
        [Drawn(_paletted(SCREEN, BLUE), disposal=3), Drawn(_square(RED), (4, 4)), Drawn(_square(GREEN), (40, 24))]
    ),
    "opaque start, then a clear-keyed frame cleared": Gif(
        [
            Drawn(_paletted(SCREEN, BLUE), disposal=2),
            Drawn(_paletted(SCREEN, RED, ((8, 8, 40, 40), CLEAR)), disposal=2, transparency=CLEAR),
            Drawn(_square(GREEN), (44, 4)),
        ]
    ),
    "keyed first frame, unkeyed frame cleared": Gif(
        [
            Drawn(_paletted(SCREEN, WHITE, ((0, 0, 16, 48), CLEAR)), transparency=CLEAR),
            Drawn(_square(RED), (24, 16), disposal=2),
            Drawn(_square(BLUE), (44, 4), transparency=CLEAR),
        ]
    ),
    "first frame of disposal 4": Gif(
        [Drawn(_paletted(SCREEN, BLUE), disposal=4), Drawn(_square(RED), (4, 4)), Drawn(_square(GREEN), (40, 24))]
    ),
    "disposal 4 puts back, 5 leaves": Gif(
        [
            Drawn(_paletted(SCREEN, BLUE)),
            Drawn(_square(RED), (4, 4), disposal=4),
            Drawn(_square(GREEN), (40, 24), disposal=5),
            Drawn(_square(WHITE), (20, 20)),
        ]
    ),
    "disposal 0 after disposal 2": Gif(
        [
            Drawn(_paletted(SCREEN, RED), disposal=2, transparency=CLEAR),
            Drawn(_square(GREEN), (8, 8), disposal=0, transparency=CLEAR),
            Drawn(_square(BLUE), (40, 24), transparency=CLEAR),
        ]
    ),
    "no graphic control after disposal 2": Gif(
        [
            Drawn(_paletted(SCREEN, RED), disposal=2, transparency=CLEAR),
            Drawn(_square(GREEN), (8, 8), control=False),
            Drawn(_square(BLUE), (40, 24), transparency=CLEAR),
        ]
    ),
    "background colour named, first frame smaller": Gif(
        [Drawn(_square(RED, 24), (20, 12), disposal=2), Drawn(_square(BLUE), (4, 4))], background=GREEN
    ),
    "frame reaching past the screen": Gif(
        [Drawn(_paletted(SCREEN, BLUE), disposal=2), Drawn(_square(RED, 24), (52, 36))]
    ),
}


def _starts_once(frames: list[tuple[int, Image.Image]]) -> list[tuple[int, Image.Image]]:
    """``frames`` without those of no duration (a later frame starts at the same time)."""
    return [
        (start, image)
        for index, (start, image) in enumerate(frames)
        if index + 1 == len(frames) or frames[index + 1][0] != start
    ]


def expected_alphas(gif: Gif, options: dict[str, object]) -> list[tuple[int, Image.Image]]:
    """The alpha the engine gives each reference frame as a still PNG with the same geometry."""
    spec = _spec("png", options)
    return [
        (start, _alpha(Image.open(io.BytesIO(render(_png(frame), spec).data))))
        for start, frame in _starts_once(browser_frames(gif))
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_pillow_alone_shows_these_otherwise(source: str) -> None:
    """Guard: each source is one where Pillow's own frames are not what browsers show."""
    gif = SOURCES[source]
    pillow = timeline(write(gif))
    browser = browser_frames(gif)
    assert len(pillow) == len(browser)
    assert any(
        seen.size != SCREEN or ImageChops.difference(seen, wanted).getbbox(alpha_only=False) is not None
        for (_, seen), (_, wanted) in zip(pillow, browser, strict=True)
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", SOURCES)
def test_animated_webp_shows_what_browsers_show(source: str, mode: str) -> None:
    gif = SOURCES[source]
    expected = expected_alphas(gif, MODES[mode])
    check_webp(render(write(gif), _spec("webp", MODES[mode])).data, expected, tolerance=WEBP_ALPHA_ROUNDING)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", SOURCES)
def test_animated_gif_shows_what_browsers_show(source: str, mode: str) -> None:
    gif = SOURCES[source]
    check_gif(render(write(gif), _spec("gif", MODES[mode])).data, expected_alphas(gif, MODES[mode]))


@pytest.mark.parametrize("source", SOURCES)
def test_png_shows_the_first_frame_as_browsers_do(source: str) -> None:
    gif = SOURCES[source]
    output = Image.open(io.BytesIO(render(write(gif), _spec("png", MODES["fit same size"])).data)).convert("RGBA")
    _, first = browser_frames(gif)[0]
    assert _differs(output.getchannel("A"), first.getchannel("A")) is None
    clear = first.getchannel("A").point(lambda alpha: 255 if alpha else 0)
    assert ImageChops.multiply(ImageChops.difference(output, first).convert("L"), clear).getextrema()[1] == 0


@pytest.mark.parametrize("source", SOURCES)
def test_avif_keeps_the_first_frames_alpha(source: str) -> None:
    gif = SOURCES[source]
    output = Image.open(io.BytesIO(render(write(gif), _spec("avif", MODES["fit same size"])).data)).convert("RGBA")
    _, first = browser_frames(gif)[0]
    assert ImageChops.difference(output.getchannel("A"), first.getchannel("A")).getextrema()[1] <= 8


JPEG_REACH = 9
"""Pixels this far (a filter size) from an opaque one are checked: JPEG smears edges."""

JPEG_ERROR = 24
"""Largest difference from the background JPEG gives a flat area (black is 100 and more away)."""

CLEAR_FIRST_FRAMES = [
    name for name, gif in SOURCES.items() if browser_frames(gif)[0][1].getchannel("A").getextrema()[0] == 0
]
"""The sources whose first frame (what a JPEG shows) has clear areas."""


@pytest.mark.parametrize("background", [None, "336699"])
@pytest.mark.parametrize("source", CLEAR_FIRST_FRAMES)
def test_jpeg_shows_the_background_where_the_canvas_is_clear(source: str, background: str | None) -> None:
    gif = SOURCES[source]
    options: dict[str, object] = {"size": SCREEN} | ({"background": background} if background else {})
    output = Image.open(io.BytesIO(render(write(gif), _spec("jpg", options)).data)).convert("RGB")
    _, first = browser_frames(gif)[0]
    clear = (
        first.getchannel("A").point(lambda alpha: 255 if alpha == 0 else 0).filter(ImageFilter.MinFilter(JPEG_REACH))
    )
    assert clear.getbbox() is not None, "the first frame has a clear area away from its edges"
    colour = Image.new("RGB", SCREEN, f"#{background or 'ffffff'}")
    off = ImageChops.difference(output, colour).convert("L").point(lambda value: 255 if value > JPEG_ERROR else 0)
    assert ImageChops.multiply(off, clear).getbbox() is None, "clear must show the background, never black"


@pytest.mark.parametrize("source", SOURCES)
def test_each_frame_lasts_what_pillow_says(source: str) -> None:
    """The drawn frames keep the durations Pillow reports (0 for a frame without a graphic control)."""
    data = write(SOURCES[source])
    layout = scan(data, 100)
    canvas = Image.open(io.BytesIO(data)).size
    assert needs_compositing(layout, canvas, layout.frames)
    drawn = [duration for _image, duration in composite(data, layout, canvas, layout.frames)]
    pillow = Image.open(io.BytesIO(data))
    said = []
    for index in range(layout.frames):
        pillow.seek(index)
        said.append(pillow.info.get("duration", 0))
    assert drawn == said
