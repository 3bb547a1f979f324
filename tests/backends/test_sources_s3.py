"""Sources on a real S3 server (SeaweedFS): keys shiftmedia never saw, in the store's bucket or read only.

One SeaweedFS of this module's own carries a second identity that may only read
the source bucket and read/write the derivatives bucket, as a customer grants a
read-only key to their bucket (V7, FOVEA): every resize of a source goes
through it, so an attempted write to the sources would fail the test.
"""

from __future__ import annotations

import io
import json
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from PIL import Image

from shiftmedia.backends.s3 import S3Backend
from shiftmedia.backends.s3.bucket import bucket_policy
from shiftmedia.cli import main
from shiftmedia.engine import render
from shiftmedia.errors import AccessDenied
from shiftmedia.settings import S3Settings, Settings
from shiftmedia.spec import ResizeSpec
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app

from ..conftest import SECRET_KEYS
from ..servers.fixtures import remove_bucket
from ..servers.seaweedfs import SeaweedError, SeaweedFS

pytestmark = pytest.mark.integration

SOURCES = "customer-photos"
DERIVED = "shiftmedia-derived"
#: Keys as another application laid them out: nested folders, spaces, unicode, + and %.
SOURCE_KEYS = ("photos/2024/cat.jpg", "uploads/with space/ünïcödé + 100%.png", "日本/写真.webp", "flat.jpg")
FIXTURE_OF = {".jpg": "exif_orient_6.jpg", ".png": "png_palette_trns.png", ".webp": "webp_alpha_300x300.webp"}


class Reader:
    """The read-only identity's credentials."""

    access_key = "reader" + secrets.token_hex(6)
    secret_key = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    reader = {
        "name": "read-only-sources",
        "credentials": [{"accessKey": Reader.access_key, "secretKey": Reader.secret_key}],
        "actions": [f"Read:{SOURCES}", f"List:{SOURCES}", f"Read:{DERIVED}", f"Write:{DERIVED}", f"List:{DERIVED}"],
    }
    weed = SeaweedFS(tmp_path_factory.mktemp("weed-sources"), extra_identities=[reader])
    try:
        weed.start()
    except SeaweedError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield weed
    weed.stop()


@pytest.fixture
def buckets(server: SeaweedFS, fixtures: Path) -> Iterator[dict[str, bytes]]:
    admin = server.client()
    for name in (SOURCES, DERIVED):
        admin.create_bucket(Bucket=name)
    written = {}
    for key in SOURCE_KEYS:
        data = (fixtures / FIXTURE_OF[Path(key).suffix]).read_bytes()
        admin.put_object(Bucket=SOURCES, Key=f"library/{key}", Body=data)
        written[key] = data
    yield written
    for name in (SOURCES, DERIVED):
        remove_bucket(admin, name)


def reader_settings(server: SeaweedFS, **extra: str) -> dict[str, str]:
    return {
        "SHIFTMEDIA_STORAGE": "s3",
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "S3_ENDPOINT": server.endpoint,
        "S3_REGION": "us-east-1",
        "S3_FORCE_PATH_STYLE": "true",
        "S3_BUCKET": DERIVED,
        "S3_PREFIX": "media",
        "S3_SOURCE_BUCKET": SOURCES,
        "S3_SOURCE_PREFIX": "library",
        "S3_ACCESS_KEY_ID": Reader.access_key,
        "S3_SECRET_ACCESS_KEY": Reader.secret_key,
        **extra,
    }


def objects(server: SeaweedFS, bucket: str) -> dict[str, str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return {item["Key"]: item["ETag"] for item in listing.get("Contents", [])}


def test_the_reader_may_not_write_the_sources(server: SeaweedFS, buckets: dict[str, bytes]) -> None:
    """The identity the tests resize through is read-only on the sources, as a customer's key would be."""
    raw = S3Backend(
        S3Settings(
            bucket=SOURCES,
            endpoint_url=server.endpoint,
            region="us-east-1",
            access_key_id=Reader.access_key,
            secret_access_key=Reader.secret_key,
            force_path_style=True,
        )
    )
    with pytest.raises(AccessDenied):
        raw.write("library/intruder.jpg", b"x")
    assert raw.read("library/flat.jpg") == buckets["flat.jpg"]


@pytest.mark.parametrize("key", SOURCE_KEYS)
def test_sources_in_a_read_only_bucket_resize_into_the_derivatives_bucket(
    server: SeaweedFS, buckets: dict[str, bytes], key: str
) -> None:
    before = objects(server, SOURCES)
    storage = Storage.from_settings(Settings.from_values(reader_settings(server)))
    made = storage.create_resize(storage.resize_url(key, "120x90", mode="fill", format="png"))
    assert made.created and made.key.startswith(f"{key}/120x90-fill-0-noupscale-")
    expected = render(buckets[key], ResizeSpec.create("120x90", mode="fill", format="png")).data
    assert made.data == expected
    assert server.client().get_object(Bucket=DERIVED, Key=f"media/{made.key}")["Body"].read() == expected
    assert objects(server, SOURCES) == before
    assert storage.delete(key) == 1 and objects(server, SOURCES) == before


@pytest.mark.parametrize("response", ["serve", "redirect"])
def test_the_service_resizes_sources_in_both_response_modes(
    server: SeaweedFS, buckets: dict[str, bytes], response: str
) -> None:
    app = create_app(
        reader_settings(server, SHIFTMEDIA_RESPONSE=response, SHIFTMEDIA_SERVICE_URL="http://localhost/media")
    )
    client = app.test_client()
    storage = Storage.from_settings(
        Settings.from_values(reader_settings(server, SHIFTMEDIA_SERVICE_URL="http://localhost/media"))
    )
    server.client().put_bucket_policy(Bucket=DERIVED, Policy=json.dumps(bucket_policy(DERIVED, "media/")))
    for key in SOURCE_KEYS:
        path = urlsplit(storage.resize_url(key, "64x48", mode="fill", format="webp")).path
        answer = client.get(path)
        if response == "serve":
            assert answer.status_code == 200, answer.data
            assert Image.open(io.BytesIO(answer.data)).size == (64, 48)
        else:
            assert answer.status_code == 302, answer.data
            location = answer.headers["Location"]
            assert location.startswith(f"{server.endpoint}/{DERIVED}/media/")
            with urllib.request.urlopen(location, timeout=10) as bucket_answer:
                assert Image.open(io.BytesIO(bucket_answer.read())).size == (64, 48)
        assert client.get(path.replace("/64x48-", "/65x48-", 1)).status_code == 403


def test_s3_check_reads_the_sources_and_says_which_permission_is_missing(
    server: SeaweedFS, buckets: dict[str, bytes]
) -> None:
    env = {**reader_settings(server), "SHIFTMEDIA_CONFIG": ""}
    report = json.loads(CliRunner().invoke(main, ["s3", "check", "--json"], env=env).stdout)
    sources = [c for c in report["checks"] if c["what"].startswith("read the sources")]
    assert sources and sources[0]["ok"], report
    env["S3_SOURCE_BUCKET"] = "not-granted-" + secrets.token_hex(4)
    server.client().create_bucket(Bucket=env["S3_SOURCE_BUCKET"])
    try:
        failed = json.loads(CliRunner().invoke(main, ["s3", "check", "--json"], env=env).stdout)
    finally:
        remove_bucket(server.client(), env["S3_SOURCE_BUCKET"])
    (finding,) = [c for c in failed["checks"] if c["what"].startswith("read the sources")]
    assert not finding["ok"] and not failed["ok"]
    writes = [c for c in failed["checks"] if "s3:PutObject" in c["what"]]
    assert writes and writes[0]["ok"], "the derivatives bucket is still writable"


def test_warm_makes_the_sources_presets_through_the_read_only_key(server: SeaweedFS, buckets: dict[str, bytes]) -> None:
    before = objects(server, SOURCES)
    env = reader_settings(server, SHIFTMEDIA_PRESETS="thumb=64x64-fill-80-noupscale.webp")
    result = CliRunner().invoke(main, ["warm", "--prefix", "", "--jobs", "2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["created"] == len(SOURCE_KEYS) and summary["failed"] == []
    assert objects(server, SOURCES) == before
    storage = Storage.from_settings(Settings.from_values(env))
    for key, data in buckets.items():
        thumb = storage.resize_key(key, preset="thumb")
        stored = server.client().get_object(Bucket=DERIVED, Key=f"media/{thumb}")["Body"].read()
        assert stored == render(data, ResizeSpec.parse("64x64-fill-80-noupscale.webp")).data
