"""Video originals through every door: Storage.put, the CLI, the JSON API; their limits and frame times.

The engine's side (detection, limits from the header, seeking, colour) is
tests/engine/test_video*.py; a browser playing one is tests/test_e2e_video.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.cli import main
from shiftmedia.engine import Limits
from shiftmedia.errors import InvalidImage, InvalidSpec, LimitExceeded
from shiftmedia.spec import ResizeSpec
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app

from .conftest import PUBLIC_URL, SECRET_KEYS
from .engine.videoclips import encode, flat, textured

COLOURS = ((200, 30, 30), (30, 200, 30), (30, 30, 200))


@pytest.fixture(scope="module")
def clip() -> bytes:
    """Three seconds at 10 fps, one colour a second, a keyframe every second."""
    return encode(lambda index: textured((320, 240), COLOURS[index // 10], index), count=30, fps=10, gop=10)


def centre(data: bytes) -> tuple[int, ...]:
    """The colour at the middle of the top-right quarter, where the clip's frames carry their colour."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        return tuple(rgb.getpixel((rgb.width * 3 // 4, rgb.height // 4)))  # type: ignore[arg-type]


def near(colour: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def test_put_stores_a_video_and_its_resizes_are_frames(tmp_path: Path, clip: bytes) -> None:
    storage = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS)
    media_id = storage.put(clip, "holiday.MP4")
    assert storage.original_key(media_id).endswith("/holiday.mp4")
    facts = storage.info(media_id)
    assert (facts.width, facts.height, facts.format, facts.frames, facts.duration, facts.fps) == (
        320,
        240,
        "mp4",
        30,
        3.0,
        10.0,
    )
    second = storage.create_resize(storage.resize_key(media_id, "160x120", format="png", time=1.5))
    assert "-t1.5-" in second.key and (second.width, second.height) == (160, 120)
    assert near(centre(second.data), COLOURS[1])
    third = storage.create_resize(storage.resize_key(media_id, "80x80", mode="fill", format="jpg", time=2.5))
    assert near(centre(third.data), COLOURS[2])
    poster = storage.create_resize(storage.resize_key(media_id, "160x0", format="webp"))
    assert poster.height == 120 and storage.create_resize(poster.key).data == poster.data
    with pytest.raises(InvalidSpec):
        storage.create_resize(storage.resize_key(media_id, "160x0", time=9))


def test_a_frame_time_on_a_photo_is_refused(storage: Storage, fixtures: Path) -> None:
    media_id = storage.put(fixtures / "exif_orient_6.jpg")
    with pytest.raises(InvalidSpec, match="video"):
        storage.create_resize(storage.resize_key(media_id, "100x100", time=1))


def test_a_video_may_be_larger_than_a_photo(tmp_path: Path, clip: bytes) -> None:
    limits = Limits(max_input_bytes=1000, max_video_bytes=len(clip))
    storage = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS, limits=limits)
    assert storage.put(io.BytesIO(clip))
    with pytest.raises(LimitExceeded, match="1000 bytes"):
        storage.put(io.BytesIO(b"\xff\xd8" + bytes(5000)))
    small = Storage(
        LocalBackend(tmp_path / "small", PUBLIC_URL),
        SECRET_KEYS,
        limits=Limits(max_input_bytes=1000, max_video_bytes=len(clip) - 1),
    )
    with pytest.raises(LimitExceeded, match=str(len(clip) - 1)):
        small.put(io.BytesIO(clip))
    assert not (tmp_path / "small").exists() or not any((tmp_path / "small").rglob("*.mp4"))


def test_a_truncated_video_is_refused_and_nothing_stored(tmp_path: Path, clip: bytes) -> None:
    storage = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS)
    with pytest.raises(InvalidImage):
        storage.put(clip[: len(clip) // 2], "cut.mp4")
    assert not any(path.is_file() for path in (tmp_path / "media").rglob("*"))


def test_the_cli_and_the_api_take_a_frame_time(tmp_path: Path, clip: bytes) -> None:
    root = tmp_path / "media"
    env = {
        "SHIFTMEDIA_LOCAL_ROOT": str(root),
        "SHIFTMEDIA_SECRET_KEYS": SECRET_KEYS[0],
        "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
        "SHIFTMEDIA_CONFIG": "",
    }
    (tmp_path / "clip.webm").write_bytes(encode([flat((64, 48), COLOURS[0])] * 10, codec="vp9", container="webm"))
    put = json.loads(CliRunner().invoke(main, ["put", str(tmp_path / "clip.webm"), "--json"], env=env).output)
    url = json.loads(CliRunner().invoke(main, ["url", put["id"], "32x24", "--time", "0.5", "--json"], env=env).output)
    assert "-t0.5-" in url["key"]
    made = json.loads(CliRunner().invoke(main, ["resize", url["key"], "--json"], env=env).output)
    assert (made["width"], made["height"]) == (32, 24)
    refused = CliRunner().invoke(main, ["url", put["id"], "32x24", "--time", "0"], env=env)
    assert refused.exit_code == 2
    converted = CliRunner().invoke(
        main, ["convert", str(tmp_path / "clip.webm"), str(tmp_path / "poster.png"), "--size", "16x12"], env=env
    )
    assert converted.exit_code == 0 and Image.open(tmp_path / "poster.png").size == (16, 12)
    app = create_app({**env, "SHIFTMEDIA_API_TOKENS": "api-token-0123456789"})
    signed = app.test_client().post(
        "/api/v1/urls",
        json={"urls": [{"id": put["id"], "size": "32x24", "time": 0.5, "format": "png"}]},
        headers={"Authorization": "Bearer api-token-0123456789"},
    )
    assert signed.status_code == 200, signed.data
    assert "-t0.5-" in signed.get_json()["urls"][0]
    assert ResizeSpec.create("32x24", time=0.5).name() == "32x24-fit-80-noupscale-t0.5.webp"
