"""The demo page in a real browser: Debian's headless Chromium against the service under gunicorn.

The service runs as ``make run`` has it (local disk, the demo upload open).
The browser uploads the fixture photos as people do: one chosen in the form,
two dropped on the page. On the photo's page every tile must load at the size
the page says (the browser's decoded size, its box on the page, and the pixels
of a screenshot against the derivative itself), and its facts must say it was
created by that first request, with the stages of the ``Server-Timing``; a
plain reload finds every tile in the browser's cache, and a hard reload finds
them stored. Then a non-image is refused on the page, a fake one by the
service with a page and a way back, and the photo is deleted from its page.
"""

from __future__ import annotations

import base64
import io
import math
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from shiftmedia.backends.local import LocalBackend
from shiftmedia.storage import Storage

from .conftest import FIXTURES, REPO, SECRET_KEYS
from .servers.chromium import Chromium, Page
from .servers.service import Service
from .test_e2e_browser import ANIMATION, DRAWING, PHOTO, expected_size

OUTPUT = REPO / "tests" / "output"
LOAD_TIMEOUT = 120.0
#: The stages the service names in ``Server-Timing`` when a request makes a resize.
STAGES = ["fetch", "decode", "resize", "encode", "store"]
#: Mean difference per channel (0-255) allowed between a tile in the screenshot and its derivative
#: decoded by Pillow: the two decoders round differently, a wrong or shifted image is far above it.
PIXEL_TOLERANCE = 4.0

#: Waits until every tile's script has filled in its facts (or 60 s pass), then reads each tile.
TILES_SCRIPT = """
new Promise((done) => {
  const tiles = () => Array.from(document.querySelectorAll("[data-tile]"));
  const deadline = Date.now() + 60000;
  const read = () => tiles().map((tile) => {
    const img = tile.querySelector("img");
    const box = img.getBoundingClientRect();
    const fact = (name) => tile.querySelector(`[data-fact="${name}"]`).textContent.trim();
    return {state: tile.dataset.state || null, src: img.src, naturalWidth: img.naturalWidth,
            naturalHeight: img.naturalHeight, width: box.width, height: box.height,
            left: box.left + window.scrollX, top: box.top + window.scrollY,
            said: [Number(tile.dataset.width), Number(tile.dataset.height)],
            format: fact("format"), size: fact("size"), bytes: fact("bytes"), request: fact("request"),
            stages: Array.from(tile.querySelectorAll(".legend b"), (b) => b.textContent)};
  });
  const check = () => (tiles().every((tile) => tile.dataset.state) || Date.now() > deadline
                       ? done(read()) : setTimeout(check, 50));
  check();
})
"""

#: Scrolls the gallery into view (its thumbnails load lazily), waits for them and reads them.
GALLERY_SCRIPT = """
new Promise((done) => {
  document.querySelector(".gallery").scrollIntoView();
  const items = () => Array.from(document.querySelectorAll(".gallery li"));
  const deadline = Date.now() + 30000;
  const check = () => (items().every((li) => li.querySelector("img").complete) || Date.now() > deadline
    ? done(items().map((li) => ({id: li.dataset.id, current: li.classList.contains("current"),
                                  width: li.querySelector("img").naturalWidth})))
    : setTimeout(check, 50));
  setTimeout(check, 50);
})
"""


def drop(name: str, data: bytes, media_type: str) -> str:
    """A script dropping a file called ``name`` on the page, as a person dragging it from their desktop does."""
    encoded = base64.b64encode(data).decode()
    return f"""(() => {{
  const bytes = Uint8Array.from(atob("{encoded}"), (c) => c.charCodeAt(0));
  const files = new DataTransfer();
  files.items.add(new File([bytes], "{name}", {{type: "{media_type}"}}));
  const zone = document.querySelector(".dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {{
    zone.dispatchEvent(new DragEvent(type, {{dataTransfer: files, bubbles: true, cancelable: true}}));
  }}
  return document.querySelector(".upload-status").textContent;
}})()"""


@pytest.fixture
def demo_service(tmp_path: Path) -> Iterator[Service]:
    """The service under gunicorn as ``make run`` has it: local disk, the demo upload on and open."""
    settings = {
        "SHIFTMEDIA_STORAGE": "local",
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_DEMO_UPLOAD": "true",
    }
    service = Service(settings, tmp_path / "gunicorn.log")
    service.settings["SHIFTMEDIA_PUBLIC_URL"] = f"{service.base}/media"
    with service:
        yield service


def page_problems(page: Page) -> list[Any]:
    """Script errors and console errors (a blocked script or style is one) of this tab so far."""
    return [
        event["params"]
        for event in page.browser.events
        if event.get("sessionId") == page.session_id
        and (
            event.get("method") == "Runtime.exceptionThrown"
            or (event.get("method") == "Log.entryAdded" and event["params"]["entry"]["level"] == "error")
        )
    ]


def shown_like(screenshot: Image.Image, tile: dict[str, Any], data: bytes) -> float:
    """Mean difference per channel between the tile's place in ``screenshot`` and the derivative's opaque pixels.

    A box at a fractional position (text lines of 22.5 px above it) is painted
    at the pixel below or above it: the closer of the two is taken.
    """
    image = Image.open(io.BytesIO(data)).convert("RGBA")
    opaque = image.getchannel("A").point(lambda alpha: 255 if alpha == 255 else 0)

    def difference(left: int, top: int) -> float:
        shown = screenshot.crop((left, top, left + image.width, top + image.height)).convert("RGB")
        return sum(ImageStat.Stat(ImageChops.difference(shown, image.convert("RGB")), mask=opaque).mean) / 3

    lefts = {math.floor(tile["left"]), math.ceil(tile["left"])}
    tops = {math.floor(tile["top"]), math.ceil(tile["top"])}
    return min(difference(left, top) for left in lefts for top in tops)


@pytest.mark.integration
def test_demo_page_in_a_browser(browser: Chromium, demo_service: Service) -> None:
    base = demo_service.base
    root = Path(demo_service.settings["SHIFTMEDIA_LOCAL_ROOT"])
    storage = Storage(LocalBackend(root, f"{base}/media"), SECRET_KEYS)
    page = browser.open_page(width=1280, height=900)
    page.call("Runtime.enable")
    page.call("Log.enable")
    try:
        page.navigate(f"{base}/", timeout=LOAD_TIMEOUT)
        assert "Nothing is stored yet" in page.evaluate("document.querySelector('.gallery-section').textContent")

        page.choose_files("input[type=file]", [FIXTURES / ANIMATION[0]])
        page.navigating("document.querySelector('form.upload').requestSubmit()", timeout=LOAD_TIMEOUT)
        animation = page.evaluate("new URLSearchParams(location.search).get('id')")
        page.navigating(drop("drawing.png", (FIXTURES / DRAWING[0]).read_bytes(), "image/png"), timeout=LOAD_TIMEOUT)
        drawing = page.evaluate("new URLSearchParams(location.search).get('id')")
        said = page.navigating(
            drop("photo.jpg", (FIXTURES / PHOTO[0]).read_bytes(), "image/jpeg"), timeout=LOAD_TIMEOUT
        )
        assert said.startswith("Uploading photo.jpg")
        photo = page.evaluate("new URLSearchParams(location.search).get('id')")
        assert len({animation, drawing, photo}) == 3
        photo_key = storage.original_key(photo)
        assert (root / photo_key).read_bytes() == (FIXTURES / PHOTO[0]).read_bytes()

        first = page.evaluate(TILES_SCRIPT, timeout=LOAD_TIMEOUT)
        screenshot = page.screenshot(OUTPUT / "demo-page.png")
        print(f"\nscreenshot: {screenshot}")
        gallery = page.evaluate(GALLERY_SCRIPT, timeout=LOAD_TIMEOUT)

        assert len(first) == 10
        picture = Image.open(screenshot).convert("RGB")
        for tile in first:
            _key, reference, spec = storage.verify(tile["src"])
            expected = expected_size(PHOTO[1], f"{spec.width}x{spec.height}", mode=spec.mode, rect=spec.rect)
            label = f"{spec.mode} {spec.width}x{spec.height} {spec.format}"
            assert reference == photo, label
            assert (tile["naturalWidth"], tile["naturalHeight"]) == expected, (label, tile)
            assert tuple(tile["said"]) == expected and tile["size"] == "{}×{}".format(*expected), (label, tile)
            assert (tile["width"], tile["height"]) == expected, ("displayed at another size", label, tile)
            assert tile["state"] == "created" and tile["request"].startswith("created by this request"), (label, tile)
            assert tile["stages"] == STAGES, (label, tile)
            assert tile["format"] == spec.format.upper()
            with urllib.request.urlopen(tile["src"], timeout=30) as response:
                data = response.read()
            assert tile["bytes"] == (f"{len(data) / 1000:.1f} kB" if len(data) >= 1000 else f"{len(data)} B"), label
            assert shown_like(picture, tile, data) < PIXEL_TOLERANCE, ("the screenshot shows another image", label)

        assert [item["id"] for item in gallery] == [photo, drawing, animation], "newest first"
        assert [item["current"] for item in gallery] == [True, False, False]
        assert all(item["width"] > 0 for item in gallery), gallery

        page.reload(timeout=LOAD_TIMEOUT)
        cached = page.evaluate(TILES_SCRIPT, timeout=LOAD_TIMEOUT)
        assert [tile["state"] for tile in cached] == ["cache"] * 10, cached
        assert all("made earlier in" in tile["request"] for tile in cached), cached
        page.reload(ignore_cache=True, timeout=LOAD_TIMEOUT)
        again = page.evaluate(TILES_SCRIPT, timeout=LOAD_TIMEOUT)
        assert [tile["state"] for tile in again] == ["stored"] * 10, again
        assert [tile["bytes"] for tile in again] == [tile["bytes"] for tile in first]
        assert all(tile["request"].startswith("stored: read as it is") for tile in again), again
        page.screenshot(OUTPUT / "demo-page-stored.png")

        refused = page.evaluate(drop("notes.txt", b"not an image", "text/plain"))
        assert refused == "notes.txt is not an image or a video (text/plain)."
        page.navigating(drop("fake.jpg", b"not a jpeg", "image/jpeg"), timeout=LOAD_TIMEOUT)
        error = page.evaluate(
            "[document.querySelector('h1').textContent, document.querySelector('.status').textContent]"
        )
        assert error == ["Not an image in a supported format", "422"]
        page.screenshot(OUTPUT / "demo-error.png")
        page.navigating("document.querySelector('.error-page a').click()", timeout=LOAD_TIMEOUT)
        assert page.evaluate("location.pathname + location.search") == "/"

        page.navigate(f"{base}/?id={photo}", timeout=LOAD_TIMEOUT)
        page.navigating(
            "document.querySelector('form.delete [name=confirm]').checked = true;"
            "document.querySelector('form.delete').requestSubmit()",
            timeout=LOAD_TIMEOUT,
        )
        assert page.evaluate("document.querySelector('.notice').textContent").startswith("photo.jpg is deleted")
        assert page.evaluate(GALLERY_SCRIPT, timeout=LOAD_TIMEOUT)[0]["id"] == drawing
        assert not any(path.is_file() for path in (root / photo_key).parent.glob("*"))
        assert page_problems(page) == []
    finally:
        page.close()
