"""The media endpoint and the extension: statuses, headers, embedding."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.errors import (
    AccessDenied,
    BadSignature,
    InvalidImage,
    InvalidKey,
    LimitExceeded,
    NotFound,
    StorageError,
    StorageUnavailable,
)
from shiftmedia.flask import ShiftMedia, get_storage, status_for
from shiftmedia.ids import id_folder
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS, forge_signature


def media_path(url: str) -> str:
    return "/media/" + url.removeprefix(PUBLIC_URL + "/")


@pytest.fixture
def media_id(app: Flask, fixtures: Path) -> str:
    with app.app_context():
        return get_storage().put(fixtures / "exif_orient_6.jpg")


def resize_url(app: Flask, media_id: str, size: str, **options: object) -> str:
    with app.app_context():
        return get_storage().resize_url(media_id, size, **options)


def test_miss_creates_then_serves(app: Flask, client: FlaskClient, media_id: str, media_root: Path) -> None:
    url = resize_url(app, media_id, "200x200", mode="fill", format="jpg")
    first = client.get(media_path(url))
    assert first.status_code == 200
    assert first.mimetype == "image/jpeg"
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(first.data)).size == (200, 200)
    assert (media_root / url.removeprefix(PUBLIC_URL + "/")).read_bytes() == first.data
    second = client.get(media_path(url))
    assert second.status_code == 200 and second.data == first.data
    assert second.headers["ETag"] == first.headers["ETag"]
    cached = client.get(media_path(url), headers={"If-None-Match": first.headers["ETag"]})
    assert cached.status_code == 304 and cached.data == b""
    head = client.head(media_path(url))
    assert head.status_code == 200 and head.data == b"" and head.mimetype == "image/jpeg"


def test_serves_originals(app: Flask, client: FlaskClient, media_id: str, fixtures: Path) -> None:
    with app.app_context():
        url = get_storage().original_url(media_id)
    response = client.get(media_path(url))
    assert response.status_code == 200
    assert response.data == (fixtures / "exif_orient_6.jpg").read_bytes()
    assert response.headers["Cache-Control"] == "private, max-age=3600"


def error_of(client: FlaskClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.data
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/plain"
    assert b"Traceback" not in response.data


def test_tampered_and_unsigned_are_403(app: Flask, client: FlaskClient, media_id: str, media_root: Path) -> None:
    url = media_path(resize_url(app, media_id, "200x200", format="png"))
    error_of(client, url.replace("200x200", "201x200"), 403)
    error_of(client, forge_signature(url), 403)
    assert len([p for p in media_root.rglob("*") if p.is_file() and not p.name.endswith(".info.json")]) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/media/nothing",
        "/media/../../etc/passwd",
        "/media/3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/200x200-fit-80-noupscale.webp",
        "/media/3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/0200x200-fit-80-noupscale-" + "A" * 43 + ".webp",
        "/media/3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/%2e%2e/x.jpg",
        "/media/a%00b.jpg",
    ],
)
def test_malformed_and_unknown_are_404(client: FlaskClient, path: str) -> None:
    error_of(client, path, 404)


def test_unknown_id_is_404(app: Flask, client: FlaskClient) -> None:
    error_of(client, media_path(resize_url(app, "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "10x10")), 404)


def test_corrupt_original_is_422_and_stores_nothing(
    app: Flask, client: FlaskClient, media_id: str, media_root: Path
) -> None:
    with app.app_context():
        original = media_root / get_storage().original_key(media_id)
    original.write_bytes(original.read_bytes()[:5000])
    error_of(client, media_path(resize_url(app, media_id, "100x100")), 422)
    assert [p for p in media_root.rglob("*") if p.is_file() and not p.name.endswith(".info.json")] == [original]


def test_over_the_side_limit_is_413(media_root: Path, fixtures: Path) -> None:
    signer = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS)
    media_id = signer.put(fixtures / "png_palette_trns.png")
    app = Flask("limited")
    app.config.update(
        SHIFTMEDIA_LOCAL_ROOT=str(media_root),
        SHIFTMEDIA_SECRET_KEYS=",".join(SECRET_KEYS),
        SHIFTMEDIA_PUBLIC_URL=PUBLIC_URL,
        SHIFTMEDIA_MAX_OUTPUT_SIDE="100",
    )
    ShiftMedia(app)
    error_of(app.test_client(), media_path(signer.resize_url(media_id, "200x200")), 413)


def test_status_map() -> None:
    assert status_for(BadSignature("x")) == 403
    assert status_for(InvalidKey("x")) == 404
    assert status_for(NotFound("x")) == 404
    assert status_for(InvalidImage("x")) == 422
    assert status_for(LimitExceeded("x")) == 413
    assert status_for(StorageUnavailable("x")) == 503
    assert status_for(AccessDenied("x")) == 502
    assert status_for(StorageError("x")) == 503


def test_storage_outage_is_503(app: Flask, client: FlaskClient, media_id: str, media_root: Path) -> None:
    url = media_path(resize_url(app, media_id, "100x100"))
    backend = get_storage_of(app).backend

    def fail(*_args: object, **_kwargs: object) -> bool:
        raise StorageUnavailable("storage is unreachable")

    backend.read = fail  # type: ignore[method-assign]
    response = client.get(url)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"


def get_storage_of(app: Flask) -> Storage:
    with app.app_context():
        return get_storage()


def test_embedding_with_init_app_and_jinja_helper(media_root: Path, fixtures: Path) -> None:
    extension = ShiftMedia()
    app = Flask("embedded")
    app.config.update(
        SHIFTMEDIA_LOCAL_ROOT=str(media_root),
        SHIFTMEDIA_SECRET_KEYS=",".join(SECRET_KEYS),
        SHIFTMEDIA_PUBLIC_URL="/assets",
        SHIFTMEDIA_URL_PREFIX="/assets",
    )
    extension.init_app(app)
    with app.app_context():
        media_id = get_storage().put(fixtures / "webp_alpha_300x300.webp")
        html = render_template_string(
            '<img src="{{ media_url(id, "120x80", mode="fill", format="png") }}"><a href="{{ media_url(id) }}">',
            id=media_id,
        )
    src = html.split('"')[1]
    assert src.startswith(f"/assets/{id_folder(media_id)}/120x80-fill-0-noupscale-")
    response = app.test_client().get(src)
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (120, 80) and image.mode in ("RGBA", "P", "LA")
    assert app.test_client().get(html.split('"')[3]).status_code == 200
