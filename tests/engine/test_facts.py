"""Media facts: what ``<original>.info.json`` says of every kind of original, and reading it back."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import blurhash
import pytest
from PIL import Image

from shiftmedia.engine import Limits, probe
from shiftmedia.engine.facts import MediaFacts, media_facts
from shiftmedia.errors import InvalidImage, LimitExceeded

from .conftest import Samples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

RED_JPEG = Samples.encode(Image.new("RGB", (120, 80), (255, 0, 0)), "JPEG", quality=95)

KEYS = [
    "width",
    "height",
    "format",
    "bytes",
    "frames",
    "duration",
    "fps",
    "has_alpha",
    "orientation",
    "dominant_color",
    "blurhash",
]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def close(pixel: Sequence[int], expected: Sequence[int], levels: int) -> bool:
    return all(abs(got - want) <= levels for got, want in zip(pixel, expected, strict=True))


def near(colour: str, expected: tuple[int, int, int], levels: int = 3) -> bool:
    return close(rgb(colour), expected, levels)


def oriented(pillow_format: str, orientation: int) -> bytes:
    """A 60x40 picture stored for ``orientation`` in ``pillow_format`` (HEIF through pillow-heif)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = Samples.stored(Samples.quadrants((60, 40)), orientation)
    if pillow_format != "HEIF":
        return Samples.encode(stored, pillow_format, exif=exif.tobytes())
    pillow_heif = pytest.importorskip("pillow_heif")
    buffer = io.BytesIO()
    pillow_heif.from_pillow(stored).save(buffer, exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def browser_seconds(data: bytes) -> float:
    """How long Pillow says the animation ``data`` plays, frames of 10 ms or less counted as 100 ms."""
    image = Image.open(io.BytesIO(data))
    total = 0
    for index in range(image.n_frames):
        image.seek(index)
        image.load()
        duration = image.info["duration"]
        total += 100 if duration <= 10 else duration
    return total / 1000


def animated_webp(colours: list[tuple[int, int, int, int]], durations: list[int]) -> bytes:
    frames = [Image.new("RGBA", (40, 30), colour) for colour in colours]
    return Samples.encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=durations, lossless=True)


def test_photo() -> None:
    data = fixture("jpeg_progressive_1280x960.jpg")
    facts = media_facts(data)
    assert (facts.width, facts.height, facts.format, facts.bytes) == (1280, 960, "jpg", len(data))
    assert (facts.frames, facts.duration, facts.fps, facts.has_alpha, facts.orientation) == (1, None, None, False, 1)


def test_orientation_6_is_upright_and_stored() -> None:
    facts = media_facts(fixture("exif_orient_6.jpg"))
    assert (facts.width, facts.height, facts.orientation) == (1800, 1200, 6)


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF"])
@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_orientation_as_the_file_stores_it(pillow_format: str, orientation: int) -> None:
    """Also where the reader turns the pixels itself (TIFF as it decodes, pillow-heif as it opens)."""
    facts = media_facts(oriented(pillow_format, orientation))
    assert (facts.width, facts.height, facts.orientation) == (60, 40, orientation)
    upright = blurhash.decode(media_facts(oriented(pillow_format, 1)).blurhash, 4, 3)
    turned = blurhash.decode(facts.blurhash, 4, 3)
    assert all(close(pixel, same, levels=16) for row, other in zip(turned, upright) for pixel, same in zip(row, other))


def test_cmyk_tiff_colour_is_not_inverted() -> None:
    """The FOGRA39 file is a flat red (C0 M100 Y100 K0), which prints as about #e30614."""
    facts = media_facts(fixture("tiff_cmyk_fogra39.tif"))
    assert (facts.width, facts.height, facts.has_alpha) == (1000, 1000, False)
    assert near(facts.dominant_color, (227, 6, 20), levels=12)


@pytest.mark.parametrize(
    "name",
    ["png_16bit_rgb_trns_pngsuite.png", "png_palette_trns.png", "png_rgba_2048x1536.png", "webp_alpha_300x300.webp"],
)
def test_transparency_is_seen(name: str) -> None:
    assert media_facts(fixture(name)).has_alpha


def test_rgba_that_is_all_opaque_has_no_alpha(samples: type[Samples]) -> None:
    image = Image.new("RGBA", (300, 200), (10, 200, 30, 255))
    assert not media_facts(samples.encode(image, "PNG")).has_alpha


@pytest.mark.parametrize("alpha", [0, 254])
def test_one_pixel_not_opaque_is_alpha(samples: type[Samples], alpha: int) -> None:
    """Averaged away in the thumbnail, found in the image itself."""
    image = Image.new("RGBA", (900, 600), (10, 200, 30, 255))
    image.putpixel((450, 300), (10, 200, 30, alpha))
    assert media_facts(samples.encode(image, "PNG")).has_alpha


def test_a_key_no_pixel_has_is_no_alpha(samples: type[Samples]) -> None:
    data = samples.encode(Image.new("L", (50, 50), 80), "PNG", transparency=200)
    assert not media_facts(data).has_alpha


def test_animated_gif() -> None:
    data = fixture("gif_animated_trns_30f.gif")
    facts = media_facts(data)
    assert (facts.width, facts.height, facts.format, facts.frames, facts.has_alpha) == (80, 80, "gif", 30, True)
    assert facts.duration == pytest.approx(browser_seconds(data))
    assert facts.fps == pytest.approx(30 / facts.duration, abs=0.001)


def test_short_gif_frames_count_as_browsers_count_them(samples: type[Samples]) -> None:
    """0 and 10 ms show for 100 ms in Chromium, Firefox and WebKit; 20 ms is 20 ms."""
    colours = [(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255, 255, 0, 255)]
    facts = media_facts(samples.animated_gif(colours, [0, 10, 20, 500]))
    assert (facts.frames, facts.duration, facts.fps) == (4, 0.72, pytest.approx(5.556))


def test_animated_webp_duration_and_later_transparency() -> None:
    """The thumbnail shows the first, opaque frame; the second has a transparent one."""
    data = animated_webp([(255, 0, 0, 255), (0, 255, 0, 0), (0, 0, 255, 255)], [5, 40, 200])
    facts = media_facts(data)
    assert (facts.format, facts.frames, facts.duration, facts.has_alpha) == ("webp", 3, 0.34, True)
    assert facts.fps == pytest.approx(3 / 0.34, abs=0.001)
    assert facts.duration == pytest.approx(browser_seconds(data))


def test_heic() -> None:
    pytest.importorskip("pillow_heif")
    facts = media_facts(fixture("heic_iphone_xs_p3.heic"))
    assert (facts.width, facts.height, facts.format, facts.frames, facts.has_alpha) == (1025, 900, "heic", 1, False)


def test_solid_red() -> None:
    facts = media_facts(RED_JPEG)
    assert near(facts.dominant_color, (254, 0, 0))
    decoded = blurhash.decode(facts.blurhash, 4, 3)
    assert all(close(pixel, (254, 0, 0), levels=6) for row in decoded for pixel in row)
    assert len(facts.blurhash) == 4 + 2 * 4 * 3


@pytest.mark.parametrize("size", [(1, 1), (1, 300), (300, 2)])
def test_a_pixel_thin_image_has_a_flat_placeholder(samples: type[Samples], size: tuple[int, int]) -> None:
    """The encoder samples each pixel at its edge; one pixel across must not read as a pattern."""
    facts = media_facts(samples.encode(Image.new("RGB", size, (0, 0, 255)), "PNG"))
    assert facts.dominant_color == "#0000ff"
    decoded = blurhash.decode(facts.blurhash, 4, 3)
    assert all(close(pixel, (0, 0, 255), levels=8) for row in decoded for pixel in row)


def test_dominant_colour_is_the_most_common_one(samples: type[Samples]) -> None:
    image = Image.new("RGB", (200, 100), (0, 160, 60))
    image.paste((250, 250, 250), (0, 0, 60, 100))
    assert near(media_facts(samples.encode(image, "PNG")).dominant_color, (0, 160, 60))


def test_transparency_shows_on_white(samples: type[Samples]) -> None:
    """Mostly clear: the colour a page sees is its white, in the colour and the placeholder alike."""
    image = Image.new("RGBA", (80, 80), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 20, 20))
    facts = media_facts(samples.encode(image, "PNG"))
    assert facts.dominant_color == "#ffffff"
    assert facts.has_alpha
    assert facts.blurhash[2:6] != blurhash.encode([[[0, 0, 0]]], 1, 1)[2:6]


def test_same_bytes_same_facts(samples: type[Samples]) -> None:
    for data in (samples.photo_jpeg(), fixture("gif_animated_trns_30f.gif"), fixture("webp_alpha_300x300.webp")):
        assert media_facts(data) == media_facts(data)


@pytest.mark.parametrize("name", ["bad_corrupt_header.jpg", "heic_corrupted.heic"])
def test_a_corrupt_file_is_refused_as_probe_refuses_it(name: str) -> None:
    with pytest.raises(InvalidImage):
        probe(fixture(name))
    with pytest.raises(InvalidImage):
        media_facts(fixture(name))


def test_truncated_and_over_limits(samples: type[Samples]) -> None:
    with pytest.raises(InvalidImage):
        media_facts(samples.truncated(samples.encode(Image.effect_noise((200, 150), 64).convert("RGB"), "PNG")))
    with pytest.raises(LimitExceeded):
        media_facts(RED_JPEG, Limits(max_pixels=1000))


def test_json_round_trip_in_a_stable_order() -> None:
    facts = media_facts(fixture("gif_animated_trns_30f.gif"))
    document = facts.to_json()
    assert list(document) == KEYS
    assert MediaFacts.from_json(json.loads(json.dumps(document))) == facts
    still = media_facts(RED_JPEG).to_json()
    assert (still["duration"], still["fps"]) == (None, None)
    assert MediaFacts.from_json(json.loads(json.dumps(still))) == media_facts(RED_JPEG)


def test_unknown_keys_are_ignored() -> None:
    facts = media_facts(RED_JPEG)
    assert MediaFacts.from_json({**facts.to_json(), "camera": "later version"}) == facts


def valid() -> dict[str, Any]:
    return media_facts(RED_JPEG).to_json()


@pytest.mark.parametrize("key", KEYS)
def test_a_missing_field_is_refused(key: str) -> None:
    document = valid()
    del document[key]
    with pytest.raises(InvalidImage, match=key):
        MediaFacts.from_json(document)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("width", "1280"),
        ("width", True),
        ("width", 1.5),
        ("width", -1),
        ("height", 0),
        ("bytes", -100),
        ("frames", None),
        ("width", 2**60),
        ("format", "exe"),
        ("format", "JPG"),
        ("format", "jpg" * 10_000),
        ("format", None),
        ("duration", "2"),
        ("duration", -1.0),
        ("duration", math.nan),
        ("duration", math.inf),
        ("fps", False),
        ("has_alpha", 1),
        ("has_alpha", "false"),
        ("orientation", 0),
        ("orientation", 9),
        ("dominant_color", "#FF0000"),
        ("dominant_color", "#ff00001"),
        ("dominant_color", "red"),
        ("dominant_color", 0xFF0000),
        ("blurhash", "L" * 100_000),
        ("blurhash", "LjDK4Gx^ROx^.Ax^jsWAtnogRib"),
        ("blurhash", "LjDK4Gx^ROx^.Ax^jsWAtnogRib\n"),
        ("blurhash", 'LjDK4Gx^ROx^.Ax^jsWAtnogRi"I'),
        ("blurhash", ["LjDK4Gx^ROx^.Ax^jsWAtnogRibI"]),
    ],
)
def test_a_wrong_value_is_refused(key: str, value: object) -> None:
    document = valid()
    document[key] = value
    with pytest.raises(InvalidImage, match=key):
        MediaFacts.from_json(document)


def test_duration_and_fps_go_together() -> None:
    with pytest.raises(InvalidImage, match="duration and fps"):
        MediaFacts.from_json({**valid(), "duration": 2.0})
    with pytest.raises(InvalidImage, match="duration and fps"):
        MediaFacts.from_json({**valid(), "fps": 25.0})
    assert MediaFacts.from_json({**valid(), "frames": 50, "duration": 2, "fps": 25}).duration == 2.0


@pytest.mark.parametrize("document", [[], "{}", None, 42])
def test_a_document_that_is_no_object_is_refused(document: object) -> None:
    with pytest.raises(InvalidImage, match="object"):
        MediaFacts.from_json(document)
