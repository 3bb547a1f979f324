"""A real browser plays a stored video original from the service, seeking through ``Range`` requests,
and shows poster frames of it: Debian's headless Chromium against the service under gunicorn.

The clips are made here with PyAV (:mod:`tests.engine.videoclips`): five
seconds at 320x240 whose middle is one colour each second (black for the
first, so the representative frame has a blank opening to skip), framed by a
border of noise (the same in every run). The noise makes every frame after the
first far from blank and the file about 2 MB, large enough that the browser
reads it in several ranges rather than in one answer. A WebM (VP9) and an MP4
(H.264) clip each get a page with the original in a ``<video>``, a canvas the
video is drawn on after each seek, and ``<img>`` poster frames of several
sizes, modes and formats.

The service sends no CORS headers, so the page may draw the video on a canvas
but not read the canvas back: the colours are read from the page's screenshot
instead, at the centre of each canvas, of the ``<video>`` and of each poster.
"""

from __future__ import annotations

import functools
import html
import random
from dataclasses import dataclass
from pathlib import Path
from time import monotonic, sleep
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageStat

from shiftmedia.backends.local import LocalBackend
from shiftmedia.storage import Storage

from .conftest import SECRET_KEYS
from .engine.videoclips import encode
from .servers.chromium import Chromium
from .servers.http import fetch
from .servers.service import Service
from .test_e2e_browser import LOAD_TIMEOUT, OUTPUT, PageServer

SIZE = (320, 240)
FPS = 25
SECONDS = 5
BORDER = 40
#: The colour of the middle of the frames in each second: black, red, green, blue, yellow.
COLOURS = ((0, 0, 0), (200, 40, 40), (40, 170, 70), (40, 70, 200), (220, 200, 50))
#: Per channel, how far a colour seen on the screen may be from the colour encoded.
TOLERANCE = 40

#: The clips: their codec, container, file name and the type a browser is asked whether it plays.
CLIPS = {
    "webm": ("vp9", "webm", "clip.webm", 'video/webm; codecs="vp9"'),
    "mp4": ("h264", "mp4", "clip.mp4", 'video/mp4; codecs="avc1.42E01E"'),
}


def frame(index: int) -> Image.Image:
    """Frame ``index`` of a clip: its second's colour, inside a border of noise after the first second."""
    second = index // FPS
    picture = Image.new("RGB", SIZE, COLOURS[second])
    if second:
        noise = Image.frombytes("L", SIZE, random.Random(index).randbytes(SIZE[0] * SIZE[1])).convert("RGB")
        border = Image.new("L", SIZE, 255)
        border.paste(0, (BORDER, BORDER, SIZE[0] - BORDER, SIZE[1] - BORDER))
        picture.paste(noise, (0, 0), border)
    return picture


@functools.cache
def clip(kind: str) -> bytes:
    """The clip of ``kind`` (a key of :data:`CLIPS`), encoded once per test run; a keyframe every 2 s."""
    codec, container, _, _ = CLIPS[kind]
    return encode(frame, count=FPS * SECONDS, codec=codec, container=container, fps=FPS, gop=2 * FPS)


@dataclass(frozen=True)
class Poster:
    """One poster frame on the page, the size the browser must decode it at, and the second it shows."""

    size: str
    options: dict[str, Any]
    expected: tuple[int, int]
    second: int


POSTERS = [
    Poster("160x120", {"mode": "fill", "format": "jpg", "time": 4.2}, (160, 120), 4),
    Poster("160x120", {"mode": "fill", "format": "jpg"}, (160, 120), 1),
    Poster("200x0", {"format": "webp", "time": 4.2}, (200, 150), 4),
    Poster("200x0", {"format": "webp"}, (200, 150), 1),
    Poster("96x96", {"mode": "pad", "format": "png", "time": 2.5}, (96, 96), 2),
    Poster("0x90", {"format": "avif", "time": 0.5}, (120, 90), 0),
]
"""Each poster shows the frame of its time, even one in the black opening; without a time, the
representative frame: the first second is blank, so the frame at 1 s, the first candidate time past it."""

SEEKS = ((3.5, 3), (1.2, 1))
#: Seconds the page may take to present the last seek's frame in the <video> itself.
PRESENT_TIMEOUT = 5.0
"""The times the video is moved to, forward then back, and the second whose colour each shows."""


def figure(element: str, caption: str) -> str:
    """``element`` with its caption under it, for the person reading the screenshot."""
    return f"<figure>{element}<figcaption>{html.escape(caption)}</figcaption></figure>"


def render_page(video: str, posters: list[str]) -> str:
    """The page: the video, a canvas for each seek, and the posters, each shown at its natural size."""
    width, height = SIZE
    player = f'<video id="video" src="{html.escape(video)}" preload="metadata" muted width="{width}" height="{height}">'
    row = figure(f"{player}</video>", f"<video>, last moved to {SEEKS[-1][0]} s") + "".join(
        figure(f'<canvas id="seek-{index}" width="{width}" height="{height}"></canvas>', f"drawn at {time} s")
        for index, (time, _) in enumerate(SEEKS)
    )
    images = "".join(
        figure(f'<img id="poster-{index}" src="{html.escape(url)}">', f"{poster.size} {poster.options}")
        for index, (poster, url) in enumerate(zip(POSTERS, posters, strict=True))
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>shiftmedia video</title>
<style>
body {{ font: 12px sans-serif; margin: 8px; background: #fff; }}
div {{ display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 8px; }}
figure {{ margin: 0; }} video, canvas, img {{ display: block; }}
</style>
<script>
function seekAndDraw(time, canvas) {{
  const video = document.querySelector('video');
  return new Promise((done, fail) => {{
    video.addEventListener('seeked', () => {{
      document.getElementById(canvas).getContext('2d').drawImage(video, 0, 0);
      done(video.currentTime);
    }}, {{once: true}});
    video.addEventListener('error', () => fail(new Error(video.error.message)), {{once: true}});
    video.currentTime = time;
  }});
}}
</script></head>
<body><div>{row}</div><div>{images}</div></body></html>
"""


#: Resolves at the video's ``loadedmetadata`` with what it says of the clip; rejects on a media error.
METADATA_SCRIPT = """
new Promise((done, fail) => {
  const video = document.querySelector('video');
  const report = () => done({duration: video.duration, width: video.videoWidth, height: video.videoHeight});
  if (video.readyState >= 1) { report(); return; }
  video.addEventListener('loadedmetadata', report, {once: true});
  video.addEventListener('error', () => fail(new Error(video.error.message)), {once: true});
})
"""

#: Waits until every poster has settled; returns each one's natural size and every element's box, by id.
LAYOUT_SCRIPT = """
Promise.all(Array.from(document.images, (img) => img.complete ? null : new Promise((done) => {
  img.addEventListener('load', done); img.addEventListener('error', done);
}))).then(() => ({
  posters: Array.from(document.images, (img) => [img.naturalWidth, img.naturalHeight]),
  boxes: Object.fromEntries(Array.from(document.querySelectorAll('[id]'), (element) => {
    const box = element.getBoundingClientRect();
    return [element.id, [box.left + box.width / 2, box.top + box.height / 2]];
  })),
}))
"""


def centre_colour(screenshot: Image.Image, centre: list[float]) -> tuple[int, ...]:
    """The mean colour of the 11x11 pixels around ``centre`` in the screenshot."""
    x, y = round(centre[0]), round(centre[1])
    return tuple(round(value) for value in ImageStat.Stat(screenshot.crop((x - 5, y - 5, x + 6, y + 6))).mean)


def shows(shot: Path, box: list[float], second: int) -> bool:
    """Whether the screenshot ``shot`` shows the frame of ``second`` at the centre of ``box``."""
    return second_shown(centre_colour(Image.open(shot).convert("RGB"), box)) == second


def second_shown(colour: tuple[int, ...]) -> int:
    """The second whose colour ``colour`` is, or -1 when it is near none of them."""
    for second, wanted in enumerate(COLOURS):
        if all(abs(seen - value) <= TOLERANCE for seen, value in zip(colour, wanted, strict=True)):
            return second
    return -1


def storage_of(service: Service) -> Storage:
    """A storage on the service's local root, whose URLs point at the service."""
    return Storage(LocalBackend(Path(service.settings["SHIFTMEDIA_LOCAL_ROOT"]), f"{service.base}/media"), SECRET_KEYS)


def original_answers(browser: Chromium, session_id: str, url: str) -> list[tuple[int, str]]:
    """``(status, Content-Range)`` of every answer the tab got for ``url``, in the order they came."""
    answers = []
    for event in browser.events:
        if event.get("sessionId") != session_id or event.get("method") != "Network.responseReceived":
            continue
        response = event["params"]["response"]
        if response["url"] == url:
            headers = {name.lower(): value for name, value in response.get("headers", {}).items()}
            answers.append((int(response["status"]), headers.get("content-range", "")))
    return answers


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CLIPS))
def test_browser_plays_seeks_and_shows_posters_of_a_stored_video(
    browser: Chromium, direct_service: Service, kind: str
) -> None:
    """The ``<video>`` learns the clip's length and size from its header, shows the right frame after a
    seek forward and one back, reading the original in ranges (206 answers only); the posters decode at
    their sizes and show the frame of their time, or the representative frame (not the black opening)."""
    data = clip(kind)
    storage = storage_of(direct_service)
    media_id = storage.put(data, CLIPS[kind][2])
    video_url = storage.original_url(media_id)
    posters = [storage.resize_url(media_id, poster.size, **poster.options) for poster in POSTERS]
    with PageServer(render_page(video_url, posters)) as server:
        page = browser.open_page()
        try:
            page.navigate(server.url, timeout=LOAD_TIMEOUT)
            plays = page.evaluate(f"document.createElement('video').canPlayType({CLIPS[kind][3]!r})")
            if not plays:
                pytest.skip(f"{browser.version} (Debian's chromium build) does not play {CLIPS[kind][3]}")
            metadata = page.evaluate(METADATA_SCRIPT, timeout=LOAD_TIMEOUT)
            landed = [page.evaluate(f"seekAndDraw({time}, 'seek-{index}')") for index, (time, _) in enumerate(SEEKS)]
            layout = page.evaluate(LAYOUT_SCRIPT, timeout=LOAD_TIMEOUT)
            answers = original_answers(browser, page.session_id, video_url)
            statuses = page.responses()
            shot = page.screenshot(OUTPUT / f"browser-video-{kind}.png")
            deadline = monotonic() + PRESENT_TIMEOUT
            while not shows(shot, layout["boxes"]["video"], SEEKS[-1][1]) and monotonic() < deadline:
                # The canvases prove the decoded frame; the page shows it once the compositor presents it,
                # which a loaded machine may do a moment after the last seek.
                sleep(0.2)
                shot = page.screenshot(OUTPUT / f"browser-video-{kind}.png")
        finally:
            page.close()
    print(f"\nscreenshot: {shot}\n{browser.version}: {len(answers)} answers for the original: {answers}")

    assert abs(metadata["duration"] - SECONDS) < 0.1, metadata
    assert (metadata["width"], metadata["height"]) == SIZE, metadata
    assert landed == pytest.approx([time for time, _ in SEEKS], abs=0.05)
    screenshot = Image.open(shot).convert("RGB")
    for index, (time, second) in enumerate(SEEKS):
        colour = centre_colour(screenshot, layout["boxes"][f"seek-{index}"])
        assert second_shown(colour) == second, (f"the video drawn after the seek to {time} s", colour)
    video_colour = centre_colour(screenshot, layout["boxes"]["video"])
    assert second_shown(video_colour) == SEEKS[-1][1], ("the video after the last seek", video_colour)

    size = len(data)
    assert len(answers) > 1 and all(status == 206 for status, _ in answers), answers
    assert all(content_range.endswith(f"/{size}") for _, content_range in answers), answers
    assert any(not content_range.startswith("bytes 0-") for _, content_range in answers), answers
    asked = f'"GET {urlsplit(video_url).path} HTTP/1.1"'
    served = [line for line in direct_service.log().splitlines() if asked in line]
    assert served and all('HTTP/1.1" 206 ' in line for line in served), served

    for index, (poster, url) in enumerate(zip(POSTERS, posters, strict=True)):
        label = f"{poster.size} {poster.options}"
        assert statuses.get(url) == 200, (label, statuses.get(url))
        assert tuple(layout["posters"][index]) == poster.expected, (label, layout["posters"][index])
        colour = centre_colour(screenshot, layout["boxes"][f"poster-{index}"])
        assert second_shown(colour) == poster.second, (label, colour)


@pytest.mark.integration
@pytest.mark.slow
def test_service_answers_range_requests_for_a_stored_video(direct_service: Service) -> None:
    """Straight over HTTP through gunicorn: a range, ``If-Range`` with the current and a stale ETag, a
    suffix, a range past the end, and ``HEAD``."""
    data = clip("webm")
    size = len(data)
    storage = storage_of(direct_service)
    url = storage.original_url(storage.put(data, "clip.webm"))

    whole = fetch(url)
    assert whole.status == 200 and whole.body == data
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/webm"
    etag = whole.headers["etag"]

    part = fetch(url, headers={"Range": "bytes=100-199"})
    assert part.status == 206, part.headers
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.headers["content-length"] == "100" and part.body == data[100:200]

    current = fetch(url, headers={"Range": "bytes=100-199", "If-Range": etag})
    assert current.status == 206 and current.body == data[100:200]

    stale = fetch(url, headers={"Range": "bytes=100-199", "If-Range": '"0123456789abcdef"'})
    assert stale.status == 200 and stale.body == data
    assert "content-range" not in stale.headers

    suffix = fetch(url, headers={"Range": "bytes=-50"})
    assert suffix.status == 206 and suffix.body == data[-50:]
    assert suffix.headers["content-range"] == f"bytes {size - 50}-{size - 1}/{size}"

    past = fetch(url, headers={"Range": f"bytes={size}-"})
    assert past.status == 416, past.headers
    assert past.headers["content-range"] == f"bytes */{size}"

    head = fetch(url, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(size)
    assert head.headers["accept-ranges"] == "bytes" and head.headers["etag"] == etag
