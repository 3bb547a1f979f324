"""A HEIC upload through the storage façade: stored as ``.heic`` (image/heic), resized like any photo."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from shiftmedia.backends.base import content_type_for
from shiftmedia.errors import UnsupportedImage
from shiftmedia.storage import Storage


def test_a_heic_is_stored_as_heic_and_resized(storage: Storage, fixtures: Path, media_root: Path) -> None:
    source = fixtures / "heic_iphone_xs_p3.heic"
    media_id = storage.put(source.read_bytes(), filename="IMG_0042.HEIC")
    key = storage.original_key(media_id)
    assert key.endswith("/img_0042.heic")
    assert (media_root / key).read_bytes() == source.read_bytes()
    assert content_type_for(key) == "image/heic"
    for fmt, pillow_format in (("webp", "WEBP"), ("jpg", "JPEG"), ("avif", "AVIF")):
        made = storage.create_resize(storage.resize_key(media_id, (400, 300), mode="fill", format=fmt))
        with Image.open(io.BytesIO((media_root / made.key).read_bytes())) as image:
            assert (image.format, image.size) == (pillow_format, (400, 300))


def test_the_extension_follows_the_content(storage: Storage, fixtures: Path) -> None:
    media_id = storage.put((fixtures / "heic_iphone_xs_p3.heic").read_bytes(), filename="photo.jpg")
    assert storage.original_key(media_id).endswith("/photo.heic")


def test_without_the_extra_the_upload_is_refused_saying_so(
    storage: Storage, fixtures: Path, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    with pytest.raises(UnsupportedImage, match=r"install shiftmedia\[heic\]"):
        storage.put(fixtures / "heic_iphone_xs_p3.heic")
    assert not media_root.exists() or not any(path.is_file() for path in media_root.rglob("*"))
