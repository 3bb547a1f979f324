"""Originals streamed in serve mode: ``Range``, ``If-Range`` and conditional requests, nothing loaded whole.

On local disk the service streams the stored file; on a public S3 store
(originals public) the ranged GETs pass through; on a store that signs URLs,
with originals not public, the answer is a fresh presigned URL, which S3
itself serves with ``Range``. The browser playing a video with seeking is
tests/test_e2e_video.py.
"""

from __future__ import annotations

import json
import logging
import resource
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shiftmedia.delivery import Streamed
from shiftmedia.errors import ObjectChanged
from shiftmedia.flask import get_storage
from shiftmedia.flask.views import _EndOnError
from shiftmedia.ids import id_folder, new_id
from shiftmedia_webapp import create_app

from .conftest import PUBLIC_URL, SECRET_KEYS
from .servers.seaweedfs import SeaweedFS


def service(root: Path, **extra: str) -> Flask:
    return create_app(
        {
            "SHIFTMEDIA_STORAGE": "local",
            "SHIFTMEDIA_LOCAL_ROOT": str(root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
            **extra,
        }
    )


@pytest.fixture
def stored(tmp_path: Path, fixtures: Path) -> tuple[FlaskClient, str, bytes]:
    """A client of the service, the path (with its token) of a stored original, and its bytes."""
    app = service(tmp_path / "media")
    data = (fixtures / "jpeg_progressive_1280x960.jpg").read_bytes()
    with app.app_context():
        storage = get_storage()
        url = storage.original_url(storage.put(data, "photo.jpg"))
    parts = urlsplit(url)
    return app.test_client(), f"{parts.path}?{parts.query}", data


def test_a_whole_original_says_it_takes_ranges(stored: tuple[FlaskClient, str, bytes]) -> None:
    client, path, data = stored
    answer = client.get(path)
    assert answer.status_code == 200 and answer.data == data
    assert answer.headers["Accept-Ranges"] == "bytes" and answer.content_length == len(data)
    assert answer.headers["X-Shiftmedia"] == "streamed" and answer.mimetype == "image/jpeg"
    assert answer.headers["ETag"] and answer.headers["Last-Modified"]
    assert answer.headers["Cache-Control"].startswith("private")


@pytest.mark.parametrize(
    "header, start, end",
    [("bytes=0-0", 0, 1), ("bytes=100-199", 100, 200), ("bytes=-100", -100, None), ("bytes=1000-", 1000, None)],
)
def test_a_range_is_206_with_its_bytes(
    stored: tuple[FlaskClient, str, bytes], header: str, start: int, end: int | None
) -> None:
    client, path, data = stored
    answer = client.get(path, headers={"Range": header})
    expected = data[start:end]
    assert answer.status_code == 206 and answer.data == expected
    first = start % len(data)
    assert answer.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


def test_ranges_past_the_end_and_validators(stored: tuple[FlaskClient, str, bytes]) -> None:
    client, path, data = stored
    past = client.get(path, headers={"Range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{len(data)}"
    assert past.headers["Cache-Control"] == "no-store" and b"Traceback" not in past.data
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    matching = client.get(path, headers={"Range": "bytes=10-19", "If-Range": etag})
    assert matching.status_code == 206 and matching.data == data[10:20]
    stale = client.get(path, headers={"Range": "bytes=10-19", "If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.data == data
    head = client.head(path, headers={"Range": "bytes=10-19"})
    assert head.status_code == 206 and head.data == b"" and head.headers["Content-Range"].startswith("bytes 10-19/")


def test_the_token_is_checked_before_anything_is_opened(stored: tuple[FlaskClient, str, bytes]) -> None:
    client, path, _data = stored
    assert client.get(path.split("?")[0], headers={"Range": "bytes=0-9"}).status_code == 403


def test_a_file_of_gigabytes_is_streamed_not_loaded(tmp_path: Path) -> None:
    """A 3 GiB original (sparse, so the test writes nothing): ranges from its end, and a whole GET read in
    part, without the process growing by anything like the file."""
    root = tmp_path / "media"
    media_id = new_id()
    folder = root / id_folder(media_id)
    folder.mkdir(parents=True)
    size = 3 * 1024**3
    with (folder / "film.mp4").open("wb") as film:
        film.truncate(size)
    app = service(root, SHIFTMEDIA_PUBLIC_ORIGINALS="true")
    client = app.test_client()
    path = f"/media/{id_folder(media_id)}/film.mp4"
    grown_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tail = client.get(path, headers={"Range": f"bytes={size - 100}-"})
    assert tail.status_code == 206 and tail.data == bytes(100) and tail.mimetype == "video/mp4"
    whole = client.get(path, buffered=False)
    assert whole.status_code == 200 and whole.content_length == size
    read = 0
    for chunk in whole.response:
        read += len(chunk)
        if read >= 64 * 1024**2:
            break
    whole.close()
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - grown_before
    assert read >= 64 * 1024**2 and grown_kib < 200 * 1024, f"grew {grown_kib} KiB"


def test_redirect_mode_and_derivatives_are_as_before(tmp_path: Path, fixtures: Path) -> None:
    app = service(tmp_path / "media", SHIFTMEDIA_RESPONSE="redirect")
    with app.app_context():
        storage = get_storage()
        media_id = storage.put(fixtures / "png_palette_trns.png")
        resize = urlsplit(storage.resize_url(media_id, "30x30", format="png")).path
    client = app.test_client()
    assert client.get(resize).status_code in (200, 302)
    served = service(tmp_path / "media").test_client().get(resize, headers={"Range": "bytes=0-9"})
    assert served.status_code == 206 and len(served.data) == 10 and served.headers["X-Shiftmedia"] == "stored"


@pytest.mark.integration
def test_on_s3_private_originals_go_to_a_presigned_url_that_takes_ranges(
    s3_settings: dict[str, str], fixtures: Path
) -> None:
    app = create_app({**s3_settings, "SHIFTMEDIA_STORAGE": "s3", "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS)})
    data = (fixtures / "png_rgba_2048x1536.png").read_bytes()
    with app.app_context():
        storage = get_storage()
        key = storage.original_key(storage.put(data, "big.png"))
        token = storage.access.signer.token(key)
    answer = app.test_client().get(f"/media/{key}?access={token}")
    assert answer.status_code == 302 and answer.headers["Cache-Control"] == "no-store"
    request = urllib.request.Request(answer.headers["Location"], headers={"Range": "bytes=1000-1999"})
    with urllib.request.urlopen(request, timeout=10) as ranged:
        assert ranged.status == 206 and ranged.read() == data[1000:2000]


@pytest.mark.integration
def test_on_s3_public_originals_are_streamed_through_ranged_gets(
    s3_settings: dict[str, str], seaweedfs: SeaweedFS, fixtures: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        {
            **s3_settings,
            "SHIFTMEDIA_STORAGE": "s3",
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_ORIGINALS": "true",
        }
    )
    data = (fixtures / "png_rgba_2048x1536.png").read_bytes()
    with app.app_context():
        storage = get_storage()
        key = storage.original_key(storage.put(data, "big.png"))
    client = app.test_client()
    ranged = client.get(f"/media/{key}", headers={"Range": "bytes=500000-500099"})
    assert ranged.status_code == 206 and ranged.data == data[500000:500100]
    assert client.get(f"/media/{key}").data == data
    answer = storage.deliver(key, redirect=False)
    assert isinstance(answer, Streamed) and answer.size == len(data)
    seaweedfs.client().put_object(Bucket=s3_settings["S3_BUCKET"], Key=f"media/{key}", Body=b"replaced")
    with pytest.raises(ObjectChanged):
        answer.stream.read()
    answer = storage.deliver(key, redirect=False)
    assert isinstance(answer, Streamed)
    seaweedfs.client().put_object(Bucket=s3_settings["S3_BUCKET"], Key=f"media/{key}", Body=b"replaced again")
    with app.test_request_context(f"/media/{key}"), caplog.at_level(logging.WARNING, logger="shiftmedia.access"):
        body = _EndOnError(answer).read()
    assert body == b"", "a replaced object ends the body: never bytes of two versions"
    assert "stream_failed" in caplog.text and "replaced" in caplog.text


def test_several_ranges_are_answered_whole_and_the_log_counts_the_bytes(
    stored: tuple[FlaskClient, str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    client, path, data = stored
    with caplog.at_level(logging.INFO, logger="shiftmedia.access"):
        answer = client.get(path, headers={"Range": "bytes=0-1,5-9"})
        ranged = client.get(path, headers={"Range": "bytes=0-99"})
    assert answer.status_code == 200 and answer.data == data
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert ranged.status_code == 206
    logged = [json.loads(record.getMessage()) for record in caplog.records if record.name == "shiftmedia.access"]
    assert [line["bytes"] for line in logged] == [len(data), 100]
