"""Video originals through probe: what they are, their limits, and hostile or broken files."""

from __future__ import annotations

import io
import random
import resource
import sys

import pytest
from PIL import Image

from shiftmedia.engine import Limits, probe, render
from shiftmedia.engine.video import is_video
from shiftmedia.engine.videoformat import container_format
from shiftmedia.errors import InvalidImage, InvalidSpec, LimitExceeded, ShiftMediaError, UnsupportedImage
from shiftmedia.spec import ResizeSpec

from .videoclips import encode, matroska, packets, patch_durations, textured

SIZE = (64, 48)


def clip(**options: object) -> bytes:
    """Twenty textured frames, 2 s at 10 fps."""
    return encode(lambda index: textured(SIZE, (200, 40, 40), index), count=20, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("codec", "container", "format"),
    [
        ("h264", "mp4", "mp4"),
        ("h264", "mov", "mov"),
        ("hevc", "mp4", "mp4"),
        ("hevc", "mov", "mov"),
        ("vp8", "webm", "webm"),
        ("vp9", "webm", "webm"),
        ("h264", "matroska", "mkv"),
        ("av1", "mp4", "mp4"),
        ("av1", "matroska", "mkv"),
    ],
)
def test_probe_tells_each_container_and_codec(codec: str, container: str, format: str) -> None:
    data = clip(codec=codec, container=container)
    assert container_format(data) == format
    info = probe(data)
    assert (info.format, info.width, info.height, info.mode) == (format, 64, 48, "RGB")
    assert info.duration == pytest.approx(2.0, abs=0.15)
    assert info.fps == pytest.approx(10.0, abs=0.5)
    assert info.frames == (20 if format in ("mp4", "mov") else 1)


@pytest.mark.parametrize(
    "head",
    [
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",
        b"\x00\x00\x00\x20ftypavis\x00\x00\x00\x00avisiso8mif1msf1",
        b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00isommp41",
        b"\x00\x00\x00\x14ftypjunk\x00\x00\x00\x00junk",
        b"\x1a\x45\xdf\xa3\x84\x42\x82\x81x",
        b"\xff\xd8\xff\xe0",
        b"",
    ],
)
def test_images_and_strangers_are_not_videos(head: bytes) -> None:
    assert not is_video(head + bytes(64))


def test_a_header_frame_count_absent_from_matroska_is_one() -> None:
    assert probe(clip(container="webm", codec="vp9")).frames == 1


def test_without_pyav_a_video_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    data = clip()
    monkeypatch.setitem(sys.modules, "av", None)
    for call in (lambda: probe(data), lambda: render(data, ResizeSpec.create(32))):
        with pytest.raises(UnsupportedImage, match=r"shiftmedia\[video\]"):
            call()


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(max_video_bytes=1000), "bytes"),
        (Limits(max_pixels=64 * 48 - 1), "pixels"),
        (Limits(max_duration=1), "lasts"),
        (Limits(max_fps=9), "frames per second"),
    ],
)
def test_header_limits(limits: Limits, message: str) -> None:
    data = clip()
    for call in (lambda: probe(data, limits), lambda: render(data, ResizeSpec.create(32), limits)):
        with pytest.raises(LimitExceeded, match=message):
            call()


def test_a_video_is_held_to_its_own_byte_limit_not_the_photos() -> None:
    data = clip()
    assert probe(data, Limits(max_input_bytes=100)).format == "mp4"


def test_a_ten_hour_claim_in_an_mp4_header_is_refused() -> None:
    data = patch_durations(clip(), 10 * 3600)
    with pytest.raises(LimitExceeded, match="36000.000 s"):
        probe(data)
    assert probe(data, Limits(max_duration=11 * 3600)).duration == pytest.approx(36000)


def test_a_ten_hour_claim_in_a_matroska_header_is_refused() -> None:
    data = matroska(packets(clip(codec="vp9", container="webm")), SIZE, duration_ms=10 * 3600 * 1000.0)
    with pytest.raises(LimitExceeded, match="36000.000 s"):
        probe(data)


def test_a_matroska_file_without_a_duration_is_bounded_by_its_frames() -> None:
    data = matroska(packets(clip(codec="vp9", container="webm")), SIZE)
    info = probe(data)
    assert (info.format, info.width, info.duration) == ("webm", 64, None)
    assert render(data, ResizeSpec.create(32, format="png", time=1.5)).width == 32
    assert render(data, ResizeSpec.create(32, format="png", time=1.95)).width == 32
    with pytest.raises(InvalidSpec, match="past the end of the video"):
        render(data, ResizeSpec.create(32, format="png", time=2.5))


def test_a_header_claiming_100000_by_100000_is_refused_allocating_nothing() -> None:
    """The container claims 100000×100000 and the keyframe's own header 65536×65536:
    FFmpeg is told ``max_pixels``, so no decoder allocates a frame that size."""
    frames = packets(clip(codec="vp9", container="webm"))
    keyframe = int.from_bytes(frames[0][:12], "big")
    for offset in (36, 52):  # frame_width_minus_1 and frame_height_minus_1 of a profile 0 keyframe
        keyframe |= 0xFFFF << (96 - offset - 16)
    data = matroska([keyframe.to_bytes(12, "big") + frames[0][12:], *frames[1:]], (100_000, 100_000))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for call in (lambda: probe(data), lambda: render(data, ResizeSpec.create(32))):
        with pytest.raises(LimitExceeded, match="100000x100000"):
            call()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024


@pytest.mark.parametrize(("codec", "container"), [("vp9", "webm"), ("vp8", "webm"), ("h264", "mp4"), ("av1", "mp4")])
def test_frames_over_the_pixel_limit_are_refused_as_such(codec: str, container: str) -> None:
    """Whether FFmpeg keeps the size its decoder refused (most do) or forgets it (VP9)."""
    with pytest.raises(LimitExceeded, match="64x48"):
        probe(clip(codec=codec, container=container), Limits(max_pixels=1000))


@pytest.mark.parametrize(("codec", "container"), [("h264", "mp4"), ("hevc", "mov"), ("vp9", "webm")])
@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.99])
def test_truncated_files_are_refused(codec: str, container: str, keep: float) -> None:
    data = clip(codec=codec, container=container)
    cut = data[: int(len(data) * keep)]
    for call in (lambda: probe(cut), lambda: render(cut, ResizeSpec.create(32))):
        with pytest.raises(InvalidImage, match="truncated|corrupt|moov"):
            call()


def test_a_file_cut_inside_its_header_is_refused() -> None:
    with pytest.raises(InvalidImage):
        probe(clip()[:20])


@pytest.mark.parametrize(("codec", "container"), [("h264", "mp4"), ("vp9", "webm"), ("hevc", "mov")])
def test_damaged_bytes_give_an_image_or_a_shiftmedia_error(codec: str, container: str) -> None:
    """Bytes overwritten anywhere, in the header or the frames: never one of PyAV's exceptions."""
    data = clip(codec=codec, container=container)
    chance = random.Random(f"{codec}{container}")
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(chance.randint(1, 8)):
            damaged[chance.randrange(len(data))] = chance.randrange(256)
        try:
            rendered = render(bytes(damaged), ResizeSpec.create(32, format="png"))
        except ShiftMediaError:
            continue
        assert Image.open(io.BytesIO(rendered.data)).width == 32


@pytest.mark.parametrize(("codec", "container"), [("mpeg4", "mp4"), ("mjpeg", "mov"), ("mpeg4", "matroska")])
def test_a_codec_off_the_list_is_named(codec: str, container: str) -> None:
    data = clip(codec=codec, container=container, pix_fmt="yuvj420p" if codec == "mjpeg" else "yuv420p")
    for call in (lambda: probe(data), lambda: render(data, ResizeSpec.create(32))):
        with pytest.raises(UnsupportedImage, match=f"video codec {codec} is not supported"):
            call()


def test_a_file_with_no_video_stream_is_refused() -> None:
    with pytest.raises(InvalidImage):
        probe(matroska([], SIZE, codec="A_OPUS"))


def test_a_frame_larger_than_the_header_said_is_refused() -> None:
    """A VP9 stream may change size at a keyframe: one past ``max_pixels`` is refused when it is reached."""
    small = packets(encode([textured(SIZE, (200, 0, 0))] * 5, codec="vp9", container="webm"))
    large = packets(encode([textured((640, 480), (0, 200, 0))] * 5, codec="vp9", container="webm"))
    data = matroska([*small, *large], SIZE)
    limits = Limits(max_pixels=64 * 48 * 4)
    assert probe(data, limits).width == 64
    assert render(data, ResizeSpec.create(32, time=0.2), limits).width == 32
    with pytest.raises(ShiftMediaError):
        render(data, ResizeSpec.create(32, time=0.7), limits)
    assert render(data, ResizeSpec.create(32, time=0.7)).width == 32
