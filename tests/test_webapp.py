"""The standalone service: the demo page, and real HTTP under gunicorn and `shiftmedia serve`."""

from __future__ import annotations

import html
import io
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app

from .conftest import PUBLIC_URL, REPO, SECRET_KEYS
from .servers.http import free_port


@pytest.fixture
def demo(media_root: Path) -> FlaskClient:
    """The service with the demo upload switched on, as `make run` has it."""
    app = create_app(
        {
            "SHIFTMEDIA_LOCAL_ROOT": str(media_root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
            "SHIFTMEDIA_DEMO_UPLOAD": "true",
        }
    )
    return app.test_client()


def test_demo_upload_shows_every_size(demo: FlaskClient, fixtures: Path) -> None:
    client = demo
    page = client.get("/")
    assert page.status_code == 200 and b'type="file"' in page.data
    with (fixtures / "exif_orient_6.jpg").open("rb") as stream:
        upload = client.post("/upload", data={"image": (stream, "Holiday.jpg")})
    assert upload.status_code == 303
    shown = client.get(upload.headers["Location"])
    assert shown.status_code == 200
    sources = re.findall(r'<img src="([^"]+)"', shown.data.decode())
    assert len(sources) == 5
    for src in sources:
        response = client.get(src.removeprefix("http://media.test"))
        assert response.status_code == 200, src
        Image.open(io.BytesIO(response.data)).verify()


@pytest.mark.parametrize(
    ("settings", "linked"),
    [
        ({"SHIFTMEDIA_DEMO_UPLOAD": "true"}, True),
        ({}, False),
        ({"SHIFTMEDIA_DEMO_UPLOAD": "true", "SHIFTMEDIA_API_TOKENS": "t" * 32}, False),
        ({"SHIFTMEDIA_PUBLIC_ORIGINALS": "true"}, True),
    ],
)
def test_demo_page_links_the_original_only_where_anyone_may_read_it(
    media_root: Path, fixtures: Path, settings: dict[str, str], linked: bool
) -> None:
    """Every resize URL names its id, so a page that hands out the original's URL for any id makes it public."""
    app = create_app(
        {
            "SHIFTMEDIA_LOCAL_ROOT": str(media_root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
            **settings,
        }
    )
    storage = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS)
    media_id = storage.put(fixtures / "exif_orient_6.jpg")
    client = app.test_client()
    page = client.get(f"/?id={media_id}").data.decode()
    links = re.findall(r'<a href="([^"]+)">original</a>', page)
    assert len(links) == int(linked)
    if linked:
        original = client.get(html.unescape(links[0]).removeprefix("http://media.test"))
        assert original.status_code == 200 and original.data == (fixtures / "exif_orient_6.jpg").read_bytes()
    else:
        assert "not public" in page
    assert client.get("/?id=3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f").status_code == 404


def test_demo_rejects_bad_uploads(demo: FlaskClient) -> None:
    client = demo
    response = client.post("/upload", data={"image": (io.BytesIO(b"hello"), "x.jpg")})
    assert response.status_code == 422
    assert client.post("/upload", data={}).status_code == 422
    for query in ("nope", "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f"):
        missing = client.get(f"/?id={query}")
        assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"
        assert missing.mimetype == "text/plain"


def wait_for(url: str, process: subprocess.Popen[bytes], deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {deadline} s")


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def start(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/", process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=["gunicorn", "shiftmedia serve"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    root = tmp_path / "media"
    env = {
        **os.environ,
        "SHIFTMEDIA_LOCAL_ROOT": str(root),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": f"http://127.0.0.1:{port}/media",
    }
    bindir = Path(sys.executable).parent
    if request.param == "gunicorn":
        command = [
            str(bindir / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "shiftmedia_webapp:create_app()",
        ]
    else:
        command = [str(bindir / "shiftmedia"), "serve", "--port", str(port)]
    for base in start(command, env, port):
        yield base, root


@pytest.mark.integration
def test_real_server_resizes_over_http(server: tuple[str, Path], fixtures: Path) -> None:
    base, root = server
    storage = Storage(LocalBackend(root, f"{base}/media"), SECRET_KEYS)
    media_id = storage.put(fixtures / "jpeg_progressive_1280x960.jpg")
    url = storage.resize_url(media_id, "320x240", mode="fill", format="webp")
    status, body, headers = fetch(url)
    assert status == 200 and headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(body)).size == (320, 240)
    assert fetch(url)[1] == body
    status, body, headers = fetch(url.replace("320x240", "321x240"))
    assert status == 403 and headers["Cache-Control"] == "no-store" and b"Traceback" not in body
    assert fetch(f"{base}/media/nope.jpg")[0] == 404
