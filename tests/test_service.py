"""The media endpoint in its production shapes: serve and redirect modes, the loop
guard, one resize per derivative, bounded work, metrics, template helpers."""

from __future__ import annotations

import http.server
import io
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from PIL import Image

from shiftmedia.flask import get_storage
from shiftmedia_webapp import create_app

from .conftest import SECRET_KEYS
from .servers.http import fetch, free_port, serve_app
from .servers.seaweedfs import SeaweedFS


def make_app(root: Path, public_url: str, **extra: str) -> Flask:
    return create_app(
        {
            "SHIFTMEDIA_LOCAL_ROOT": str(root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": public_url,
            **extra,
        }
    )


def put(app: Flask, path: Path) -> str:
    with app.app_context():
        return get_storage().put(path)


def signed(app: Flask, media_id: str, size: str, **options: object) -> str:
    with app.app_context():
        return get_storage().resize_url(media_id, size, **options)


def metric(base: str, name: str) -> float:
    """The sum of a metric's samples, read from the live /metrics endpoint."""
    text = fetch(f"{base}/metrics").body.decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


class _Front(http.server.BaseHTTPRequestHandler):
    """A bucket website stand-in: serves files under ``root``; a miss is 302 to the app (its 404 rule)."""

    root: Path
    app: str
    always_404 = False
    keep_query = False

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = self.root / parts.path.removeprefix("/media/")
        if not self.always_404 and path.is_file():
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            query = f"?{parts.query}" if self.keep_query and parts.query else ""
            self.send_response(302)
            self.send_header("Location", f"{self.app}{parts.path}{query}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *_args: object) -> None:
        return None


@contextmanager
def front(root: Path, app_base: str, port: int, **behaviour: bool) -> Iterator[str]:
    handler = type("Front", (_Front,), {"root": root, "app": app_base, **behaviour})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def redirect_shape(tmp_path: Path, fixtures: Path) -> Iterator[tuple[Flask, str, int, Path]]:
    """The service in redirect mode behind a bucket-website stand-in; yields app, app URL, front port, root."""
    root = tmp_path / "media"
    front_port = free_port()
    app = make_app(root, f"http://127.0.0.1:{front_port}/media", SHIFTMEDIA_RESPONSE="redirect")
    with serve_app(app) as base:
        yield app, base, front_port, root


@pytest.mark.parametrize("keep_query", [False, True])
def test_redirect_mode_through_a_working_front(
    redirect_shape: tuple[Flask, str, int, Path], fixtures: Path, keep_query: bool
) -> None:
    app, base, port, root = redirect_shape
    media_id = put(app, fixtures / "exif_orient_6.jpg")
    url = signed(app, media_id, "300x200", mode="fill", format="jpg")
    with front(root, base, port, keep_query=keep_query):
        first = fetch(url)
        assert first.status == 200 and len(first.redirects) == 2
        assert first.redirects[0].startswith(base + "/media/")
        assert first.redirects[1] == url + "?sm-retry=1"
        assert Image.open(io.BytesIO(first.body)).size == (300, 200)
        again = fetch(url)
        assert again.status == 200 and again.redirects == [] and again.body == first.body


@pytest.mark.parametrize("keep_query", [False, True])
def test_no_redirect_loop_when_the_front_always_404s(
    redirect_shape: tuple[Flask, str, int, Path], fixtures: Path, keep_query: bool
) -> None:
    app, base, port, root = redirect_shape
    media_id = put(app, fixtures / "exif_orient_6.jpg")
    url = signed(app, media_id, "240x160", format="png")
    with front(root, base, port, always_404=True, keep_query=keep_query):
        for _ in range(3):
            answer = fetch(url)
            assert answer.status == 200 and len(answer.redirects) <= 2, answer.redirects
            assert answer.headers["content-type"] == "image/png"
            assert Image.open(io.BytesIO(answer.body)).size == (240, 160)


def test_redirects_are_never_cached(redirect_shape: tuple[Flask, str, int, Path], fixtures: Path) -> None:
    app, base, port, root = redirect_shape
    media_id = put(app, fixtures / "png_palette_trns.png")
    url = signed(app, media_id, "64x48", format="png")
    with front(root, base, port):
        answer = fetch(base + urlsplit(url).path, max_redirects=0)
    assert answer.status == 302 and answer.headers["cache-control"] == "no-store"
    tampered = fetch(base + urlsplit(url).path.replace("64x48", "65x48"), max_redirects=0)
    assert tampered.status == 403 and tampered.headers["cache-control"] == "no-store"


def test_serve_mode_headers(client: FlaskClient, app: Flask, fixtures: Path) -> None:
    media_id = put(app, fixtures / "jpeg_progressive_1280x960.jpg")
    path = urlsplit(signed(app, media_id, "320x240", format="webp")).path
    first = client.get(path)
    assert first.status_code == 200 and first.headers["X-Shiftmedia"] == "created"
    stages = dict(part.split(";dur=") for part in first.headers["Server-Timing"].split(", "))
    assert set(stages) == {"fetch", "decode", "resize", "encode", "store"}
    assert all(float(v) >= 0 for v in stages.values())
    assert first.headers["Timing-Allow-Origin"] == "*", "pages on other origins read the stages too"
    second = client.get(path)
    assert second.headers["X-Shiftmedia"] == "stored" and "Server-Timing" not in second.headers


def test_twenty_concurrent_misses_are_one_resize(tmp_path: Path, fixtures: Path) -> None:
    app = make_app(tmp_path / "media", "http://unused.test/media", SHIFTMEDIA_METRICS_PUBLIC="true")
    media_id = put(app, fixtures / "jpeg_progressive_1280x960.jpg")
    with serve_app(app) as base:
        url = base + urlsplit(signed(app, media_id, "640x480", mode="fill", format="avif")).path
        before = metric(base, "shiftmedia_resizes_total")
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: fetch(url), range(20)))
        assert metric(base, "shiftmedia_resizes_total") - before == 1
    assert {a.status for a in answers} == {200}
    assert len({a.body for a in answers}) == 1
    assert sorted(a.headers["x-shiftmedia"] for a in answers).count("created") == 1
    assert Image.open(io.BytesIO(answers[0].body)).size == (640, 480)


def test_overload_answers_503_with_retry_after(tmp_path: Path, fixtures: Path) -> None:
    app = make_app(
        tmp_path / "media",
        "http://unused.test/media",
        SHIFTMEDIA_MAX_CONCURRENT_RESIZES="1",
        SHIFTMEDIA_RESIZE_TIMEOUT="1",
    )
    media_id = put(app, fixtures / "exif_orient_6.jpg")
    gate = threading.Event()
    with app.app_context():
        storage = get_storage()
    blocker = threading.Thread(target=storage.scheduler.run, args=("blocker", lambda: gate.wait(10)))
    blocker.start()
    try:
        response = app.test_client().get(urlsplit(signed(app, media_id, "100x100")).path)
    finally:
        gate.set()
        blocker.join()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5" and response.headers["Cache-Control"] == "no-store"


METRICS_TOKEN = "metrics-token-0123456789"


def test_metrics_are_not_public_unless_said(client: FlaskClient, tmp_path: Path) -> None:
    assert client.get("/metrics").status_code == 404
    guarded = make_app(tmp_path / "media", "http://unused.test/media", SHIFTMEDIA_METRICS_TOKENS=METRICS_TOKEN)
    assert guarded.test_client().get("/metrics").status_code == 401
    wrong = guarded.test_client().get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    good = guarded.test_client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert good.status_code == 200 and b"shiftmedia_requests_in_flight" in good.data
    public = make_app(tmp_path / "media", "http://unused.test/media", SHIFTMEDIA_METRICS_PUBLIC="true")
    assert public.test_client().get("/metrics").status_code == 200


def test_healthz_and_metrics(fixtures: Path, tmp_path: Path) -> None:
    app = make_app(tmp_path / "media", "http://unused.test/media", SHIFTMEDIA_METRICS_TOKENS=METRICS_TOKEN)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {METRICS_TOKEN}"
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json() == {"status": "ok"}
    media_id = put(app, fixtures / "png_palette_trns.png")
    client.get(urlsplit(signed(app, media_id, "50x50")).path)
    text = client.get("/metrics").data.decode()
    for name in (
        "shiftmedia_requests_total",
        "shiftmedia_resize_stage_seconds_bucket",
        "shiftmedia_bytes_in_total",
        "shiftmedia_bytes_out_total",
        "shiftmedia_requests_in_flight",
    ):
        assert name in text
    assert 'stage="decode"' in text
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the media root should be a folder")
    broken = make_app(blocked / "media", "http://unused.test/media")
    for path in ("/healthz", "/readyz"):
        down = broken.test_client().get(path)
        assert down.status_code == 503 and down.get_json()["status"] == "unavailable"
    alive = broken.test_client().get("/livez")
    assert alive.status_code == 200 and alive.get_json() == {"status": "ok"}
    assert alive.headers["Cache-Control"] == "no-store"


def test_one_log_line_per_request_without_secrets(
    client: FlaskClient, app: Flask, fixtures: Path, caplog: pytest.LogCaptureFixture
) -> None:
    media_id = put(app, fixtures / "png_palette_trns.png")
    caplog.set_level("INFO", logger="shiftmedia.access")
    client.get(urlsplit(signed(app, media_id, "40x40")).path + "?X-Amz-Signature=secret-value")
    (record,) = [r for r in caplog.records if r.name == "shiftmedia.access"]
    assert '"status":200' in record.message and '"outcome":"created"' in record.message
    assert "secret-value" not in record.message
    assert all(key not in record.message for key in SECRET_KEYS)


def test_template_helpers(app: Flask, fixtures: Path) -> None:
    media_id = put(app, fixtures / "exif_orient_6.jpg")
    with app.test_request_context():
        srcset = render_template_string("{{ media_srcset(id, '300x200', mode='fill', format='jpg') }}", id=media_id)
        widths = render_template_string(
            "{{ media_srcset(id, '300x200', widths=[150, 600], mode='fill') }}", id=media_id
        )
        picture = render_template_string("{{ media_picture(id, '300x200', alt='A <b>', mode='fill') }}", id=media_id)
    assert [part.split()[-1] for part in srcset.split(", ")] == ["1x", "2x", "3x"]
    assert "/600x400-fill-85-noupscale-" in srcset and "/900x600-fill-85-noupscale-" in srcset
    assert "/150x100-fill-80-" in widths and widths.endswith("600w")
    assert picture.startswith('<picture><source type="image/avif" srcset="')
    assert '<source type="image/webp"' in picture and 'alt="A &lt;b&gt;"' in picture
    assert 'width="300" height="200"' in picture and ".jpg" in picture.split("<img")[1]


@pytest.mark.integration
def test_private_bucket_redirects_to_a_fresh_presigned_url(
    seaweedfs: SeaweedFS, s3_settings: dict[str, str], fixtures: Path
) -> None:
    port = free_port()
    app = create_app(
        {
            **s3_settings,
            "SHIFTMEDIA_STORAGE": "s3",
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_RESPONSE": "redirect",
            "SHIFTMEDIA_SERVICE_URL": f"http://127.0.0.1:{port}/media",
            "SHIFTMEDIA_S3_PRIVATE": "true",
            "SHIFTMEDIA_PRESIGN_EXPIRY": "600",
        }
    )
    media_id = put(app, fixtures / "exif_orient_6.jpg")
    url = signed(app, media_id, "200x200", mode="fill", format="jpg")
    assert url.startswith(f"http://127.0.0.1:{port}/media/")
    with serve_app(app, port):
        first = fetch(url, max_redirects=0)
        assert first.status == 302 and first.headers["cache-control"] == "no-store"
        location = first.headers["location"]
        assert location.startswith(seaweedfs.endpoint) and "X-Amz-Signature=" in location
        image = fetch(location)
        assert image.status == 200 and Image.open(io.BytesIO(image.body)).size == (200, 200)
        again = fetch(url)
        assert again.status == 200 and len(again.redirects) == 1 and again.body == image.body
        assert fetch(url.replace("200x200", "201x200"), max_redirects=0).status == 403
    with app.app_context():
        original = get_storage().original_url(media_id)
    assert "X-Amz-Signature=" in original and fetch(original).status == 200
    assert fetch(original.split("?")[0]).status == 403


def test_in_flight_gauge_returns_to_zero(fixtures: Path, tmp_path: Path) -> None:
    app = make_app(tmp_path / "media", "http://unused.test/media", SHIFTMEDIA_METRICS_PUBLIC="true")
    client = app.test_client()
    media_id = put(app, fixtures / "png_palette_trns.png")
    for path in (urlsplit(signed(app, media_id, "30x30")).path, "/media/nope", "/media/../x"):
        client.get(path)
    text = client.get("/metrics").data.decode()
    assert re.search(r"^shiftmedia_requests_in_flight 0\.0$", text, re.MULTILINE), text
