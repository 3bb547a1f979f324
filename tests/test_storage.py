"""The storage façade on local disk: put, sign, resize, delete, and bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.engine import Limits
from shiftmedia.errors import BadSignature, InvalidImage, InvalidKey, InvalidSpec, LimitExceeded, NotFound
from shiftmedia.ids import id_folder
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS, forge_signature


def stored_files(root: Path) -> list[Path]:
    """The originals and derivatives stored (media info documents are tests/test_media_info.py's)."""
    found = root.rglob("*") if root.exists() else ()
    return sorted(p for p in found if p.is_file() and not p.name.endswith(".info.json"))


def test_put_path_file_and_bytes(storage: Storage, fixtures: Path, media_root: Path) -> None:
    source = fixtures / "exif_orient_6.jpg"
    by_path = storage.put(source)
    with source.open("rb") as stream:
        by_stream = storage.put(stream, filename="My Photo.JPEG")
    by_bytes = storage.put(source.read_bytes())
    assert len({by_path, by_stream, by_bytes}) == 3
    assert storage.original_key(by_path) == f"{id_folder(by_path)}/exif_orient_6.jpg"
    assert storage.original_key(by_stream).endswith("/my-photo.jpg")
    assert storage.original_key(by_bytes).endswith("/image.jpg")
    assert (media_root / storage.original_key(by_path)).read_bytes() == source.read_bytes()
    assert storage.original_url(by_path).startswith(f"{PUBLIC_URL}/{storage.original_key(by_path)}?access=")


def test_extension_follows_content(storage: Storage, fixtures: Path) -> None:
    media_id = storage.put((fixtures / "png_palette_trns.png").read_bytes(), filename="logo.jpg")
    assert storage.original_key(media_id).endswith("/logo.png")


def test_original_name_found_by_a_fresh_storage(storage: Storage, fixtures: Path, media_root: Path) -> None:
    media_id = storage.put(fixtures / "webp_alpha_300x300.webp")
    storage.create_resize(storage.resize_key(media_id, "50x50"))
    fresh = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS)
    assert fresh.original_key(media_id).endswith("/webp_alpha_300x300.webp")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not an image at all",
        b"%PDF-1.4\n" + b"0" * 100,
    ],
)
def test_put_rejects_non_images(storage: Storage, media_root: Path, content: bytes) -> None:
    with pytest.raises(InvalidImage):
        storage.put(content, filename="x.jpg")
    assert stored_files(media_root) == []


def test_put_rejects_corrupt_and_truncated(storage: Storage, fixtures: Path, media_root: Path) -> None:
    with pytest.raises(InvalidImage):
        storage.put(fixtures / "bad_corrupt_header.jpg")
    jpeg = (fixtures / "jpeg_progressive_1280x960.jpg").read_bytes()
    png = (fixtures / "png_rgba_2048x1536.png").read_bytes()
    for truncated in (jpeg[: len(jpeg) // 2], png[: len(png) // 2]):
        with pytest.raises(InvalidImage):
            storage.put(truncated)
    assert stored_files(media_root) == []


def test_put_rejects_over_limits(media_root: Path, fixtures: Path) -> None:
    small = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS, limits=Limits(max_input_bytes=1000))
    with pytest.raises(LimitExceeded):
        small.put(fixtures / "exif_orient_6.jpg")
    few_pixels = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS, limits=Limits(max_pixels=100_000))
    with pytest.raises(LimitExceeded):
        few_pixels.put(fixtures / "exif_orient_6.jpg")
    assert stored_files(media_root) == []


def test_put_missing_file(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        storage.put(tmp_path / "nope.jpg")


@pytest.mark.parametrize(
    ("size", "options", "expected"),
    [
        ("400x300", {"mode": "fit", "format": "jpg"}, (400, 267)),
        ("400x300", {"mode": "fill", "format": "png"}, (400, 300)),
        ("400x300", {"mode": "pad", "format": "webp"}, (400, 300)),
        ("0x100", {"format": "gif"}, (150, 100)),
        ("4000x4000", {"format": "avif"}, (1800, 1200)),
        ("2400x0", {"format": "jpg", "upscale": True}, (2400, 1600)),
    ],
)
def test_create_resize(
    storage: Storage, fixtures: Path, media_root: Path, size: str, options: dict, expected: tuple[int, int]
) -> None:
    media_id = storage.put(fixtures / "exif_orient_6.jpg")
    key = storage.resize_key(media_id, size, **options)
    made = storage.create_resize(key)
    assert made.created and made.key == key
    assert (made.width, made.height) == expected
    stored = media_root / key
    with Image.open(stored) as image:
        assert image.size == expected
        assert image.format == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "avif": "AVIF"}[made.format]
    assert stored.read_bytes() == made.data
    again = storage.create_resize(storage.backend.public_url(key))
    assert not again.created and again.data == made.data and (again.width, again.height) == expected


def test_resize_url_is_under_the_public_url(storage: Storage, fixtures: Path) -> None:
    media_id = storage.put(fixtures / "png_palette_trns.png")
    url = storage.resize_url(media_id, "100x100", mode="fill", format="webp", quality=70)
    assert url.startswith(f"{PUBLIC_URL}/{id_folder(media_id)}/100x100-fill-70-noupscale-")
    assert url.endswith(".webp")
    assert storage.create_resize(url).format == "webp"


def test_rejects_tampered_and_unsigned(storage: Storage, fixtures: Path, media_root: Path) -> None:
    media_id = storage.put(fixtures / "png_palette_trns.png")
    key = storage.resize_key(media_id, "100x100", format="png")
    folder, name = key.rsplit("/", 1)
    with pytest.raises(BadSignature):
        storage.create_resize(f"{folder}/{name.replace('100x100', '101x100')}")
    with pytest.raises(BadSignature):
        storage.create_resize(forge_signature(key))
    with pytest.raises(InvalidSpec):
        storage.create_resize(f"{folder}/100x100-fit-0-noupscale.png")
    with pytest.raises(InvalidSpec):
        storage.create_resize(storage.original_key(media_id))
    other = storage.put(fixtures / "png_palette_trns.png")
    with pytest.raises(BadSignature):
        storage.create_resize(f"{id_folder(other)}/{name}")
    assert len(stored_files(media_root)) == 2


def test_retired_key_stops_working(media_root: Path, fixtures: Path) -> None:
    old = Storage(LocalBackend(media_root, PUBLIC_URL), ["old-key-0123456789abcdef"])
    media_id = old.put(fixtures / "png_palette_trns.png")
    key = old.resize_key(media_id, "64x64", format="png")
    rotated = Storage(LocalBackend(media_root, PUBLIC_URL), ["new-key-0123456789abcdef", "old-key-0123456789abcdef"])
    assert rotated.verify(key)[0] == key
    retired = Storage(LocalBackend(media_root, PUBLIC_URL), ["new-key-0123456789abcdef"])
    with pytest.raises(BadSignature):
        retired.create_resize(key)


def test_unknown_id(storage: Storage) -> None:
    unknown = "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f"
    with pytest.raises(NotFound):
        storage.create_resize(storage.resize_key(unknown, "10x10"))
    with pytest.raises(NotFound):
        storage.original_url(unknown)
    with pytest.raises(NotFound):
        storage.delete(unknown)
    with pytest.raises(InvalidKey):
        storage.resize_key("../../etc", "10x10")


def test_corrupt_original_fails_at_resize_and_stores_nothing(
    storage: Storage, media_root: Path, fixtures: Path
) -> None:
    media_id = storage.put(fixtures / "jpeg_progressive_1280x960.jpg")
    original = storage.original_key(media_id)
    data = (media_root / original).read_bytes()
    (media_root / original).write_bytes(data[: len(data) // 3])
    with pytest.raises(InvalidImage):
        storage.create_resize(storage.resize_key(media_id, "100x100"))
    assert stored_files(media_root) == [media_root / original]


def test_output_side_limit(media_root: Path, fixtures: Path) -> None:
    storage = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS, limits=Limits(max_output_side=500))
    media_id = storage.put(fixtures / "png_palette_trns.png")
    with pytest.raises(LimitExceeded):
        storage.resize_key(media_id, "501x10")
    big = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS)
    with pytest.raises(LimitExceeded):
        storage.create_resize(big.resize_key(media_id, "501x10"))


def test_delete_removes_original_and_derivatives(storage: Storage, fixtures: Path, media_root: Path) -> None:
    keep = storage.put(fixtures / "png_palette_trns.png")
    media_id = storage.put(fixtures / "png_palette_trns.png")
    for size in ("10x10", "20x20", "30x30"):
        storage.create_resize(storage.resize_key(media_id, size))
    assert storage.delete(media_id) == 5  # the original, its media info and 3 derivatives
    assert not any(str(p).find(id_folder(media_id)) >= 0 for p in stored_files(media_root))
    assert storage.original_key(keep)
    with pytest.raises(NotFound):
        storage.original_key(media_id)


def test_put_from_unnamed_stream(storage: Storage, fixtures: Path) -> None:
    media_id = storage.put(io.BytesIO((fixtures / "gif_animated_trns_30f.gif").read_bytes()))
    assert storage.original_key(media_id).endswith("/image.gif")


def test_originals_lists_each_original_once(storage: Storage, fixtures: Path, media_root: Path) -> None:
    ids = [storage.put(fixtures / name) for name in ("exif_orient_6.jpg", "png_palette_trns.png")]
    for media_id in ids:
        storage.create_resize(storage.resize_key(media_id, "20x20"))
    (media_root / ".leases").mkdir()
    (media_root / ".leases" / "stray").write_bytes(b"{}")
    listed = list(storage.originals())
    assert sorted(item.reference for item in listed) == sorted(ids)
    assert {item.info.key for item in listed} == {storage.original_key(media_id) for media_id in ids}
    assert all(item.info.size == (media_root / item.info.key).stat().st_size for item in listed)
