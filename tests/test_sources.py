"""Sources: resizing objects shiftmedia did not upload, addressed by their own keys, read only.

On local disk the sources are a folder of their own (``SHIFTMEDIA_LOCAL_SOURCE_ROOT``),
which is never written; derivatives go to ``<store>/<source key>/<signed name>``.
The S3 shapes (one bucket, a read-only source bucket) are in tests/backends/test_sources_s3.py.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask, render_template_string
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.readonly import ReadOnly
from shiftmedia.cli import main
from shiftmedia.engine import render
from shiftmedia.errors import AccessDenied, BadSignature, InvalidKey, NotFound, PrivateOriginal
from shiftmedia.flask import ShiftMedia, get_storage
from shiftmedia.ids import check_source_key
from shiftmedia.settings import Settings
from shiftmedia.spec import ResizeSpec, parse_signed_name
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app

from .conftest import PUBLIC_URL, SECRET_KEYS

#: Keys as other tools lay buckets out: nested folders, spaces, unicode, + and %.
SOURCE_KEYS = (
    "photos/2024/cat.jpg",
    "uploads/with space/ünïcödé + 100%.png",
    "日本/写真.webp",
    "flat.jpg",
)
FIXTURE_OF = {".jpg": "exif_orient_6.jpg", ".png": "png_palette_trns.png", ".webp": "webp_alpha_300x300.webp"}


def fill_sources(root: Path, fixtures: Path) -> dict[str, bytes]:
    """A folder of sources at :data:`SOURCE_KEYS`, as another application left it."""
    written = {}
    for key in SOURCE_KEYS:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(fixtures / FIXTURE_OF[Path(key).suffix], path)
        written[key] = path.read_bytes()
    return written


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture
def sources(tmp_path: Path, fixtures: Path) -> Path:
    root = tmp_path / "sources"
    fill_sources(root, fixtures)
    return root


@pytest.fixture
def storage(tmp_path: Path, sources: Path) -> Storage:
    return Storage(
        LocalBackend(tmp_path / "derived", PUBLIC_URL),
        SECRET_KEYS,
        sources=ReadOnly(LocalBackend(sources, PUBLIC_URL)),
    )


@pytest.mark.parametrize("key", SOURCE_KEYS)
def test_a_source_is_resized_beside_its_key(storage: Storage, sources: Path, tmp_path: Path, key: str) -> None:
    before = snapshot(sources)
    url = storage.resize_url(key, "120x90", mode="fill", format="png")
    assert url.startswith(f"{PUBLIC_URL}/{quote(key)}/120x90-fill-0-noupscale-")
    made = storage.create_resize(url)
    assert made.key.startswith(f"{key}/") and made.created
    stored = tmp_path / "derived" / made.key
    assert stored.read_bytes() == made.data
    expected = render((sources / key).read_bytes(), ResizeSpec.create("120x90", mode="fill", format="png"))
    assert made.data == expected.data
    assert snapshot(sources) == before
    assert storage.create_resize(made.key).created is False


def test_the_signature_covers_the_source_key(storage: Storage) -> None:
    key = storage.resize_key("photos/2024/cat.jpg", "100x100")
    with pytest.raises(BadSignature):
        storage.verify(key.replace("cat.jpg", "dog.jpg", 1))
    spec, signature = parse_signed_name(key.rsplit("/", 1)[1])
    assert storage.keys.signer.sign("photos/2024/cat.jpg", spec) != signature, "a source key signs in its own domain"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/abs.jpg",
        "a//b.jpg",
        "a/../b.jpg",
        ".hidden/x.jpg",
        "a/.x.jpg",
        "a\x00b.jpg",
        "new\nline.jpg",
        "back\\slash.jpg",
        "x" * 256 + "/a.jpg",
        "é" * 400,
        "3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/photo.jpg",
        "photos/400x300-fit-80-noupscale.webp",
    ],
)
def test_keys_that_cannot_name_a_source(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKey):
        check_source_key(key)
    with pytest.raises(InvalidKey):
        storage.resize_key(key, "10x10")


def test_the_sources_are_never_written(storage: Storage, sources: Path) -> None:
    read_only = ReadOnly(LocalBackend(sources, PUBLIC_URL))
    for attempt in (lambda: read_only.write("x.jpg", b"x"), lambda: read_only.delete("flat.jpg")):
        with pytest.raises(AccessDenied):
            attempt()
    with pytest.raises(AccessDenied):
        read_only.delete_prefix("photos/")
    storage.create_resize(storage.resize_key("flat.jpg", "10x10"))
    assert storage.delete("flat.jpg") == 1
    assert (sources / "flat.jpg").is_file()


def test_a_missing_source_is_not_found(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        storage.create_resize(storage.resize_key("photos/2024/dog.jpg", "10x10"))
    with pytest.raises(NotFound):
        storage.original_url("photos/2024/dog.jpg")
    assert not (tmp_path / "derived" / "photos").exists()


def test_on_local_disk_sources_need_their_own_folder(tmp_path: Path) -> None:
    alone = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS)
    with pytest.raises(InvalidKey, match="SHIFTMEDIA_LOCAL_SOURCE_ROOT"):
        alone.resize_key("photos/cat.jpg", "10x10")
    settings = Settings.from_values(
        {"SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"), "SHIFTMEDIA_LOCAL_SOURCE_ROOT": str(tmp_path / "src")}
    )
    assert Settings.from_values({}).local_source_root is None
    with_sources = Storage.from_settings(Settings(**{**settings.__dict__, "secret_keys": tuple(SECRET_KEYS)}))
    assert with_sources.resize_key("photos/cat.jpg", "10x10").startswith("photos/cat.jpg/10x10-")


@pytest.mark.parametrize("key", SOURCE_KEYS)
def test_an_original_of_a_source_is_served_with_its_token(storage: Storage, sources: Path, key: str) -> None:
    url = storage.original_url(key)
    assert url.startswith(f"{PUBLIC_URL}/{quote(key)}?access=")
    token = url.split("access=", 1)[1]
    assert storage.get(key, token).data == (sources / key).read_bytes()
    with pytest.raises(PrivateOriginal):
        storage.get(key)


# -- the faces ---------------------------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, sources: Path) -> dict[str, str]:
    return {
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "derived"),
        "SHIFTMEDIA_LOCAL_SOURCE_ROOT": str(sources),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": "http://localhost/media",
    }


@pytest.mark.parametrize("key", SOURCE_KEYS)
def test_the_service_resizes_sources(settings: dict[str, str], sources: Path, key: str) -> None:
    app = create_app(settings)
    client = app.test_client()
    with app.app_context():
        url = get_storage().resize_url(key, "80x60", mode="fill", format="webp")
    path = urlsplit(url).path
    first = client.get(path)
    assert first.status_code == 200 and first.headers["X-Shiftmedia"] == "created", first.data
    assert Image.open(io.BytesIO(first.data)).size == (80, 60)
    again = client.get(path)
    assert again.headers["X-Shiftmedia"] == "stored" and again.data == first.data
    forged = client.get(path.replace(quote(key.rsplit("/", 1)[-1]), "other.jpg"))
    assert forged.status_code == 403


def test_cli_api_and_templates_take_source_keys(settings: dict[str, str], tmp_path: Path) -> None:
    env = {**settings, "SHIFTMEDIA_CONFIG": ""}
    key = "uploads/with space/ünïcödé + 100%.png"
    printed = CliRunner().invoke(main, ["url", key, "400x300", "--mode", "fill", "--json"], env=env)
    assert printed.exit_code == 0, printed.output
    signed = json.loads(printed.stdout)
    assert signed["key"].startswith(f"{key}/400x300-fill-80-noupscale-")
    made = CliRunner().invoke(main, ["resize", signed["url"], "--json"], env=env)
    assert made.exit_code == 0, made.output
    assert (tmp_path / "derived" / signed["key"]).is_file()
    deleted = CliRunner().invoke(main, ["delete", key, "--json"], env=env)
    assert json.loads(deleted.stdout)["deleted"] == 1

    token = "api-token-" + "z" * 24
    client = create_app({**settings, "SHIFTMEDIA_API_TOKENS": token}).test_client()
    answer = client.post(
        "/api/v1/urls",
        json={"urls": [{"id": key, "size": "400x300", "mode": "fill"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.get_json() == {"urls": [signed["url"]]}

    app = Flask(__name__)
    app.config.update(settings)
    ShiftMedia(app)
    with app.app_context():
        assert render_template_string("{{ media_url(k, '400x300', mode='fill') }}", k=key) == signed["url"]


def test_no_source_key_leaves_the_local_root(settings: dict[str, str], tmp_path: Path) -> None:
    client = create_app(settings).test_client()
    for path in ("/media/../secret.jpg", "/media/%2e%2e/secret.jpg", "/media/a/%00/b.jpg", "/media//etc/passwd"):
        assert client.get(path).status_code == 404, path
    assert sorted(os.listdir(tmp_path)) == ["derived", "sources"] or sorted(os.listdir(tmp_path)) == ["sources"]


def test_deleting_a_source_in_a_shared_bucket_deletes_its_resizes_only(fixtures: Path) -> None:
    """Sources beside the resizes (one bucket, one prefix): deleting a key removes its resizes, never a source,
    not even the sources 'under' a key that is also a folder."""
    from moto import mock_aws

    from shiftmedia.backends.s3 import S3Backend
    from shiftmedia.settings import S3Settings

    with mock_aws():
        backend = S3Backend(S3Settings(bucket="shared", region="us-east-1", access_key_id="A", secret_access_key="B"))
        backend.client.create_bucket(Bucket="shared")
        photo = (fixtures / "png_palette_trns.png").read_bytes()
        for key in ("photos/cat.png", "photos/cat.png/notes.png", "photos/2024/dog.png", "photos/x-upscale-y.png"):
            backend.write(key, photo)
        storage = Storage(backend, SECRET_KEYS)
        made = [storage.create_resize(storage.resize_key("photos/cat.png", size)).key for size in ("10x10", "20x20")]
        deep = storage.create_resize(storage.resize_key("photos/cat.png/notes.png", "10x10")).key
        assert storage.delete("photos") == 0
        assert storage.delete("photos/cat.png") == 2
        left = sorted(info.key for info in backend.list())
        assert left == sorted(
            ["photos/2024/dog.png", "photos/cat.png", "photos/cat.png/notes.png", deep, "photos/x-upscale-y.png"]
        )
        assert not set(made) & set(left)


def test_resizes_of_sources_signed_with_a_retired_key_are_pruned_too(tmp_path: Path, sources: Path) -> None:
    derived = LocalBackend(tmp_path / "derived", PUBLIC_URL)
    old = Storage(derived, ["retired-key-0123456789"], sources=ReadOnly(LocalBackend(sources, PUBLIC_URL)))
    stale = old.create_resize(old.resize_key(SOURCE_KEYS[0], "30x30")).key
    new = Storage(derived, SECRET_KEYS, sources=ReadOnly(LocalBackend(sources, PUBLIC_URL)))
    fresh = new.create_resize(new.resize_key(SOURCE_KEYS[1], "30x30")).key
    assert list(new.retired_derivatives()) == [stale]
    assert new.remove(stale) and new.backend.exists(fresh)
