"""The browsers' GIF rule of ``test_gif_canvas``, checked in a real Chromium.

Chromium decodes each source GIF frame by frame (WebCodecs' ``ImageDecoder``,
which gives the composited frames the page would show), and the frames must
be :func:`~.test_gif_canvas.browser_frames`: the reference the engine is
tested against is what a browser shows. Chromium then decodes the engine's
animated WebP of each source, whose frames must carry the same alpha.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator

import pytest
from PIL import Image, ImageChops

from shiftmedia.engine import render

from ..servers.chromium import Chromium, Page
from .test_animated_alpha import MODES, _spec, shown_at
from .test_gif_canvas import SOURCES, WEBP_ALPHA_ROUNDING, _starts_once, browser_frames, write

DECODE = """
(async () => {
  const bytes = Uint8Array.from(atob(%s), c => c.charCodeAt(0));
  const decoder = new ImageDecoder({data: bytes, type: %s});
  await decoder.tracks.ready;
  const frames = [];
  for (let index = 0; index < decoder.tracks.selectedTrack.frameCount; index++) {
    const {image} = await decoder.decode({frameIndex: index});
    const canvas = new OffscreenCanvas(image.displayWidth, image.displayHeight);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let text = '';
    for (let at = 0; at < pixels.length; at += 8192) text += String.fromCharCode(...pixels.subarray(at, at + 8192));
    frames.push([canvas.width, canvas.height, image.duration, btoa(text)]);
    image.close();
  }
  return JSON.stringify(frames);
})()
"""
"""Every frame of the image, as the page would draw it: width, height, duration (µs) and RGBA pixels (base64)."""


@pytest.fixture(scope="module")
def page(browser: Chromium) -> Iterator[Page]:
    """A Chromium tab on a page of a local server: ``ImageDecoder`` needs a secure context, as localhost is."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Blank)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tab = browser.open_page()
        tab.navigate(f"http://localhost:{server.server_address[1]}/")
        yield tab
    finally:
        server.shutdown()


class _Blank(http.server.BaseHTTPRequestHandler):
    """Answers every request with an empty page, quietly."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Nothing on stderr."""


def chromium_frames(page: Page, data: bytes, media_type: str) -> list[tuple[int, Image.Image]]:
    """Each frame of ``data`` as Chromium composites it, with the time (ms) it starts showing."""
    script = DECODE % (json.dumps(base64.b64encode(data).decode()), json.dumps(media_type))
    frames, start = [], 0
    for width, height, duration, pixels in json.loads(page.evaluate(script)):
        frames.append((start, Image.frombytes("RGBA", (width, height), base64.b64decode(pixels))))
        start += round((duration or 0) / 1000)
    return frames


@pytest.mark.integration
@pytest.mark.parametrize("source", SOURCES)
def test_chromium_shows_the_reference_frames(page: Page, source: str) -> None:
    gif = SOURCES[source]
    shown = [frame for _start, frame in chromium_frames(page, write(gif), "image/gif")]
    reference = [frame for _start, frame in browser_frames(gif)]
    assert len(shown) == len(reference)
    for index, (seen, wanted) in enumerate(zip(shown, reference, strict=True)):
        assert seen.size == wanted.size, f"frame {index}"
        assert ImageChops.difference(seen.getchannel("A"), wanted.getchannel("A")).getbbox() is None, f"frame {index}"
        opaque = wanted.getchannel("A")
        colour = ImageChops.difference(seen.convert("RGB"), wanted.convert("RGB")).convert("L")
        assert ImageChops.multiply(colour, opaque).getbbox() is None, f"frame {index}"


@pytest.mark.integration
@pytest.mark.parametrize("source", SOURCES)
def test_chromium_shows_the_engines_webp_with_the_reference_alpha(page: Page, source: str) -> None:
    gif = SOURCES[source]
    output = render(write(gif), _spec("webp", MODES["fit same size"])).data
    shown = chromium_frames(page, output, "image/webp")
    for start, wanted in _starts_once(browser_frames(gif)):
        seen = shown_at(shown, start)
        difference = ImageChops.difference(seen.getchannel("A"), wanted.getchannel("A")).getextrema()[1]
        assert difference <= WEBP_ALPHA_ROUNDING, f"frame at {start} ms"
