"""End to end behind Debian's nginx, with the site files from deploy/nginx/ as they ship.

Two of the three ways a miss reaches the service (shared/DESIGN.md):

- CDN origin failover: a SeaweedFS bucket is nginx's primary origin; a 403/404
  from it sends the request to the service (gunicorn with python:shiftmedia_webapp.gunicorn_conf,
  two workers, S3 storage on that bucket), which creates the resize, stores it in
  the bucket and answers 200. The next request is answered by the bucket alone.
- Self-hosted: nginx serves the local media root and sends misses to the service,
  which writes the resize there for nginx to serve next time.

Which origin answered is read from nginx's access log (``$upstream_addr`` and
``$upstream_status``, one entry per upstream tried), so the site files carry no
test-only headers.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.s3 import S3Backend
from shiftmedia.backends.s3.bucket import bucket_policy
from shiftmedia.storage import Storage

from .conftest import REPO, SECRET_KEYS, forge_signature
from .servers.http import free_port
from .servers.nginx import AccessLine, Nginx, NginxError, nginx_version, render
from .servers.seaweedfs import SeaweedFS
from .servers.service import Service

pytestmark = pytest.mark.integration

SITES = REPO / "deploy" / "nginx"
ORIGINAL = "jpeg_progressive_1280x960.jpg"
IMMUTABLE = "public, max-age=31536000, immutable"
#: A query string the service's access log must never show (presigned URLs carry such).
SECRET_QUERY = "X-Amz-Credential=never-logged-credential&X-Amz-Signature=never-logged-signature"


@dataclass
class Response:
    """One HTTP answer, errors included."""

    status: int
    body: bytes
    headers: Mapping[str, str]


def fetch(url: str, method: str = "GET") -> Response:
    """``method`` on ``url`` without following redirects."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return Response(answer.status, answer.read(), answer.headers)
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read(), error.headers)


@pytest.fixture
def run_nginx(tmp_path: Path, record_property: Callable[[str, object], None]) -> Iterator[Callable[..., Nginx]]:
    """``run_nginx(site_file, **values)``: nginx on a free port serving the rendered site."""
    started: list[Nginx] = []

    def run(site: str, **values: str) -> Nginx:
        """Render ``site`` with ``values`` (listen and server name filled in) and start nginx."""
        port = free_port()
        text = render(SITES / site, {"listen": f"127.0.0.1:{port}", "server_name": "127.0.0.1", **values})
        server = Nginx(tmp_path / f"nginx-{len(started)}", text, port=port)
        started.append(server)
        try:
            server.start()
        except NginxError as exc:
            pytest.fail(str(exc), pytrace=False)
        record_property("nginx_version", nginx_version())
        record_property("nginx_startup_seconds", round(server.startup_seconds, 3))
        print(f"{nginx_version()} started in {server.startup_seconds:.3f} s")
        return server

    yield run
    for server in started:
        server.stop()


def last_access(nginx: Nginx, count: int) -> AccessLine:
    """The ``count``-th request nginx logged: the one just answered."""
    return nginx.wait_for_access_lines(count)[count - 1]


def assert_marker(response: Response, expected: str) -> None:
    """``X-Shiftmedia`` (created/stored): what the service did for this answer."""
    assert response.headers.get("X-Shiftmedia") == expected


def assert_image(response: Response, content_type: str, size: tuple[int, int]) -> None:
    """``response`` is a 200 carrying a ``content_type`` image of ``size`` pixels."""
    assert response.status == 200, response.body[:300]
    assert response.headers["Content-Type"] == content_type
    with Image.open(io.BytesIO(response.body)) as image:
        assert image.size == size


def test_cdn_origin_failover(
    seaweedfs: SeaweedFS,
    s3_bucket: str,
    s3_settings: dict[str, str],
    make_s3_backend: Callable[..., S3Backend],
    run_nginx: Callable[..., Nginx],
    fixtures: Path,
) -> None:
    bucket_client = seaweedfs.client()
    bucket_client.put_bucket_policy(Bucket=s3_bucket, Policy=json.dumps(bucket_policy(s3_bucket, "media/")))
    bucket_addr = seaweedfs.endpoint.removeprefix("http://")
    service_port = free_port()
    nginx = run_nginx(
        "shiftmedia-cdn-failover.conf",
        bucket_origin=f"{seaweedfs.endpoint}/{s3_bucket}/media/",
        service=f"127.0.0.1:{service_port}",
    )
    public_url = f"{nginx.url}/media"
    service = Service(
        {
            "SHIFTMEDIA_STORAGE": "s3",
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": public_url,
            **s3_settings,
        },
        log_path=nginx.prefix.parent / "gunicorn-failover.log",
        port=service_port,
    )
    try:
        service.start()
        storage = Storage(make_s3_backend(seaweedfs, s3_bucket, prefix="media", public_url=public_url), SECRET_KEYS)
        media_id = storage.put(fixtures / ORIGINAL)

        presigned = storage.original_url(media_id)
        assert presigned.startswith(seaweedfs.endpoint) and "X-Amz-Signature=" in presigned
        assert_image(fetch(presigned), "image/jpeg", (1280, 960))
        through_front = fetch(f"{public_url}/{storage.original_key(media_id)}")
        assert through_front.status == 403 and through_front.headers["Cache-Control"] == "no-store"
        refused = last_access(nginx, 1)
        assert (refused.upstreams, refused.upstream_statuses) == ((bucket_addr, service.address), ("403", "403"))

        url = storage.resize_url(media_id, "320x240", mode="fill", format="webp")
        assert url.startswith(public_url + "/")
        first = fetch(url)
        assert_image(first, "image/webp", (320, 240))
        assert first.headers["Cache-Control"] == IMMUTABLE and first.headers["ETag"]
        assert_marker(first, "created")
        miss = last_access(nginx, 2)
        assert miss.upstreams == (bucket_addr, service.address), miss
        assert miss.upstream_statuses[0] in ("403", "404") and miss.upstream_statuses[1] == "200", miss

        for count in (3, 4):
            again = fetch(url)
            assert_image(again, "image/webp", (320, 240))
            assert again.body == first.body
            assert again.headers["Cache-Control"] == IMMUTABLE
            assert "X-Shiftmedia" not in again.headers
            hit = last_access(nginx, count)
            assert (hit.upstreams, hit.upstream_statuses) == ((bucket_addr,), ("200",)), hit

        with_query = fetch(f"{url}?acl&response-content-type=text/html")
        assert with_query.body == first.body and with_query.headers["Content-Type"] == "image/webp"
        assert last_access(nginx, 5).upstreams == (bucket_addr,)

        head = fetch(url, method="HEAD")
        assert head.status == 200 and head.body == b""
        assert head.headers["Content-Length"] == str(len(first.body))

        tampered_url = forge_signature(url)
        tampered_key = "media/" + tampered_url.removeprefix(public_url + "/")
        for count in (7, 8):
            tampered = fetch(tampered_url)
            assert tampered.status == 403 and tampered.headers["Cache-Control"] == "no-store"
            assert b"Traceback" not in tampered.body
            denied = last_access(nginx, count)
            assert denied.upstreams == (bucket_addr, service.address) and denied.upstream_statuses[1] == "403"
        with pytest.raises(ClientError):
            bucket_client.head_object(Bucket=s3_bucket, Key=tampered_key)

        assert fetch(f"{nginx.url}/media/x.jpg", method="POST").status == 405
        assert fetch(f"{nginx.url}/elsewhere").status == 404
    finally:
        service.stop()
    assert "Traceback" not in service.log(), service.log()


def test_self_hosted(
    tmp_path: Path,
    run_nginx: Callable[..., Nginx],
    fixtures: Path,
) -> None:
    media_root = tmp_path / "media"
    media_root.mkdir()
    service_port = free_port()
    nginx = run_nginx("shiftmedia-selfhosted.conf", media_root=str(media_root), service=f"127.0.0.1:{service_port}")
    public_url = f"{nginx.url}/media"
    service = Service(
        {
            "SHIFTMEDIA_STORAGE": "local",
            "SHIFTMEDIA_LOCAL_ROOT": str(media_root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": public_url,
        },
        log_path=tmp_path / "gunicorn-selfhosted.log",
        port=service_port,
    )
    try:
        service.start()
        storage = Storage(LocalBackend(media_root, public_url), SECRET_KEYS)
        media_id = storage.put(fixtures / ORIGINAL)

        original_url = storage.original_url(media_id)
        original = fetch(original_url)
        assert_image(original, "image/jpeg", (1280, 960))
        assert original.headers["Cache-Control"] == "private, max-age=3600"
        assert last_access(nginx, 1).upstreams == (service.address,)

        url = storage.resize_url(media_id, "200x200", mode="pad", format="png", background="eeeeee")
        key = url.removeprefix(public_url + "/")
        assert not (media_root / key).exists()
        first = fetch(f"{url}?{SECRET_QUERY}")
        assert_image(first, "image/png", (200, 200))
        assert first.headers["Cache-Control"] == IMMUTABLE
        assert_marker(first, "created")
        assert last_access(nginx, 2).upstreams == (service.address,)
        assert (media_root / key).is_file()

        again = fetch(url)
        assert_image(again, "image/png", (200, 200))
        assert again.body == first.body
        assert again.headers["Cache-Control"] == IMMUTABLE
        assert again.headers["X-Content-Type-Options"] == "nosniff"
        assert last_access(nginx, 3).upstreams == ()

        tampered_url = forge_signature(url)
        tampered = fetch(tampered_url)
        assert tampered.status == 403 and tampered.headers["Cache-Control"] == "no-store"
        assert last_access(nginx, 4).upstreams == (service.address,)
        assert not (media_root / tampered_url.removeprefix(public_url + "/")).exists()

        without_token = fetch(original_url.split("?")[0])
        assert without_token.status == 403 and b"not public" in without_token.body
        assert last_access(nginx, 5).upstreams == (service.address,)

        folder = key.rsplit("/", 1)[0]
        (media_root / folder / ".tmp-half-written").write_bytes(b"partial")
        assert fetch(f"{public_url}/{folder}/.tmp-half-written").status == 404
        assert fetch(f"{public_url}/x.jpg", method="POST").status == 405
    finally:
        service.stop()
    log = service.log()
    assert f"/media/{key}" in log, log
    assert "never-logged" not in log, log
