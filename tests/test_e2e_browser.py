"""A real browser loads signed resize URLs: Debian's headless Chromium against the service.

Shape 3 (direct): the service runs under gunicorn on the local-disk backend and
its ``/media/<key>`` endpoint both serves stored files and creates missing
resizes. A page of ``<img>`` tags, served from 127.0.0.1 by the test itself,
asks for a dozen resizes of three originals in every mode and output format;
Chromium must decode each one at the size the test computes from the
originals' known dimensions, and must not get an image from a tampered URL.

:func:`load_images` takes any list of image URLs, so other shapes (the S3
website redirect) reuse it with their own URLs and expectations.
"""

from __future__ import annotations

import html
import io
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.storage import Storage

from .conftest import FIXTURES, REPO, SECRET_KEYS, forge_signature
from .servers.chromium import Chromium
from .servers.localstack_fixtures import WebsiteService
from .servers.service import Service

OUTPUT = REPO / "tests" / "output"
LOAD_TIMEOUT = 120.0

#: Displayed (upright) sizes of the originals, from tests/fixtures/SOURCES.md: the JPEG is
#: stored 1200x1800 with EXIF orientation 6, so it is 1800x1200 once turned upright.
PHOTO = ("exif_orient_6.jpg", (1800, 1200))
DRAWING = ("png_rgba_2048x1536.png", (2048, 1536))
ANIMATION = ("gif_animated_trns_30f.gif", (80, 80))


@dataclass(frozen=True)
class ImageResult:
    """What the browser made of one ``<img>``."""

    src: str
    complete: bool
    natural_width: int
    natural_height: int
    event: str | None
    status: int | None

    @property
    def loaded(self) -> bool:
        """True when the browser decoded an image (the ``load`` event fired)."""
        return self.event == "load" and self.natural_width > 0


@dataclass(frozen=True)
class BrowserRun:
    """One page load: every image's result, the screenshot and the time it took."""

    results: list[ImageResult]
    screenshot: Path
    seconds: float


@dataclass(frozen=True)
class Case:
    """One resize on the test page and the size the browser must see."""

    label: str
    source: tuple[str, tuple[int, int]]
    size: str
    options: dict[str, Any]
    expected: tuple[int, int]


def expected_size(
    source: tuple[int, int],
    size: str,
    *,
    mode: str = "fit",
    upscale: bool = False,
    rect: tuple[int, int, int, int] | None = None,
    **_: Any,
) -> tuple[int, int]:
    """The output size of a resize, worked out here from the source size alone.

    ``fill``, ``pad`` and two-sided ``crop`` give the box (the cases never
    need enlarging without ``upscale``); ``fit`` and one-sided ``crop`` keep
    the aspect of the source or rectangle, rounding half up, and never
    enlarge without ``upscale``.
    """
    width, height = (int(side) for side in size.split("x"))
    if mode in ("fill", "pad") or (mode == "crop" and width and height):
        return width, height
    region = (rect[2], rect[3]) if rect else source
    scale = min(
        Fraction(width, region[0]) if width else Fraction(height, region[1]),
        Fraction(height, region[1]) if height else Fraction(width, region[0]),
    )
    if scale > 1 and not upscale:
        return region
    half = Fraction(1, 2)
    return int(region[0] * scale + half), int(region[1] * scale + half)


def case(label: str, source: tuple[str, tuple[int, int]], size: str, **options: Any) -> Case:
    """A :class:`Case` whose expected size comes from :func:`expected_size`."""
    return Case(label, source, size, options, expected_size(source[1], size, **options))


CASES = [
    case("fit jpg", PHOTO, "400x400", mode="fit", format="jpg"),
    case("fit auto width webp", PHOTO, "0x300", mode="fit", format="webp"),
    case("fill jpg", PHOTO, "400x300", mode="fill", format="jpg"),
    case("fill north-east png", PHOTO, "300x300", mode="fill", gravity="ne", format="png"),
    case("fill focal point avif", PHOTO, "320x180", mode="fill", gravity=(0.25, 0.4), format="avif"),
    case("crop rect auto height webp", PHOTO, "300x0", mode="crop", rect=(600, 300, 900, 600), format="webp"),
    case(
        "crop rect south-east jpg", PHOTO, "200x150", mode="crop", rect=(0, 0, 1000, 1000), gravity="se", format="jpg"
    ),
    case("pad transparent png", PHOTO, "400x400", mode="pad", background="00000000", format="png"),
    case("fit auto height avif", DRAWING, "256x0", mode="fit", format="avif"),
    case("fill west webp", DRAWING, "150x400", mode="fill", gravity="w", format="webp"),
    case("pad blue jpg", DRAWING, "300x300", mode="pad", background="336699", format="jpg"),
    case("fit noupscale gif", ANIMATION, "200x200", mode="fit", format="gif"),
    case("fit upscale gif", ANIMATION, "160x160", mode="fit", upscale=True, format="gif"),
    case("fill upscale webp", ANIMATION, "120x60", mode="fill", upscale=True, format="webp"),
]


class PageServer:
    """A one-page HTTP server on 127.0.0.1, in a thread, for the duration of a ``with``."""

    def __init__(self, page: str) -> None:
        body = page.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                """Serve the page at ``/`` and 404 elsewhere."""
                if self.path != "/":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The page's URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def render_page(urls: Sequence[str], labels: Sequence[str]) -> str:
    """A page with one captioned ``<img>`` per URL, each recording its load or error event."""
    figures = "\n".join(
        f'<figure><img src="{html.escape(url)}" alt="{html.escape(label)}" '
        "onload=\"this.dataset.event='load'\" onerror=\"this.dataset.event='error'\">"
        f"<figcaption>{html.escape(label)}<br><span></span></figcaption></figure>"
        for url, label in zip(urls, labels, strict=True)
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>shiftmedia in a browser</title>
<style>
body {{ font: 13px sans-serif; margin: 12px; display: flex; flex-wrap: wrap; gap: 12px; }}
figure {{ margin: 0; width: 230px; }}
img {{ display: block; max-width: 230px; max-height: 230px; min-width: 40px; min-height: 40px;
      background: repeating-conic-gradient(#ccc 0 25%, #fff 0 50%) 0 0 / 16px 16px; }}
figcaption span {{ color: #555; }}
</style></head>
<body>
{figures}
</body></html>
"""


#: Waits until every image has settled, writes each one's natural size into its caption
#: (for the screenshot) and returns what the browser decoded.
SETTLE_SCRIPT = """
Promise.all(Array.from(document.images, (img) => img.complete ? null : new Promise((done) => {
  img.addEventListener('load', done); img.addEventListener('error', done);
}))).then(() => Array.from(document.images, (img) => {
  const caption = img.parentElement.querySelector('figcaption span');
  caption.textContent = img.naturalWidth ? img.naturalWidth + ' x ' + img.naturalHeight : 'not loaded';
  return {src: img.src, complete: img.complete, naturalWidth: img.naturalWidth,
          naturalHeight: img.naturalHeight, event: img.dataset.event || null};
}))
"""


def load_images(browser: Chromium, urls: Sequence[str], name: str, labels: Sequence[str] | None = None) -> BrowserRun:
    """Load a page of ``<img src=url>`` in ``browser`` and report what it decoded.

    The page is served from 127.0.0.1; every image is waited for (loaded or
    failed), the HTTP status of its response is taken from the browser's own
    network events, and the whole page is saved as
    ``tests/output/browser-<name>.png``.
    """
    started = time.monotonic()
    page_html = render_page(urls, labels or [url.rsplit("/", 1)[-1][:40] for url in urls])
    with PageServer(page_html) as server:
        page = browser.open_page()
        try:
            page.navigate(server.url, timeout=LOAD_TIMEOUT)
            raw = page.evaluate(SETTLE_SCRIPT, timeout=LOAD_TIMEOUT)
            statuses = page.responses()
            screenshot = page.screenshot(OUTPUT / f"browser-{name}.png")
        finally:
            page.close()
    results = [
        ImageResult(
            src=item["src"],
            complete=bool(item["complete"]),
            natural_width=int(item["naturalWidth"]),
            natural_height=int(item["naturalHeight"]),
            event=item["event"],
            status=statuses.get(item["src"]),
        )
        for item in raw
    ]
    return BrowserRun(results, screenshot, time.monotonic() - started)


@pytest.mark.integration
def test_browser_loads_signed_resizes_direct(browser: Chromium, direct_service: Service) -> None:
    """Every signed resize loads at its size straight from the service; tampered ones do not load."""
    storage = Storage(
        LocalBackend(Path(direct_service.settings["SHIFTMEDIA_LOCAL_ROOT"]), f"{direct_service.base}/media"),
        SECRET_KEYS,
    )
    ids = {source: storage.put(FIXTURES / source[0]) for source in (PHOTO, DRAWING, ANIMATION)}
    urls = [storage.resize_url(ids[c.source], c.size, **c.options) for c in CASES]
    labels = [c.label for c in CASES]
    expected = [c.expected for c in CASES]

    urls.append(storage.original_url(ids[DRAWING]))
    labels.append("original png")
    expected.append(DRAWING[1])

    genuine = storage.resize_url(ids[PHOTO], "400x300", mode="fill", format="jpg")
    tampered = [forge_signature(genuine), genuine.replace("/400x300-", "/401x300-")]
    assert all(url != genuine for url in tampered)
    urls += tampered
    labels += ["tampered signature", "tampered size"]

    run = load_images(browser, urls, "direct", labels)
    print(f"\nscreenshot: {run.screenshot}")
    print(f"{browser.version}: browser run {run.seconds:.2f} s (browser start {browser.startup_seconds:.2f} s)")

    assert [r.src for r in run.results] == urls
    good, bad = run.results[: len(expected)], run.results[len(expected) :]
    for result, label, size in zip(good, labels[: len(expected)], expected, strict=True):
        assert result.loaded and result.status == 200, (label, result)
        assert (result.natural_width, result.natural_height) == size, (label, result)
    for result, label in zip(bad, labels[len(expected) :], strict=True):
        assert result.complete and result.event == "error" and result.natural_width == 0, (label, result)
        assert result.status == 403, (label, result)
    for case_, url in zip(CASES, urls[: len(CASES)], strict=True):
        key = url.split("/media/", 1)[1]
        assert (Path(direct_service.settings["SHIFTMEDIA_LOCAL_ROOT"]) / key).is_file(), (
            case_.label,
            "the service did not store the resize",
        )
    assert run.screenshot.stat().st_size > 10_000


@pytest.mark.integration
def test_browser_loads_signed_resizes_through_the_s3_website(
    browser: Chromium, website_service: WebsiteService
) -> None:
    """Shape 1: every <img> asks the bucket's website endpoint; misses go to the service and back."""
    storage = Storage(website_service.backend, SECRET_KEYS)
    ids = {source: storage.put(FIXTURES / source[0]) for source in (PHOTO, DRAWING, ANIMATION)}
    urls = [storage.resize_url(ids[c.source], c.size, **c.options) for c in CASES]
    genuine = storage.resize_url(ids[PHOTO], "400x300", mode="fill", format="jpg")
    tampered = forge_signature(genuine)

    run = load_images(browser, [*urls, tampered], "s3-website", [c.label for c in CASES] + ["tampered signature"])
    print(f"\nscreenshot: {run.screenshot}")

    for result, case_ in zip(run.results, CASES, strict=False):
        assert result.loaded and result.status == 200, (case_.label, result)
        assert (result.natural_width, result.natural_height) == case_.expected, (case_.label, result)
        assert website_service.backend.exists(result.src.split("/media/", 1)[1]), case_.label
    assert run.results[-1].event == "error" and run.results[-1].natural_width == 0
    assert run.results[-1].status == 403
    again = load_images(browser, urls, "s3-website-again")
    assert all(r.loaded and r.status == 200 for r in again.results)
    assert website_service.service.log().count("GET /media/") == len(CASES) + 1, "hits must not reach the service"


#: The page behind the clear-canvas animation: a colour no output of it contains.
PAGE_COLOUR = (40, 150, 90)
SQUARE_COLOUR = (220, 20, 20)
CLEAR_CANVAS = (120, 80)
#: Where the square moves: a band across the middle; the rows above it are clear in every frame.
SQUARE_TOP, SQUARE_SIDE, CLEAR_ROWS = 28, 24, 20


def clear_canvas_animation() -> bytes:
    """A GIF of an opaque square jumping across a clear canvas: libwebp stores only
    opaque rectangles for it, and once wrote the WebP without its alpha flag."""
    frames = []
    for step in range(4):
        frame = Image.new("RGBA", CLEAR_CANVAS, (0, 0, 0, 0))
        left = 8 + 28 * step
        frame.paste((*SQUARE_COLOUR, 255), (left, SQUARE_TOP, left + SQUARE_SIDE, SQUARE_TOP + SQUARE_SIDE))
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0, disposal=2)
    return buffer.getvalue()


#: The box of every image on the page, once all have settled.
IMAGE_BOXES_SCRIPT = """
Promise.all(Array.from(document.images, (img) => img.complete ? null : new Promise((done) => {
  img.addEventListener('load', done); img.addEventListener('error', done);
}))).then(() => Array.from(document.images, (img) => {
  const box = img.getBoundingClientRect();
  return {left: box.left, top: box.top, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight};
}))
"""


def _close(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int) -> bool:
    return all(abs(value - wanted) <= tolerance for value, wanted in zip(pixel, colour, strict=False))


@pytest.mark.integration
def test_browser_shows_the_page_through_a_clear_animation(browser: Chromium, direct_service: Service) -> None:
    """An animated WebP (and GIF) of a GIF whose canvas is clear around opaque frames,
    on a coloured page: the screenshot shows the page colour where the canvas is clear
    (not black) and the square where it is."""
    storage = Storage(
        LocalBackend(Path(direct_service.settings["SHIFTMEDIA_LOCAL_ROOT"]), f"{direct_service.base}/media"),
        SECRET_KEYS,
    )
    media_id = storage.put(clear_canvas_animation(), "clear-canvas.gif")
    formats = ("webp", "gif")
    urls = [storage.resize_url(media_id, "120x80", mode="fit", format=fmt) for fmt in formats]
    colour = "rgb({}, {}, {})".format(*PAGE_COLOUR)
    images = "".join(f'<img src="{html.escape(url)}" style="display:block;margin:10px">' for url in urls)
    page_html = f'<!doctype html><html><body style="margin:0;background:{colour}">{images}</body></html>'
    with PageServer(page_html) as server:
        page = browser.open_page()
        try:
            page.navigate(server.url, timeout=LOAD_TIMEOUT)
            boxes = page.evaluate(IMAGE_BOXES_SCRIPT, timeout=LOAD_TIMEOUT)
            shot = page.screenshot(OUTPUT / "browser-clear-animation.png")
        finally:
            page.close()
    screenshot = Image.open(shot).convert("RGB")
    for fmt, box in zip(formats, boxes, strict=True):
        assert (box["naturalWidth"], box["naturalHeight"]) == CLEAR_CANVAS, (fmt, box)
        left, top = round(box["left"]), round(box["top"])
        clear = [
            screenshot.getpixel((left + x, top + y))
            for x in range(0, CLEAR_CANVAS[0], 7)
            for y in range(2, CLEAR_ROWS, 8)
        ]
        assert all(_close(pixel, PAGE_COLOUR, 3) for pixel in clear), (fmt, "clear canvas not showing the page", clear)
        band = [screenshot.getpixel((left + x, top + SQUARE_TOP + SQUARE_SIDE // 2)) for x in range(CLEAR_CANVAS[0])]
        assert any(_close(pixel, SQUARE_COLOUR, 40) for pixel in band), (fmt, "the square is missing", band)
