"""``Storage`` as the one door: what the faces ask of it, and what it asks of the backend per request."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from flask import Flask
from PIL import Image

from shiftmedia.backends.base import ObjectInfo
from shiftmedia.backends.local import LocalBackend
from shiftmedia.delivery import Redirect, Served
from shiftmedia.errors import NotFound
from shiftmedia.flask import ShiftMedia, get_storage
from shiftmedia.lease import lease_key
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS


class CountingBackend(LocalBackend):
    """A local backend that counts every call, by method and key."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, PUBLIC_URL)
        self.calls: Counter[tuple[str, str]] = Counter()

    def exists(self, key: str) -> bool:
        self.calls["exists", key] += 1
        return super().exists(key)

    def stat(self, key: str) -> ObjectInfo:
        self.calls["stat", key] += 1
        return super().stat(key)

    def open(self, key: str) -> BinaryIO:
        self.calls["open", key] += 1
        return super().open(key)

    def write(self, key: str, data: bytes | BinaryIO, **options: Any) -> bool:
        self.calls["write", key] += 1
        return super().write(key, data, **options)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self.calls["list", prefix] += 1
        return super().list(prefix)


@pytest.fixture
def counted(tmp_path: Path, fixtures: Path) -> tuple[Storage, CountingBackend, str]:
    backend = CountingBackend(tmp_path / "media")
    storage = Storage(backend, SECRET_KEYS)
    media_id = storage.put(fixtures / "png_palette_trns.png")
    backend.calls.clear()
    return storage, backend, media_id


def test_a_miss_looks_for_the_derivative_once(counted: tuple[Storage, CountingBackend, str]) -> None:
    storage, backend, media_id = counted
    key = storage.resize_key(media_id, "40x40", format="png")
    served = storage.get(key)
    assert isinstance(served, Served) and served.outcome == "created" and served.made is not None
    original = storage.original_key(media_id)
    lease = lease_key(key)
    assert dict(backend.calls) == {("open", key): 1, ("write", lease): 1, ("open", original): 1, ("write", key): 1}


def test_a_hit_is_one_read(counted: tuple[Storage, CountingBackend, str]) -> None:
    storage, backend, media_id = counted
    key = storage.resize_key(media_id, "40x40", format="png")
    storage.get(key)
    backend.calls.clear()
    served = storage.get(key)
    assert served.outcome == "stored" and served.made is None and not served.timings
    assert dict(backend.calls) == {("open", key): 1}


def test_served_carries_bytes_type_and_cache_policy(counted: tuple[Storage, CountingBackend, str]) -> None:
    storage, _backend, media_id = counted
    key = storage.resize_key(media_id, "30x20", mode="fill", format="webp")
    made = storage.get(key)
    assert made.content_type == "image/webp" and "immutable" in made.cache_control
    assert Image.open(io.BytesIO(made.data)).size == (30, 20)
    assert set(made.timings) >= {"fetch", "decode", "resize", "encode", "store"}
    original_key = storage.original_key(media_id)
    original = storage.get(original_key, storage.access.signer.token(original_key))
    assert original.content_type == "image/png" and original.cache_control.startswith("private,")
    missing = original_key.rsplit("/", 1)[0] + "/missing.png"
    with pytest.raises(NotFound):
        storage.get(missing, storage.access.signer.token(missing))


def test_redirect_answer_points_at_the_public_url(counted: tuple[Storage, CountingBackend, str]) -> None:
    storage, _backend, media_id = counted
    key = storage.resize_key(media_id, "40x40", format="png")
    answer = storage.deliver(key, redirect=True)
    assert isinstance(answer, Served) and answer.outcome == "served-front-failed"
    assert isinstance(storage.deliver(key, redirect=False), Served)
    assert storage.delivery_url(key) == f"{PUBLIC_URL}/{key}"
    assert not isinstance(answer, Redirect)


def test_check_goes_through_storage(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    storage = Storage(LocalBackend(blocked / "media", PUBLIC_URL), SECRET_KEYS)
    with pytest.raises(Exception, match="cannot create storage root"):
        storage.check()


def make_app(root: Path, **config: Any) -> Flask:
    app = Flask("embedding")
    app.config.update(
        SHIFTMEDIA_LOCAL_ROOT=str(root),
        SHIFTMEDIA_SECRET_KEYS=SECRET_KEYS[0],
        SHIFTMEDIA_PUBLIC_URL="/media",
        **config,
    )
    return app


@pytest.mark.filterwarnings("error::shiftmedia.errors.ConfigWarning")
def test_two_extensions_in_one_app(tmp_path: Path, fixtures: Path) -> None:
    app = make_app(
        tmp_path / "public",
        SHIFTMEDIA_PRIVATE_LOCAL_ROOT=str(tmp_path / "private"),
        SHIFTMEDIA_PRIVATE_SECRET_KEYS=SECRET_KEYS[1],
        SHIFTMEDIA_PRIVATE_PUBLIC_URL="/private",
        SHIFTMEDIA_PRIVATE_URL_PREFIX="/private",
    )
    public, private = ShiftMedia(app), ShiftMedia(app, name="private")
    with app.app_context():
        assert public.storage is get_storage() and private.storage is get_storage("private")
        assert app.config["SHIFTMEDIA_URL_PREFIX"] == "/media" and app.config["SHIFTMEDIA_PRIVATE_RESPONSE"] == "serve"
        shown = public.storage.put(fixtures / "png_palette_trns.png")
        hidden = private.storage.put(fixtures / "webp_alpha_300x300.webp")
        url = private.url(hidden, "50x50", format="png")
        assert url.startswith("/private/") and public.url(shown, "50x50").startswith("/media/")
        html = app.jinja_env.from_string('{{ private.url(id, "20x20") }}|{{ media_url(other, "20x20") }}').render(
            id=hidden, other=shown
        )
    client = app.test_client()
    assert client.get(url).status_code == 200
    assert client.get(html.split("|")[0]).status_code == 200 and client.get(html.split("|")[1]).status_code == 200
    assert client.get(url.replace("/private/", "/media/", 1)).status_code in (403, 404)
    assert (tmp_path / "private" / hidden.replace("-", "/")).is_dir()
    assert not (tmp_path / "public" / hidden.replace("-", "/")).exists()


def test_two_apps_do_not_share_metrics(tmp_path: Path, fixtures: Path) -> None:
    first, second = make_app(tmp_path / "a"), make_app(tmp_path / "b")
    ShiftMedia(first), ShiftMedia(second)
    with first.app_context():
        media_id = get_storage().put(fixtures / "png_palette_trns.png")
        url = get_storage().resize_url(media_id, "30x30")
    assert first.test_client().get(url).status_code == 200
    sample = 'shiftmedia_requests_total{outcome="created",status="200"}'
    assert f"{sample} 1.0" in first.extensions["shiftmedia.metrics"].exposition()[0].decode()
    assert sample not in second.extensions["shiftmedia.metrics"].exposition()[0].decode()


def test_app_config_s3_names_do_not_clash(tmp_path: Path) -> None:
    app = make_app(tmp_path / "media", S3_BUCKET="the-app-s-own", S3_ENDPOINT_URL="http://127.0.0.1:1")
    ShiftMedia(app)
    with app.app_context():
        assert "LocalBackend" in repr(get_storage())


def test_flask_command_group(tmp_path: Path, fixtures: Path) -> None:
    app = make_app(tmp_path / "media")
    ShiftMedia(app)
    runner = app.test_cli_runner()
    stored = runner.invoke(args=["shiftmedia", "put", str(fixtures / "png_palette_trns.png"), "--json"])
    assert stored.exit_code == 0, stored.output
    media_id = stored.output.split('"id": "')[1].split('"')[0]
    signed = runner.invoke(args=["shiftmedia", "url", media_id, "24x24", "--format", "png"])
    assert signed.exit_code == 0 and signed.output.startswith("/media/")
    made = runner.invoke(args=["shiftmedia", "resize", signed.output.strip()])
    assert made.exit_code == 0 and made.output.startswith("created ")
    missing = runner.invoke(args=["shiftmedia", "delete", "00000000-0000-4000-8000-000000000000"])
    assert missing.exit_code == 1 and missing.output.startswith("error: no media with id")
    assert "Traceback" not in missing.output
    assert runner.invoke(args=["shiftmedia", "delete", media_id]).exit_code == 0


def test_an_s3_miss_is_one_get_of_the_derivative(fixtures: Path) -> None:
    """In-process moto S3: a served miss asks for the derivative once (a GET, no HEAD before it); the
    render lease adds its PUT, and its release a HEAD and a DELETE."""
    from moto import mock_aws

    from shiftmedia.backends.s3 import S3Backend
    from shiftmedia.settings import S3Settings

    with mock_aws():
        backend = S3Backend(S3Settings(bucket="media", region="us-east-1", access_key_id="A", secret_access_key="B"))
        backend.client.create_bucket(Bucket="media")
        storage = Storage(backend, SECRET_KEYS)
        media_id = storage.put(fixtures / "png_palette_trns.png")
        key = storage.resize_key(media_id, "40x40", format="png")
        operations: list[str] = []
        backend.client.meta.events.register("before-call.s3.*", lambda model, **_: operations.append(model.name))
        assert storage.get(key).outcome == "created"
        assert operations == ["GetObject", "PutObject", "GetObject", "PutObject", "HeadObject", "DeleteObject"]
        operations.clear()
        assert storage.get(key).outcome == "stored"
        assert operations == ["GetObject"]
