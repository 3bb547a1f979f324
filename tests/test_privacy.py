"""GPS removed from originals, losslessly: generated files in each format, the corpus's phone photos,
and mutated files that must never raise."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.privacy import strip_gps, strippable
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="52,13.125N"/></x:xmpmeta>'
FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


def with_gps(ext: str) -> bytes:
    image = Image.linear_gradient("L").convert("RGB").resize((64, 48))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Maker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 13.0, 7.5), 3: "E", 4: (13.0, 24.0, 1.5), 29: "2026:12:02"})
    out = io.BytesIO()
    extra = {"xmp": XMP} if ext in ("jpg", "webp") else {}
    image.save(out, FORMATS[ext], exif=exif.tobytes(), **extra)
    return out.getvalue()


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_gps_goes_everything_else_stays(ext: str) -> None:
    data = with_gps(ext)
    stripped = strip_gps(data, ext)
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(stripped))
    assert dict(before.getexif().get_ifd(0x8825)) and not dict(after.getexif().get_ifd(0x8825))
    assert after.getexif()[0x0112] == 6 and after.getexif()[0x010F] == "Maker"
    assert before.tobytes() == after.tobytes() and before.size == after.size
    assert b"GPSLatitude" not in stripped and b"2026:12:02" not in stripped
    assert strip_gps(stripped, ext) == stripped


def test_a_file_without_gps_is_unchanged() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    assert strip_gps(out.getvalue(), "jpg") == out.getvalue()
    assert not strippable("tiff") and strip_gps(b"II*\x00junk", "tiff") == b"II*\x00junk"


def test_camera_photos_of_the_corpus(corpus: Path) -> None:
    found = 0
    for path in sorted(corpus.glob("cam_*.jpg")):
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            if not dict(image.getexif().get_ifd(0x8825)):
                continue
        found += 1
        stripped = strip_gps(data, "jpg")
        with Image.open(io.BytesIO(stripped)) as image:
            assert not dict(image.getexif().get_ifd(0x8825)), path.name
            assert image.size == Image.open(io.BytesIO(data)).size
        assert stripped[main_scan(stripped) :] == data[main_scan(data) :], f"{path.name}: the scan data changed"
    assert found >= 3


def main_scan(data: bytes) -> int:
    """Where the main image's start-of-scan marker is, walking the segments (not a thumbnail's)."""
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return pos


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_mutations_never_raise(ext: str) -> None:
    data = with_gps(ext)
    rng = random.Random(ext)
    for _ in range(400):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        cut = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
        for sample in (bytes(mutated), cut):
            assert isinstance(strip_gps(sample, ext), bytes)


@pytest.mark.parametrize("strip", [True, False])
def test_put_strips_gps_when_asked(tmp_path: Path, strip: bool) -> None:
    storage = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS, strip_gps=strip)
    media_id = storage.put(with_gps("jpg"), filename="phone.jpg")
    stored = (tmp_path / "media" / storage.original_key(media_id)).read_bytes()
    with Image.open(io.BytesIO(stored)) as image:
        assert bool(dict(image.getexif().get_ifd(0x8825))) is not strip
        assert image.getexif()[0x0112] == 6


def test_the_setting_reaches_storage(tmp_path: Path) -> None:
    settings = Settings.from_values(
        {"SHIFTMEDIA_LOCAL_ROOT": str(tmp_path), "SHIFTMEDIA_SECRET_KEYS": SECRET_KEYS[0], "SHIFTMEDIA_STRIP_GPS": "1"}
    )
    assert Storage.from_settings(settings).strip_gps
