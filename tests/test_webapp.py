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
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.errors import StorageError
from shiftmedia.flask import media_picture
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app
from shiftmedia_webapp.showcase import BOXES

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
    assert len(tiles(shown.data.decode())) == len(BOXES) * MODES
    assert len(sources) > len(BOXES) * MODES
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


# -- the demo page ----------------------------------------------------------------------------------------------------

#: Modes each box shows: fit, fill, fill with a focal point, pad, crop.
MODES = 5
#: What a browser sends when it navigates: it prefers HTML.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SAME_ORIGIN = {"Origin": "http://localhost"}
TOKEN = "demo-token-" + "t" * 24


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes, in order."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def elements(page: str, tag: str, **wanted: str) -> list[dict[str, str]]:
    """The attributes of each ``tag`` whose attributes include ``wanted`` (``class_`` for ``class``, a word of it)."""

    def matches(attrs: dict[str, str]) -> bool:
        for name, value in wanted.items():
            name = name.rstrip("_").replace("_", "-")
            if name == "class" and value not in attrs.get("class", "").split():
                return False
            if name != "class" and attrs.get(name) != value:
                return False
        return True

    return [attrs for found, attrs in Elements(page).found if found == tag and matches(attrs)]


def tiles(page: str) -> list[dict[str, str]]:
    """The ``<img>`` of every tile: the element after each ``data-tile`` figure."""
    found = Elements(page).found
    return [found[index + 2][1] for index, (tag, attrs) in enumerate(found) if tag == "figure" and "data-tile" in attrs]


def demo_app(media_root: Path, **settings: str) -> FlaskClient:
    app = create_app(
        {
            "SHIFTMEDIA_LOCAL_ROOT": str(media_root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
            **settings,
        }
    )
    return app.test_client()


def local_path(client: FlaskClient, url: str) -> str:
    return url.removeprefix("http://media.test")


def test_tiles_show_every_mode_on_boxes_of_another_aspect(demo: FlaskClient, storage: Storage, fixtures: Path) -> None:
    """A 3:2 photo on a square and a 3:1 banner: fit, fill, a focal point, pad and a centred crop each
    look different, and every tile's image is the size the page says."""
    media_id = storage.put(fixtures / "exif_orient_6.jpg")
    page = demo.get(f"/?id={media_id}").data.decode()
    assert "1800×1200 upright" in page
    shown = tiles(page)
    assert len(shown) == len(BOXES) * MODES
    specs = []
    for img in shown:
        _key, reference, spec = storage.verify(html.unescape(img["src"]))
        assert reference == media_id
        response = demo.get(local_path(demo, html.unescape(img["src"])))
        assert response.status_code == 200 and response.headers["X-Shiftmedia"] == "created"
        assert "store;dur=" in response.headers["Server-Timing"]
        size = Image.open(io.BytesIO(response.data)).size
        assert size == (int(img["width"]), int(img["height"])), spec
        specs.append((spec.width, spec.height, spec.mode, spec.gravity, spec.rect, spec.format, size))
    for width, height in BOXES:
        on_box = {
            (mode, gravity, rect, size) for w, h, mode, gravity, rect, _fmt, size in specs if (w, h) == (width, height)
        }
        fitted = (300, 200)
        assert on_box == {
            ("fit", "c", None, fitted),
            ("fill", "c", None, (width, height)),
            ("fill", "f300x350", None, (width, height)),
            ("pad", "c", None, (width, height)),
            ("crop", "c", (450, 300, 900, 600), (width, height)),
        }
    assert {spec[5] for spec in specs} == {"webp", "jpg", "avif", "png"}
    figures = elements(page, "figure", data_tile="")
    assert [(f["data-width"], f["data-height"]) for f in figures] == [(i["width"], i["height"]) for i in shown]
    assert all(img["alt"] for img in shown)


def test_tiles_follow_the_presets(tmp_path: Path, fixtures: Path) -> None:
    presets = "thumb=200x200-fill-85-noupscale.jpg,wide=0x100-fit-80-noupscale.webp"
    client = demo_app(tmp_path, SHIFTMEDIA_PRESETS=presets, SHIFTMEDIA_DEMO_UPLOAD="true")
    with (fixtures / "exif_orient_6.jpg").open("rb") as stream:
        location = client.post("/upload", data={"image": (stream, "p.jpg")}).headers["Location"]
    page = client.get(location).data.decode()
    assert [(img["width"], img["height"]) for img in tiles(page)] == [("200", "200"), ("150", "100")]
    assert "preset thumb" in page and "Box 300" not in page


def test_gallery_lists_originals_newest_first(
    demo: FlaskClient, storage: Storage, fixtures: Path, media_root: Path
) -> None:
    ids = [
        storage.put(fixtures / name)
        for name in ("exif_orient_6.jpg", "png_palette_trns.png", "webp_alpha_300x300.webp")
    ]
    for age, media_id in zip((10, 30, 20), ids, strict=True):
        path = media_root / storage.original_key(media_id)
        os.utime(path, (time.time() - age, time.time() - age))
    page = demo.get("/").data.decode()
    listed = elements(page, "li", class_="thumb")
    assert [item["data-id"] for item in listed] == [ids[0], ids[2], ids[1]]
    assert elements(page, "a", href=f"/?id={ids[2]}")
    thumbs = [img for img in elements(page, "img", loading="lazy")]
    assert len(thumbs) == 3
    for img in thumbs:
        url = html.unescape(img["src"])
        storage.verify(url)
        response = demo.get(local_path(demo, url))
        assert response.status_code == 200 and response.mimetype == "image/webp"
    on_a_page = demo.get(f"/?id={ids[2]}").data.decode()
    assert [item["class"] for item in elements(on_a_page, "li", class_="thumb")][1] == "thumb current"


def test_gallery_is_bounded(
    demo: FlaskClient, storage: Storage, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shiftmedia_webapp.demo.GALLERY_SIZE", 2)
    ids = [storage.put(fixtures / "png_palette_trns.png") for _ in range(3)]
    listed = [item["data-id"] for item in elements(demo.get("/").data.decode(), "li", class_="thumb")]
    assert len(listed) == 2 and set(listed) <= set(ids)


@pytest.mark.parametrize(
    "settings",
    [{}, {"SHIFTMEDIA_PUBLIC_ORIGINALS": "true"}, {"SHIFTMEDIA_DEMO_UPLOAD": "true", "SHIFTMEDIA_API_TOKENS": TOKEN}],
)
def test_gallery_only_where_anyone_may_store(
    media_root: Path, storage: Storage, fixtures: Path, settings: dict[str, str]
) -> None:
    """Listing every id publishes every image: only an open demo (`make run`) lists them."""
    media_id = storage.put(fixtures / "png_palette_trns.png")
    page = demo_app(media_root, **settings).get("/").data.decode()
    assert media_id not in page and not elements(page, "li", class_="thumb")


def test_picture_example_is_the_markup_to_copy(demo: FlaskClient, storage: Storage, fixtures: Path) -> None:
    media_id = storage.put(fixtures / "exif_orient_6.jpg", "Holiday.jpg")
    page = demo.get(f"/?id={media_id}").data.decode()
    with demo.application.test_request_context():
        expected = str(media_picture(media_id, "400x300", mode="fill", alt="holiday.jpg"))
    assert expected in page, "the live example"
    shown = re.search(r'<pre id="picture-markup"><code>(.*?)</code></pre>', page, re.DOTALL)
    assert shown is not None
    assert html.unescape(shown.group(1)).replace("\n", "").replace("  <", "<") == expected
    assert elements(page, "button", data_copy="picture-markup")
    for url in re.findall(r"(http://media\.test/\S+) \dx", html.unescape(shown.group(1))):
        assert demo.get(local_path(demo, url)).status_code == 200


@pytest.mark.parametrize(
    ("upload", "status", "message"),
    [
        ({"image": (io.BytesIO(b"hello"), "x.jpg")}, 422, "not an image in a supported format"),
        ({}, 422, "no file was uploaded"),
        ({"image": (io.BytesIO(b"x" * 3000), "big.jpg")}, 413, "the upload is larger than 2000 bytes"),
        ({"image": (io.BytesIO(b"x" * 100_000), "huge.jpg")}, 413, "the upload is too large"),
    ],
)
def test_upload_errors_are_pages_with_a_way_back(
    media_root: Path, upload: dict[str, object], status: int, message: str
) -> None:
    client = demo_app(
        media_root, SHIFTMEDIA_DEMO_UPLOAD="true", SHIFTMEDIA_MAX_INPUT_BYTES="2000", SHIFTMEDIA_MAX_VIDEO_BYTES="4000"
    )
    response = client.post("/upload", data=upload, headers=BROWSER)
    assert response.status_code == status and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store" and "Accept" in response.headers["Vary"]
    page = response.data.decode()
    assert html.escape(message[0].upper() + message[1:]) in page
    assert elements(page, "a", href="/"), "a way back"
    assert response.headers["X-Request-ID"] in page
    plain = client.post("/upload", data={"image": (io.BytesIO(b"hello"), "x.jpg")})
    assert plain.mimetype == "text/plain"


def test_page_errors_say_what_the_client_may_read(demo: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = demo.get("/?id=3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", headers=BROWSER)
    assert missing.status_code == 404 and missing.mimetype == "text/html" and b"Not found" in missing.data

    def refused(*_args: object, **_kwargs: object) -> str:
        raise StorageError("bucket secret-bucket-name: SlowDown")

    monkeypatch.setattr(Storage, "put", refused)
    response = demo.post("/upload", data={"image": (io.BytesIO(b"x"), "x.jpg")}, headers=BROWSER)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert b"Temporarily unavailable" in response.data and b"secret-bucket" not in response.data
    assert demo.get("/upload", headers=BROWSER).status_code == 405


def test_upload_with_tokens_needs_one(media_root: Path, fixtures: Path) -> None:
    client = demo_app(media_root, SHIFTMEDIA_DEMO_UPLOAD="true", SHIFTMEDIA_API_TOKENS=TOKEN)
    page = client.get("/").data.decode()
    assert elements(page, "input", type="password", name="token")
    with (fixtures / "png_palette_trns.png").open("rb") as stream:
        refused = client.post("/upload", data={"image": (stream, "p.png")}, headers=BROWSER)
    assert refused.status_code == 401 and refused.mimetype == "text/html"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    with (fixtures / "png_palette_trns.png").open("rb") as stream:
        stored = client.post("/upload", data={"image": (stream, "p.png"), "token": TOKEN}, headers=BROWSER)
    assert stored.status_code == 303


def test_upload_refuses_a_form_of_another_site(demo: FlaskClient, media_root: Path, fixtures: Path) -> None:
    for origin in ({"Origin": "http://evil.test"}, {"Origin": "null"}, {"Referer": "http://evil.test/page"}):
        with (fixtures / "png_palette_trns.png").open("rb") as stream:
            response = demo.post("/upload", data={"image": (stream, "p.png")}, headers={**BROWSER, **origin})
        assert response.status_code == 403, origin
    assert not media_root.exists() or not any(media_root.rglob("*.png"))
    with (fixtures / "png_palette_trns.png").open("rb") as stream:
        assert demo.post("/upload", data={"image": (stream, "p.png")}, headers=SAME_ORIGIN).status_code == 303


def test_delete_needs_post_its_own_page_a_confirmation_and_leave(
    demo: FlaskClient, storage: Storage, fixtures: Path, media_root: Path
) -> None:
    media_id = storage.put(fixtures / "png_palette_trns.png", "Paper.png")
    page = demo.get(f"/?id={media_id}").data.decode()
    assert elements(page, "form", class_="delete", method="post", action="/delete")
    assert elements(page, "input", type="checkbox", name="confirm", required="")
    for made in tiles(page):
        demo.get(local_path(demo, html.unescape(made["src"])))
    form = {"id": media_id, "confirm": "yes"}
    assert demo.get("/delete", headers=BROWSER).status_code == 405
    for headers in ({}, {"Origin": "http://evil.test"}, {"Origin": "null"}, {"Referer": "http://evil.test/?id=1"}):
        refused = demo.post("/delete", data=form, headers={**BROWSER, **headers})
        assert refused.status_code == 403 and refused.mimetype == "text/html", headers
        assert elements(refused.data.decode(), "a", href=f"/?id={media_id}"), "back to the page"
    assert demo.post("/delete", data={"id": media_id}, headers=SAME_ORIGIN).status_code == 400
    assert storage.original_key(media_id)
    deleted = demo.post("/delete", data=form, headers={"Referer": f"http://localhost/?id={media_id}"})
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/?deleted=paper.png"
    assert "paper.png</strong> is deleted" in demo.get(deleted.headers["Location"]).data.decode()
    assert not any(path.is_file() for path in media_root.rglob("*"))
    assert demo.get(f"/?id={media_id}").status_code == 404
    assert demo.post("/delete", data=form, headers={**SAME_ORIGIN, **BROWSER}).status_code == 404


def test_deleting_a_source_deletes_its_resizes_only(tmp_path: Path, fixtures: Path) -> None:
    """A source is an object shiftmedia never writes: its page offers to delete its resizes, and says so after."""
    sources = tmp_path / "sources"
    (sources / "photos").mkdir(parents=True)
    (sources / "photos" / "cat.jpg").write_bytes((fixtures / "exif_orient_6.jpg").read_bytes())
    client = demo_app(tmp_path / "media", SHIFTMEDIA_LOCAL_SOURCE_ROOT=str(sources), SHIFTMEDIA_DEMO_UPLOAD="true")
    page = client.get("/?id=photos/cat.jpg").data.decode()
    assert "Delete its resizes" in page and "a source: itself never deleted" in page
    for made in tiles(page):
        assert client.get(local_path(client, html.unescape(made["src"]))).status_code == 200
    assert any((tmp_path / "media").rglob("*.webp"))
    deleted = client.post("/delete", data={"id": "photos/cat.jpg", "confirm": "yes"}, headers=SAME_ORIGIN)
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/?id=photos/cat.jpg&cleared=resizes"
    assert not any(path.is_file() for path in (tmp_path / "media").rglob("*"))
    assert (sources / "photos" / "cat.jpg").read_bytes() == (fixtures / "exif_orient_6.jpg").read_bytes()
    assert (
        "Every resize of <strong>cat.jpg</strong> is deleted" in client.get(deleted.headers["Location"]).data.decode()
    )


def test_delete_with_tokens_needs_one(media_root: Path, storage: Storage, fixtures: Path) -> None:
    client = demo_app(media_root, SHIFTMEDIA_DEMO_UPLOAD="true", SHIFTMEDIA_API_TOKENS=TOKEN)
    media_id = storage.put(fixtures / "png_palette_trns.png")
    page = client.get(f"/?id={media_id}").data.decode()
    assert len(elements(page, "input", type="password", name="token")) == 2, "upload and delete"
    form = {"id": media_id, "confirm": "yes"}
    assert client.post("/delete", data={**form, "token": "wrong"}, headers=SAME_ORIGIN).status_code == 401
    assert client.post("/delete", data={**form, "token": TOKEN}, headers=SAME_ORIGIN).status_code == 303
    assert client.get(f"/?id={media_id}").status_code == 404


@pytest.mark.parametrize("settings", [{}, {"SHIFTMEDIA_PUBLIC_ORIGINALS": "true"}])
def test_nobody_deletes_where_uploads_are_off(
    media_root: Path, storage: Storage, fixtures: Path, settings: dict[str, str]
) -> None:
    client = demo_app(media_root, **settings)
    media_id = storage.put(fixtures / "png_palette_trns.png")
    page = client.get(f"/?id={media_id}").data.decode()
    assert not elements(page, "form", class_="delete")
    response = client.post("/delete", data={"id": media_id, "confirm": "yes"}, headers=SAME_ORIGIN)
    assert response.status_code == 404
    assert storage.original_key(media_id)


def test_the_page_runs_only_its_own_script(demo: FlaskClient, storage: Storage, fixtures: Path) -> None:
    """No framework, nothing from elsewhere: one inline script and style sheet, allowed by a fresh nonce."""
    media_id = storage.put(fixtures / "png_palette_trns.png")
    nonces = set()
    for path in ("/", f"/?id={media_id}"):
        response = demo.get(path)
        policy = response.headers["Content-Security-Policy"]
        nonce = re.search(r"script-src 'nonce-([^']+)'", policy)
        assert nonce is not None and f"style-src 'nonce-{nonce.group(1)}'" in policy
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        page = response.data.decode()
        assert [s.get("nonce") for s in elements(page, "script")] == [nonce.group(1)]
        assert [s.get("nonce") for s in elements(page, "style")] == [nonce.group(1)]
        assert not re.search(r"\s(on\w+|style)=", page), "inline handlers and style attributes are blocked"
        assert not elements(page, "link", rel="stylesheet") and "http://" not in page.replace(PUBLIC_URL, "")
        assert response.headers["Cache-Control"] == "no-store"
        nonces.add(nonce.group(1))
    assert len(nonces) == 2


def test_the_upload_form_works_without_script_and_labels_every_field(
    demo: FlaskClient, storage: Storage, fixtures: Path
) -> None:
    page = demo.get("/").data.decode()
    form = elements(page, "form", class_="upload")
    assert form and form[0]["enctype"] == "multipart/form-data" and form[0]["data-max-bytes"] == str(50 * 1024 * 1024)
    assert elements(page, "label", for_="image") and elements(page, "input", id="image", type="file", name="image")
    media_id = storage.put(fixtures / "png_palette_trns.png")
    shown = demo.get(f"/?id={media_id}").data.decode()
    assert all(img.get("alt") for img in elements(shown, "img"))


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
