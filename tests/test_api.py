"""The JSON API: bearer tokens, upload, delete, batch signing, validation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shiftmedia.ids import id_folder
from shiftmedia_webapp import create_app

from .conftest import PUBLIC_URL, SECRET_KEYS

TOKEN = "api-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api_app(media_root: Path) -> Flask:
    return create_app(
        {
            "SHIFTMEDIA_LOCAL_ROOT": str(media_root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
            "SHIFTMEDIA_API_TOKENS": f"old-token-0123456789,{TOKEN}",
            "SHIFTMEDIA_MAX_INPUT_BYTES": "500000",
        }
    )


@pytest.fixture
def api(api_app: Flask) -> FlaskClient:
    return api_app.test_client()


def upload(api: FlaskClient, path: Path, headers: dict[str, str] = AUTH) -> object:
    with path.open("rb") as stream:
        return api.post("/api/v1/media", data={"file": (stream, path.name)}, headers=headers)


def test_upload_sign_delete(api: FlaskClient, fixtures: Path, media_root: Path) -> None:
    response = upload(api, fixtures / "exif_orient_6.jpg")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "url", "urls"} and set(body["urls"]) == {"thumbnail", "medium", "large"}
    assert body["url"].startswith(f"{PUBLIC_URL}/{id_folder(body['id'])}/exif_orient_6.jpg?access=")
    thumb = api.get(body["urls"]["thumbnail"].removeprefix("http://media.test"))
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"

    signed = api.post(
        "/api/v1/urls",
        json={
            "urls": [
                {"id": body["id"], "size": "400x300", "mode": "fill", "format": "jpg", "gravity": "n"},
                {"id": body["id"], "size": [100, 0], "quality": 50, "format": "webp"},
                {"id": body["id"], "size": "300x300", "mode": "crop", "rect": [0, 0, 600, 600], "gravity": [0.2, 0.8]},
            ]
        },
        headers=AUTH,
    )
    assert signed.status_code == 200
    urls = signed.get_json()["urls"]
    assert "/400x300-fill-85-noupscale-gn-" in urls[0] and urls[1].endswith(".webp")
    assert "-r0x0x600x600-gf200x800-" in urls[2]
    assert api.get(urls[1].removeprefix("http://media.test")).status_code == 200

    deleted = api.delete(f"/api/v1/media/{body['id']}", headers=AUTH)
    assert deleted.status_code == 200 and deleted.get_json() == {
        "id": body["id"],
        "deleted": 4,
    }  # the original, its media info, two resizes
    assert not any(media_root.rglob("*.jpg"))
    assert api.delete(f"/api/v1/media/{body['id']}", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}, {"Authorization": "Basic eDp5"}],
)
def test_wrong_or_missing_token_is_401(api: FlaskClient, fixtures: Path, headers: dict[str, str]) -> None:
    for response in (
        upload(api, fixtures / "png_palette_trns.png", headers),
        api.post("/api/v1/urls", json={"urls": []}, headers=headers),
        api.delete("/api/v1/media/3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["status"] == 401


def test_rotated_token_still_works(api: FlaskClient) -> None:
    response = api.post("/api/v1/urls", json={"urls": []}, headers={"Authorization": "Bearer old-token-0123456789"})
    assert response.status_code == 400


def test_api_disabled_without_tokens(client: FlaskClient) -> None:
    assert client.post("/api/v1/urls", json={}, headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (None, 400, "send JSON"),
        ({"urls": "x"}, 400, "send JSON"),
        ({"urls": [{"size": "10x10"}]}, 400, "urls[0] needs an id"),
        ({"urls": [{"id": "x", "size": "10x10"}]}, 400, "urls[0]: invalid id"),
        ({"urls": [{"id": "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "size": "10x10", "mode": "zoom"}]}, 400, "mode"),
        (
            {"urls": [{"id": "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "size": "10x10", "secret": 1}]},
            400,
            "unknown fields",
        ),
        ({"urls": [{"id": "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "size": {"w": 1}}]}, 400, "invalid size"),
        ({"urls": [{"id": "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "size": "9000x10"}]}, 413, "over the limit"),
        ({"urls": [{"id": "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "size": "10x10"}] * 501}, 400, "at most 500"),
    ],
)
def test_sign_validates(api: FlaskClient, payload: object, status: int, message: str) -> None:
    response = (
        api.post("/api/v1/urls", json=payload, headers=AUTH)
        if payload is not None
        else api.post("/api/v1/urls", data="not json", headers=AUTH)
    )
    assert response.status_code == status
    assert message in response.get_json()["error"]


def test_upload_validates(api: FlaskClient, fixtures: Path, media_root: Path) -> None:
    missing = api.post("/api/v1/media", data={}, headers=AUTH)
    assert missing.status_code == 422 and "multipart" in missing.get_json()["error"]
    junk = api.post("/api/v1/media", data={"file": (io.BytesIO(b"junk"), "x.jpg")}, headers=AUTH)
    assert junk.status_code == 422
    large = upload(api, fixtures / "png_rgba_2048x1536.png")
    assert large.status_code == 413 and large.get_json()["status"] == 413
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))
