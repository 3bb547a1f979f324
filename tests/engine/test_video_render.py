"""Video originals through render: the frame chosen, turned upright, in sRGB, in every mode and format."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from shiftmedia.engine import Limits, render
from shiftmedia.engine.videopixels import is_blank
from shiftmedia.errors import InvalidSpec, LimitExceeded
from shiftmedia.spec import FORMATS, LOSSY_FORMATS, ResizeSpec

from .conftest import QUADRANT_COLOURS, STORED_FOR
from .videoclips import BARS, av, bars, encode, ffmpeg, flat, textured

SIZE = (96, 64)
NUMBERED = [(40 * (index % 6), 60 + 15 * (index % 10), 250 - 12 * index) for index in range(20)]
"""The colour of each frame of :func:`numbered`: each differs from its neighbours."""


def numbered(**options: object) -> bytes:
    """Twenty frames at 10 fps, frame ``i`` tinted ``NUMBERED[i]``, a keyframe every 8."""
    return encode(lambda index: textured(SIZE, NUMBERED[index], index), count=20, gop=8, **options)  # type: ignore[arg-type]


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def tint(image: Image.Image) -> tuple[float, ...]:
    """The mean colour inside the top-right quarter, where :func:`~.videoclips.textured` shows its colour."""
    width, height = image.size
    return tuple(ImageStat.Stat(image.crop((width * 5 // 8, height // 8, width * 7 // 8, height * 3 // 8))).mean)


def frame_number(image: Image.Image) -> int:
    """Which frame of :func:`numbered` ``image`` shows: the one whose tint it is nearest."""
    seen = tint(image)
    return min(range(len(NUMBERED)), key=lambda index: sum((a - b) ** 2 for a, b in zip(seen, NUMBERED[index])))


@pytest.mark.parametrize("time", [0.3, 0.8, 1.2, 1.9])
@pytest.mark.parametrize(
    ("codec", "container"), [("h264", "mp4"), ("vp9", "webm"), ("hevc", "mov"), ("av1", "matroska")]
)
def test_the_frame_at_a_time_is_the_one_shown_then(codec: str, container: str, time: float) -> None:
    data = numbered(codec=codec, container=container)
    image = decoded(render(data, ResizeSpec.create("96x64", format="png", time=time)).data)
    assert frame_number(image) == round(time * 10)


def test_a_time_past_the_end_is_an_invalid_spec() -> None:
    data = numbered()
    assert frame_number(decoded(render(data, ResizeSpec.create(96, format="png", time=2)).data)) == 19
    with pytest.raises(InvalidSpec, match="past the end of the 2.000 s video"):
        render(data, ResizeSpec.create(96, format="png", time=2.001))


def test_a_time_given_for_an_image_is_an_invalid_spec() -> None:
    buffer = io.BytesIO()
    textured(SIZE, (0, 0, 200)).save(buffer, "PNG")
    with pytest.raises(InvalidSpec, match="video originals only"):
        render(buffer.getvalue(), ResizeSpec.create(32, time=1))


def test_keyframes_too_far_apart_for_the_budget_are_refused() -> None:
    data = encode(lambda index: textured(SIZE, NUMBERED[index], index), count=20, gop=100)
    limits = Limits(max_decode_pixels=96 * 64 * 10)
    assert render(data, ResizeSpec.create(32, time=0.8), limits).width == 32
    with pytest.raises(LimitExceeded, match="keyframes are too far apart"):
        render(data, ResizeSpec.create(32, time=1.5), limits)


@pytest.mark.parametrize("opening", [(0, 0, 0), (255, 255, 255), (30, 90, 160)])
def test_the_representative_frame_skips_a_blank_opening(opening: tuple[int, int, int]) -> None:
    """Three seconds of black, white or a flat colour card, then the picture, in a 40 s video."""
    data = encode(lambda index: flat(SIZE, opening) if index < 30 else textured(SIZE, (200, 30, 30), index), count=400)
    image = decoded(render(data, ResizeSpec.create("96x64", format="png")).data)
    assert not is_blank(av.VideoFrame.from_image(image))
    assert tint(image)[0] > 150


def test_a_blank_video_falls_back_to_its_first_frame() -> None:
    data = encode(lambda index: flat(SIZE, (0, 0, 0)), count=30)
    assert ImageStat.Stat(decoded(render(data, ResizeSpec.create(32, format="png")).data)).mean[0] < 20


def test_the_representative_frame_search_stops_where_the_budget_ends() -> None:
    data = encode(
        lambda index: flat(SIZE, (0, 0, 0)) if index < 30 else textured(SIZE, (200, 30, 30)), count=400, gop=300
    )
    limits = Limits(max_decode_pixels=96 * 64 * 12)
    assert ImageStat.Stat(decoded(render(data, ResizeSpec.create(32, format="png"), limits).data)).mean[0] < 20


def test_the_same_bytes_give_the_same_derivative() -> None:
    data = encode(lambda index: flat(SIZE, (0, 0, 0)) if index < 5 else textured(SIZE, (20, 200, 30), index), count=40)
    spec = ResizeSpec.create("48x32", mode="fill", format="webp")
    assert render(data, spec).data == render(data, spec).data


MODES: list[tuple[str, dict[str, object]]] = [
    ("48x48", {"mode": "fit"}),
    ("48x48", {"mode": "fill", "gravity": "ne"}),
    ("48x48", {"mode": "pad", "background": "00000000", "gravity": "s"}),
    ("40x0", {"mode": "crop", "rect": (10, 8, 50, 40)}),
    ("200x0", {"mode": "fit", "upscale": True}),
    ("48x48", {"mode": "fill", "gravity": (0.2, 0.8)}),
]
"""Every mode, gravity, a focal point, a rectangle, a background and upscaling."""


def modes() -> list[ResizeSpec]:
    return [ResizeSpec.create(size, format=fmt, **options) for size, options in MODES for fmt in FORMATS]  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", modes(), ids=lambda spec: spec.name())
def test_every_mode_and_format_matches_the_same_frame_as_a_photo(spec: ResizeSpec) -> None:
    """One resize path: the video's frame renders as a PNG of that frame does."""
    data = encode([textured(SIZE, (200, 40, 40))] * 3, codec="h264", pix_fmt="yuv444p")
    frame = decoded(render(data, ResizeSpec.create("96x64", format="png")).data)
    photo = io.BytesIO()
    frame.save(photo, "PNG")
    video_out, photo_out = render(data, spec), render(photo.getvalue(), spec)
    assert (video_out.width, video_out.height, video_out.format, video_out.frames) == (
        photo_out.width,
        photo_out.height,
        spec.format,
        1,
    )
    first, second = Image.open(io.BytesIO(video_out.data)), Image.open(io.BytesIO(photo_out.data))
    assert first.mode == second.mode
    if spec.format not in LOSSY_FORMATS and spec.format != "gif":
        assert ImageChops.difference(first.convert("RGBA"), second.convert("RGBA")).getbbox() is None


def quadrants(size: tuple[int, int]) -> Image.Image:
    """The engine tests' upright picture: red, green over blue, white."""
    width, height = size
    picture = Image.new("RGB", size)
    for index, colour in enumerate(QUADRANT_COLOURS):
        x, y = index % 2 * width // 2, index // 2 * height // 2
        picture.paste(colour, (x, y, x + width // 2, y + height // 2))
    return picture


def assert_upright(image: Image.Image) -> None:
    width, height = image.size
    for index, colour in enumerate(QUADRANT_COLOURS):
        x, y = (index % 2 * 2 + 1) * width // 4, (index // 2 * 2 + 1) * height // 4
        seen = tuple(ImageStat.Stat(image.crop((x - 2, y - 2, x + 2, y + 2))).mean)
        assert all(abs(a - b) < 40 for a, b in zip(seen, colour)), (index, seen)


@pytest.mark.parametrize(
    ("matrix", "orientation"),
    [
        ((-90, False, False), 6),
        ((90, False, False), 8),
        ((180, False, False), 3),
        ((0, True, False), 2),
        ((0, False, True), 4),
        ((-90, True, False), 5),
        ((90, True, False), 7),
        ((180, True, False), 4),
    ],
)
@pytest.mark.parametrize(("codec", "container"), [("hevc", "mov"), ("h264", "mp4")])
def test_the_display_matrix_turns_the_frame_upright(
    matrix: tuple[int, bool, bool], orientation: int, codec: str, container: str
) -> None:
    """A phone's portrait video is stored sideways with a -90° matrix, like an EXIF orientation 6 photo."""
    upright = quadrants((64, 96))
    transpose = STORED_FOR[orientation]
    stored = upright.transpose(transpose) if transpose is not None else upright
    data = encode([stored] * 3, codec=codec, container=container, rotation=matrix)
    image = decoded(render(data, ResizeSpec.create("64x96", format="png")).data)
    assert image.size == (64, 96)
    assert_upright(image)


@pytest.mark.parametrize("degrees", [-90, 90, 180])
def test_turns_match_debian_ffmpeg(tmp_path: Path, degrees: int) -> None:
    source = tmp_path / "turned.mp4"
    source.write_bytes(
        encode([quadrants((64, 96)).rotate(-degrees, expand=True)] * 3, rotation=(degrees, False, False))
    )
    reference = decoded(ffmpeg("-i", str(source), "-frames:v", "1", output=tmp_path / "reference.png"))
    ours = decoded(render(source.read_bytes(), ResizeSpec.create("64x96", format="png")).data)
    assert ours.size == reference.size == (64, 96)
    assert_upright(reference)
    assert_upright(ours)


@pytest.mark.parametrize("time", [0.5, 1.3])
def test_the_frame_at_a_time_is_ffmpegs(tmp_path: Path, time: float) -> None:
    source = tmp_path / "numbered.mp4"
    source.write_bytes(numbered())
    reference = decoded(ffmpeg("-ss", str(time), "-i", str(source), "-frames:v", "1", output=tmp_path / "frame.png"))
    assert frame_number(reference) == frame_number(
        decoded(render(source.read_bytes(), ResizeSpec.create(96, format="png", time=time)).data)
    )


def bar_colours(image: Image.Image) -> list[tuple[int, ...]]:
    step = image.width / len(BARS)
    return [
        tuple(
            round(v)
            for v in ImageStat.Stat(
                image.crop((round((i + 0.3) * step), 4, round((i + 0.7) * step), image.height - 4))
            ).mean
        )
        for i in range(len(BARS))
    ]


@pytest.mark.parametrize(
    ("tags", "convert", "size"),
    [
        ({"colorspace": 1, "color_range": 1}, {"dst_colorspace": "ITU709", "dst_color_range": "MPEG"}, (224, 32)),
        ({"colorspace": 6, "color_range": 1}, {"dst_colorspace": "ITU601", "dst_color_range": "MPEG"}, (224, 32)),
        ({"colorspace": 1, "color_range": 2}, {"dst_colorspace": "ITU709", "dst_color_range": "JPEG"}, (224, 32)),
        ({}, {"dst_colorspace": "ITU601", "dst_color_range": "MPEG"}, (224, 32)),
        ({}, {"dst_colorspace": "ITU709", "dst_color_range": "MPEG"}, (1288, 32)),
    ],
    ids=["bt709-limited", "bt601-limited", "bt709-full", "untagged-sd-is-bt601", "untagged-hd-is-bt709"],
)
def test_colour_bars_come_out_in_srgb(tags: dict[str, int], convert: dict[str, object], size: tuple[int, int]) -> None:
    data = encode([bars(size)] * 2, pix_fmt="yuv444p", tags=tags, convert=convert)
    image = decoded(render(data, ResizeSpec.create(size, format="png")).data)
    for seen, wanted in zip(bar_colours(image), BARS):
        assert all(abs(a - b) <= 4 for a, b in zip(seen, wanted)), (seen, wanted)


def test_the_wrong_matrix_would_be_seen() -> None:
    """BT.709 bars tagged BT.601 come out visibly wrong: the bars test can tell the matrices apart."""
    data = encode(
        [bars((224, 32))] * 2,
        pix_fmt="yuv444p",
        tags={"colorspace": 6, "color_range": 1},
        convert={"dst_colorspace": "ITU709", "dst_color_range": "MPEG"},
    )
    image = decoded(render(data, ResizeSpec.create((224, 32), format="png")).data)
    assert max(abs(a - b) for seen, wanted in zip(bar_colours(image), BARS) for a, b in zip(seen, wanted)) > 10


@pytest.mark.slow
def test_hdr_video_is_tone_mapped_to_srgb(tmp_path: Path) -> None:
    """A 10-bit HLG video in BT.2020, as phones record: not the raw signal read as sRGB.
    Slow: swscale sets up its colour management in about 1.5 s."""
    source = tmp_path / "hlg.mp4"
    arguments = ["-f", "lavfi", "-i", "smptebars=size=224x64:rate=10", "-t", "0.5", "-c:v", "libx265"]
    tagging = ["-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020"]
    data = ffmpeg(*arguments, *tagging, "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc", output=source)
    managed = decoded(render(data, ResizeSpec.create((224, 64), format="png")).data)
    untagged = source.with_name("plain.mp4")
    plain = decoded(
        render(ffmpeg(*arguments, *tagging, output=untagged), ResizeSpec.create((224, 64), format="png")).data
    )
    assert ImageChops.difference(managed, plain).getbbox() is not None
