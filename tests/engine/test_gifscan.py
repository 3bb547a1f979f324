"""The GIF block walk: frames and canvas without decoding, in bounded work."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from shiftmedia.engine.gifscan import GifLayout, is_gif, scan, sub_block_budget
from shiftmedia.errors import InvalidImage, LimitExceeded


def _pillow_frames(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as image:
        return int(getattr(image, "n_frames", 1))


def _counted(layout: GifLayout) -> tuple[int, tuple[int, int]]:
    return layout.frames, layout.canvas


def test_counts_what_pillow_counts(samples) -> None:
    animated = samples.animated_gif([(255, 0, 0, 255), (0, 255, 0, 0), (0, 0, 255, 255)], [10, 20, 30])
    still = samples.encode(Image.new("RGB", (7, 5)), "GIF")
    assert _counted(scan(animated, 100)) == (3, (40, 30)) and _pillow_frames(animated) == 3
    assert _counted(scan(still, 100)) == (1, (7, 5)) and _pillow_frames(still) == 1


@pytest.mark.parametrize("name", ["gif_animated_earth_44f.gif", "gif_animated_trns_30f.gif"])
def test_counts_the_corpus_animations(corpus: Path, name: str) -> None:
    data = (corpus / name).read_bytes()
    assert scan(data, 1000).frames == _pillow_frames(data)


def test_the_canvas_grows_to_hold_every_frame(samples) -> None:
    data = samples.block_gif((10, 10), [(0, 0, 10, 10), (30, 5, 20, 4), (2, 40, 3, 3)])
    assert _counted(scan(data, 100)) == (3, (50, 43))


def test_stops_once_past_the_limit(samples) -> None:
    data = samples.block_gif((1, 1), [(0, 0, 1, 1)] * 5000)
    assert scan(data, 5000).frames == 5000
    started = time.perf_counter()
    assert scan(data, 10).frames == 11
    assert time.perf_counter() - started < 0.01


def test_a_byte_that_starts_no_block_ends_the_walk(samples) -> None:
    data = samples.block_gif((4, 4), [(0, 0, 4, 4)] * 3)
    frames = data[data.index(b"!\xf9") : -1]
    assert scan(data[:-1] + b"\x00junk" + frames + b";", 100).frames == 3


def test_a_frame_cut_short_still_counts(samples) -> None:
    data = samples.block_gif((64, 64), [(0, 0, 64, 64)] * 2)
    assert scan(data[:-5], 100).frames == 2


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00" + b"junk" * 1000,
        b"GIF89a",
        b"\x89PNG",
    ],
)
def test_no_frame_is_invalid(data: bytes) -> None:
    with pytest.raises(InvalidImage):
        scan(data, 100)


def test_a_comment_in_one_byte_sub_blocks_is_refused_quickly(samples) -> None:
    # 1M sub-blocks: Pillow's own header parse collects each into a list (22 s and 2.2 GiB at 50 MB).
    data = samples.block_gif((1, 1), [(0, 0, 1, 1)], comment_sub_blocks=1_000_000)
    started = time.perf_counter()
    with pytest.raises(LimitExceeded, match="sub-blocks"):
        scan(data, 1000)
    assert time.perf_counter() - started < 0.5


def test_an_encoder_s_sub_blocks_fit_the_budget(samples) -> None:
    noise = Image.effect_noise((1000, 1000), 100).convert("P")
    data = samples.encode(noise, "GIF", save_all=True, append_images=[noise.transpose(Image.Transpose.ROTATE_90)])
    assert len(data) > 1_000_000 and scan(data, 1).frames == 2
    assert sub_block_budget(len(data), 1) > len(data) // 256 + 2 * 4


def test_signature() -> None:
    assert is_gif(b"GIF87a...") and is_gif(b"GIF89a...")
    assert not is_gif(b"GIF90a...") and not is_gif(b"\xff\xd8\xff")


def test_notes_each_frames_box_and_graphic_control(samples) -> None:
    data = samples.block_gif((40, 30), [(0, 0, 40, 30), (5, 6, 10, 12)], delay=7)
    second = data.index(b"!\xf9", data.index(b"!\xf9") + 1)
    controlled = (
        data[: second + 3] + bytes([(2 << 2) | 1]) + data[second + 4 : second + 6] + b"\x05" + data[second + 7 :]
    )
    layout = scan(controlled, 100)
    assert [(frame.box, frame.disposal, frame.transparency, frame.duration) for frame in layout.blocks] == [
        ((0, 0, 40, 30), 1, None, 70),
        ((5, 6, 10, 12), 2, 5, 70),
    ]
    assert layout.header_end == 13 + 12
    for frame in layout.blocks:
        assert controlled[frame.start] == 0x2C and controlled[frame.end - 1] == 0


def test_a_frame_without_graphic_control_has_none(samples) -> None:
    data = samples.block_gif((8, 8), [(0, 0, 8, 8)] * 2)
    first = data.index(b"!\xf9")
    bare = data[:first] + data[first + 8 :]
    assert [(frame.disposal, frame.transparency, frame.duration) for frame in scan(bare, 10).blocks] == [
        (0, None, 0),
        (1, None, 40),
    ]


def test_a_frame_cut_short_ends_with_the_data(samples) -> None:
    data = samples.block_gif((64, 64), [(0, 0, 64, 64)] * 2)
    assert scan(data[:-5], 100).blocks[-1].end == len(data) - 5
