"""Shape 1 end to end: the S3 website endpoint's 404 routing rule sends a miss to the service.

LocalStack serves the bucket's website endpoint with the configuration
``shiftmedia s3 setup`` applied; the service runs under gunicorn in redirect
mode. A client asking the website for a missing resize is sent to the
service (302), which makes and stores it and sends the client back (302) to
the website, which now answers 200; the next request never reaches Python.
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from shiftmedia.storage import Storage

from .conftest import SECRET_KEYS, forge_signature
from .servers.http import fetch
from .servers.localstack_fixtures import WebsiteService

pytestmark = pytest.mark.integration


def test_miss_goes_to_the_service_and_back(website_service: WebsiteService, fixtures: Path) -> None:
    storage = Storage(website_service.backend, SECRET_KEYS)
    media_id = storage.put(fixtures / "exif_orient_6.jpg")
    url = storage.resize_url(media_id, "400x300", mode="fill", format="webp")
    key = storage.resize_key(media_id, "400x300", mode="fill", format="webp")
    assert url == f"{website_service.backend.public_url(key)}"

    first = fetch(url)
    assert first.redirects == [f"{website_service.service.base}/media/{quote(key)}", f"{url}?sm-retry=1"]
    assert first.status == 200 and first.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(first.body)).size == (400, 300)
    assert website_service.backend.exists(key)

    second = fetch(url)
    assert second.status == 200 and second.redirects == [] and second.body == first.body
    access_lines = website_service.service.log().count(f"GET /media/{key} ")  # gunicorn's access line, one a request
    assert access_lines == 1, "the second request must be served by the bucket alone"


def test_redirects_carry_no_store_and_forgeries_end_at_the_service(
    website_service: WebsiteService, fixtures: Path
) -> None:
    storage = Storage(website_service.backend, SECRET_KEYS)
    media_id = storage.put(fixtures / "png_palette_trns.png")
    url = storage.resize_url(media_id, "100x100", format="png")

    to_service = fetch(url, max_redirects=0)
    assert to_service.status == 302
    back = fetch(to_service.headers["location"], max_redirects=0)
    assert back.status == 302 and back.headers["cache-control"] == "no-store"

    forged = fetch(forge_signature(url))
    assert forged.status == 403 and len(forged.redirects) == 1
    assert forged.headers["cache-control"] == "no-store"
    assert len(list(website_service.backend.list())) == 3  # the original, its media info, the resize
