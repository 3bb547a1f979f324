"""The service as an attacker meets it: no anonymous writes, one URL per object, bounded inputs,
retired keys refused, nothing of the insides in an answer."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from shiftmedia.cli import main
from shiftmedia.errors import StorageUnavailable
from shiftmedia.flask import get_storage
from shiftmedia.ids import id_folder
from shiftmedia_webapp import create_app

from .conftest import PUBLIC_URL, SECRET_KEYS

TOKEN = "upload-token-0123456789abcdef"


def make(root: Path, **extra: str) -> Flask:
    return create_app(
        {
            "SHIFTMEDIA_LOCAL_ROOT": str(root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
            **extra,
        }
    )


def stored(root: Path) -> list[str]:
    """The originals and derivatives stored (media info documents are tests/test_media_info.py's)."""
    found = root.rglob("*") if root.exists() else ()
    return sorted(p.relative_to(root).as_posix() for p in found if p.is_file() and not p.name.endswith(".info.json"))


def media_path(app: Flask, media_id: str, size: str = "60x40", **options: object) -> str:
    with app.app_context():
        return "/media/" + get_storage().resize_url(media_id, size, **options).removeprefix(PUBLIC_URL + "/")


@pytest.fixture
def shop(tmp_path: Path, fixtures: Path) -> tuple[Flask, FlaskClient, str, Path]:
    root = tmp_path / "media"
    app = make(root)
    with app.app_context():
        media_id = get_storage().put(fixtures / "png_palette_trns.png")
    return app, app.test_client(), media_id, root


# -- 1. anonymous writes -----------------------------------------------------------


def test_the_demo_upload_is_off_unless_enabled(shop: tuple[Flask, FlaskClient, str, Path], fixtures: Path) -> None:
    _app, client, _media_id, root = shop
    before = stored(root)
    with (fixtures / "exif_orient_6.jpg").open("rb") as stream:
        answer = client.post("/upload", data={"image": (stream, "x.jpg")})
    assert answer.status_code in (404, 405) and stored(root) == before
    assert b'type="file"' not in client.get("/").data


def test_with_tokens_the_demo_upload_needs_one(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    client = make(root, SHIFTMEDIA_DEMO_UPLOAD="true", SHIFTMEDIA_API_TOKENS=TOKEN).test_client()
    assert b'name="token"' in client.get("/").data
    image = (fixtures / "exif_orient_6.jpg").read_bytes()
    for form in ({}, {"token": "wrong-token-0123456789"}):
        refused = client.post("/upload", data={"image": (io.BytesIO(image), "x.jpg"), **form})
        assert refused.status_code == 401 and stored(root) == []
    accepted = client.post("/upload", data={"image": (io.BytesIO(image), "x.jpg"), "token": TOKEN})
    assert accepted.status_code == 303 and len(stored(root)) == 1


def test_an_open_demo_upload_says_so_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="shiftmedia.service"):
        make(tmp_path / "media", SHIFTMEDIA_DEMO_UPLOAD="true")
    assert any("OPEN" in record.message for record in caplog.records)


def test_serve_warns_on_a_network_bind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Flask, "run", lambda self, **kwargs: None)
    env = {
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
        "SHIFTMEDIA_SECRET_KEYS": SECRET_KEYS[0],
        "SHIFTMEDIA_CONFIG": "",
    }
    network = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env=env)
    assert network.exit_code == 0 and "reachable from the network" in network.stderr
    assert "demo upload is OPEN" in network.stderr
    loopback = CliRunner().invoke(main, ["serve", "--host", "127.0.0.1"], env=env)
    assert loopback.exit_code == 0 and "WARNING" not in loopback.stderr


# -- 5, 7. one URL per object, decided before storage ---------------------------------


def test_bad_paths_are_404_before_storage(shop: tuple[Flask, FlaskClient, str, Path]) -> None:
    app, client, media_id, root = shop
    folder = id_folder(media_id)
    good = media_path(app, media_id)
    original = next(name for name in stored(root))
    paths = [
        f"/media/{folder}/{'1' * 200}x{'2' * 60}-fit-80-noupscale-{'A' * 43}.webp",
        f"/media/{folder}/{'a' * 300}.jpg",
        f"/media/{original}/x",
        f"/media/anything/{good.removeprefix('/media/')}",
        f"/media/a/b/c/{good.removeprefix('/media/')}",
        f"/media/{folder}",
        "/media/.shiftmedia-check-0123",
    ]
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert b"Traceback" not in answer.data and answer.headers["Cache-Control"] == "no-store"
    assert stored(root) == [original]
    assert client.get(good).status_code == 200


def test_one_spelling_of_a_signature(shop: tuple[Flask, FlaskClient, str, Path]) -> None:
    app, client, media_id, root = shop
    good = media_path(app, media_id, format="png")
    stem, ext = good.rsplit(".", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(stem[-1])
    aliases = [f"{stem[:-1]}{alphabet[index - index % 4 + n]}.{ext}" for n in range(4) if index % 4 != n]
    assert len(aliases) == 3
    for alias in aliases:
        assert client.get(alias).status_code == 404, alias
    assert client.get(good).status_code == 200
    assert len(stored(root)) == 2


# -- 8. bounded JSON ----------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"urls": ' + "[" * 40 + "]" * 40 + "}"])
def test_deep_json_is_400(tmp_path: Path, body: str) -> None:
    client = make(tmp_path / "media", SHIFTMEDIA_API_TOKENS=TOKEN).test_client()
    answer = client.post(
        "/api/v1/urls", data=body, content_type="application/json", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 400 and "nested deeper" in answer.get_json()["error"]


def test_large_json_is_refused(tmp_path: Path) -> None:
    client = make(tmp_path / "media", SHIFTMEDIA_API_TOKENS=TOKEN).test_client()
    body = json.dumps({"urls": [{"id": "x" * 100, "size": "1x1"}] * 20_000})
    answer = client.post(
        "/api/v1/urls", data=body, content_type="application/json", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 413 and answer.is_json


# -- 9. retired keys ------------------------------------------------------------------


def test_a_retired_key_is_refused_even_when_stored(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    old = make(root)
    with old.app_context():
        media_id = get_storage().put(fixtures / "png_palette_trns.png")
    path = media_path(old, media_id, format="png")
    assert old.test_client().get(path).status_code == 200
    rotated = create_app(
        {
            "SHIFTMEDIA_LOCAL_ROOT": str(root),
            "SHIFTMEDIA_SECRET_KEYS": "a-brand-new-key-0123456789",
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
        }
    )
    assert rotated.test_client().get(path).status_code == 403
    with rotated.app_context():
        retired = list(get_storage().retired_derivatives())
    assert retired == [path.removeprefix("/media/")]


def test_prune_retired_is_a_dry_run_unless_asked(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    old = make(root)
    with old.app_context():
        media_id = get_storage().put(fixtures / "png_palette_trns.png")
    kept_path = media_path(old, media_id, "20x20", format="png")
    old.test_client().get(media_path(old, media_id, "30x30", format="png"))
    env = {"SHIFTMEDIA_LOCAL_ROOT": str(root), "SHIFTMEDIA_SECRET_KEYS": SECRET_KEYS[0], "SHIFTMEDIA_CONFIG": ""}
    CliRunner().invoke(main, ["resize", kept_path.removeprefix("/media/")], env=env)
    before = stored(root)
    assert len(before) == 3
    env["SHIFTMEDIA_SECRET_KEYS"] = SECRET_KEYS[0]
    none = json.loads(CliRunner().invoke(main, ["prune", "--retired", "--json"], env=env).stdout)
    assert none["keys"] == []
    env["SHIFTMEDIA_SECRET_KEYS"] = "a-brand-new-key-0123456789"
    dry = json.loads(CliRunner().invoke(main, ["prune", "--retired", "--json"], env=env).stdout)
    assert len(dry["keys"]) == 2 and dry["dry_run"] and stored(root) == before
    done = CliRunner().invoke(main, ["prune", "--retired", "--delete", "--json"], env=env)
    assert done.exit_code == 0 and json.loads(done.stdout)["deleted"] == 2
    assert len(stored(root)) == 1 and not stored(root)[0].rsplit("/", 1)[1][0].isdigit()


# -- 10. nothing of the insides ---------------------------------------------------------


def test_errors_are_generic_and_carry_a_request_id(
    shop: tuple[Flask, FlaskClient, str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    app, client, media_id, _root = shop
    path = media_path(app, media_id)
    unknown_key = f"{id_folder('0' * 8 + '-0000-4000-8000-' + '0' * 12)}/photo.jpg"
    with app.app_context():
        backend, token = get_storage().backend, get_storage().access.signer.token(unknown_key)
    unknown = client.get(f"/media/{unknown_key}?access={token}")
    assert unknown.status_code == 404 and unknown.data == b"404 not found\n"

    def fail(*_args: object, **_kwargs: object) -> bytes:
        raise StorageUnavailable("S3 open on s3://secret-bucket/secret-prefix/x failed: SlowDown")

    backend.read = fail  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="shiftmedia.errors"):
        answer = client.get(path)
    assert answer.status_code == 503 and b"secret" not in answer.data and b"SlowDown" not in answer.data
    request_id = answer.headers["X-Request-ID"]
    assert any(request_id in r.message and "secret-bucket" in r.message for r in caplog.records)
    assert client.get("/livez").headers["X-Request-ID"]
    given = client.get("/livez", headers={"X-Request-ID": "front-given-id-1234"})
    assert given.headers["X-Request-ID"] == "front-given-id-1234"
    hostile = client.get("/livez", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert len(hostile.headers["X-Request-ID"]) == 32 and "<" not in hostile.headers["X-Request-ID"]


def test_readiness_does_not_name_the_store(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the media root should be a folder")
    answer = make(blocked / "media").test_client().get("/readyz")
    assert answer.status_code == 503 and answer.get_json() == {"status": "unavailable"}


# -- found by tests/test_fuzz_http.py -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/media", 404),
        ("GET", "/media/", 404),
        ("GET", "/index.html", 404),
        ("GET", "/api/v1/urls", 405),
        ("DELETE", "/media/x", 405),
        ("GET", "/media//a/b.jpg", 404),
        ("POST", "/livez", 405),
    ],
)
def test_routing_errors_are_the_service_s_own(tmp_path: Path, method: str, path: str, status: int) -> None:
    answer = make(tmp_path / "media").test_client().open(path, method=method)
    assert answer.status_code == status and answer.headers["Cache-Control"] == "no-store"
    assert answer.mimetype == ("application/json" if path.startswith("/api/") else "text/plain")
    assert b"<html" not in answer.data.lower() and "Location" not in answer.headers
    if status == 405:
        assert "GET" in answer.headers["Allow"] or "POST" in answer.headers["Allow"]


@pytest.mark.parametrize(
    "item",
    [
        {"background": [1]},
        {"format": [1]},
        {"format": 1},
        {"format": []},
        {"gravity": [1e308, 1]},
        {"gravity": [float("nan"), 1]},
        {"gravity": [True, 0]},
        {"size": None},
        {"size": {"a": 1}},
        {"mode": [1]},
    ],
)
def test_odd_json_values_are_400_without_echo(tmp_path: Path, item: dict[str, object]) -> None:
    client = make(tmp_path / "media", SHIFTMEDIA_API_TOKENS=TOKEN).test_client()
    body = {"urls": [{"id": "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "size": "16x16", "mode": "fill", **item}]}
    answer = client.post("/api/v1/urls", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400 and answer.is_json, answer.data
    message = answer.get_json()["error"].removeprefix("urls[0]")
    assert "[" not in message and "{" not in message and "None" not in message and "nan" not in message
