"""Ids, their folders, key splitting and original file names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shiftmedia.backends.base import check_key
from shiftmedia.backends.s3.bucket import DERIVATIVE_MARKS
from shiftmedia.errors import InvalidKey
from shiftmedia.ids import check_id, find_key, id_folder, new_id, safe_filename, split_key
from shiftmedia.spec import looks_like_derivative


def test_new_ids_are_unique_and_sharded() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    media_id = ids.pop()
    folder = id_folder(media_id)
    assert folder.split("/") == media_id.split("-")
    assert split_key(f"{folder}/photo.jpg") == (media_id, "photo.jpg")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../../etc/passwd",
        "3F2B8C1E-9A4D-4C6B-8E2F-1A2B3C4D5E6F",
        "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6",
        "3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f",
        "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f/..",
    ],
)
def test_check_id_rejects(bad: str) -> None:
    with pytest.raises(InvalidKey):
        check_id(bad)


@pytest.mark.parametrize(
    "key",
    [
        "3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/..",
        "3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/../x.jpg",
        "3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/a/b.jpg",
        "3f2b8c1e/9a4d/4c6b/8e2f/x.jpg",
        "/3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/x.jpg",
        "3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/x y.jpg",
    ],
)
def test_split_key_rejects(key: str) -> None:
    with pytest.raises(InvalidKey):
        split_key(key)


def test_find_key_in_urls_and_paths() -> None:
    key = "3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/photo.jpg"
    assert find_key(key) == key
    assert find_key(f"/media/{key}") == key
    assert find_key(f"cdn/prefix/{key}") == key
    with pytest.raises(InvalidKey):
        find_key(f"{key}/")


@pytest.mark.parametrize(
    ("given_name", "ext", "expected"),
    [
        ("Holiday Photo.JPG", "jpg", "holiday-photo.jpg"),
        ("Çafé  Ünïcode.png", "png", "cafe-unicode.png"),
        ("照片.jpeg", "jpg", "image.jpg"),
        ("../../etc/passwd", "png", "passwd.png"),
        ("..\\..\\windows\\evil.gif", "gif", "evil.gif"),
        ("..", "jpg", "image.jpg"),
        (".hidden", "jpg", "image.jpg"),
        ("", "webp", "image.webp"),
        (None, "webp", "image.webp"),
        ("claims-png.png", "jpg", "claims-png.jpg"),
        ("400x300-fit-80-noupscale.webp", "webp", "image-400x300-fit-80-noup-scale.webp"),
        ("my-upscale-shot.jpg", "jpg", "my-up-scale-shot.jpg"),
        ("x-noupscale-y.png", "png", "x-noup-scale-y.png"),
        ("UPSCALE--upscale.JPG", "jpg", "up-scale-up-scale.jpg"),
        ("a" * 300 + ".jpg", "jpg", "a" * 80 + ".jpg"),
        ("snake_case_name.tif", "tiff", "snake_case_name.tiff"),
    ],
)
def test_safe_filename(given_name: str | None, ext: str, expected: str) -> None:
    assert safe_filename(given_name, ext) == expected


@given(st.text(max_size=300))
def test_any_name_becomes_a_safe_key(name: str) -> None:
    safe = safe_filename(name, "jpg")
    key = f"{id_folder(new_id())}/{safe}"
    assert check_key(key) == key
    assert split_key(key)[1] == safe
    assert not looks_like_derivative(safe)
    assert not any(mark in safe for mark in DERIVATIVE_MARKS), "the bucket policy would make it public"
    assert len(safe) <= 84
