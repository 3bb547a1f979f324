"""The S3 tools of the `shiftmedia` command against a real SeaweedFS: migrate, s3 check, storage on S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.s3 import S3Backend
from shiftmedia.backends.s3.bucket import bucket_policy
from shiftmedia.cli import main
from shiftmedia.storage import Storage

from ..conftest import SECRET_KEYS
from ..servers.seaweedfs import SeaweedFS

pytestmark = pytest.mark.integration


@pytest.fixture
def env(s3_settings: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        **s3_settings,
        "SHIFTMEDIA_CONFIG": "",
        "SHIFTMEDIA_SECRET_KEYS": SECRET_KEYS[0],
        "SHIFTMEDIA_PUBLIC_URL": "http://127.0.0.1:9/media",
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
    }


def invoke(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == code, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    return result.stdout


def test_storage_on_s3_round_trip(s3_backend: S3Backend, fixtures: Path) -> None:
    storage = Storage(s3_backend, SECRET_KEYS)
    ids = {
        path.name: storage.put(path)
        for path in sorted(fixtures.iterdir())
        if path.name.startswith(("exif", "png", "gif", "webp", "tiff", "jpeg"))
    }
    fresh = Storage(s3_backend, SECRET_KEYS)
    for name, media_id in ids.items():
        made = fresh.create_resize(fresh.resize_key(media_id, "120x90", mode="fill", format="png", upscale=True))
        assert made.created and (made.width, made.height) == (120, 90), name
        assert s3_backend.stat(made.key).content_type == "image/png"
        assert fresh.create_resize(made.key).data == made.data
    for media_id in ids.values():
        assert fresh.delete(media_id) == 3  # the original, its media info, the resize
    assert list(s3_backend.list()) == []


def test_migrate_local_to_s3_and_back(env: dict[str, str], fixtures: Path, tmp_path: Path, s3_bucket: str) -> None:
    local = Storage(LocalBackend(tmp_path / "media", "http://127.0.0.1:9/media"), SECRET_KEYS)
    media_id = local.put(fixtures / "png_palette_trns.png")
    key = local.resize_key(media_id, "40x40", format="png")
    local.create_resize(key)
    source, bucket = f"local:{tmp_path / 'media'}", f"s3://{s3_bucket}/media"

    dry = json.loads(invoke(env, "migrate", "--from", source, "--to", bucket, "--dry-run", "--json"))
    # Originals travel with their media info documents; --derivatives adds the resize.
    assert dry == {"copied": 2, "skipped": 0, "failed": [], "bytes": dry["bytes"], "dry_run": True}
    first = json.loads(invoke(env, "migrate", "--from", source, "--to", bucket, "--json"))
    assert (first["copied"], first["skipped"]) == (2, 0)
    again = json.loads(invoke(env, "migrate", "--from", source, "--to", bucket, "--derivatives", "--json"))
    assert (again["copied"], again["skipped"], again["failed"]) == (1, 2, [])
    summary = invoke(env, "migrate", "--from", source, "--to", bucket, "--derivatives")
    assert summary.strip().splitlines()[-1] == "copied 0 objects (0 bytes), skipped 3, failed 0"

    back = tmp_path / "back"
    invoke(env, "migrate", "--from", bucket, "--to", f"local:{back}", "--derivatives", "--json")
    for stored in (tmp_path / "media").rglob("*.png"):
        assert (back / stored.relative_to(tmp_path / "media")).read_bytes() == stored.read_bytes()
    env["SHIFTMEDIA_STORAGE"] = "s3"
    made = json.loads(invoke(env, "resize", key, "--json"))
    assert (made["width"], made["height"]) == (40, 30)


def test_migrate_rejects_bad_locations(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["migrate", "--from", "ftp://x", "--to", "local:/tmp/x"], env=env)
    assert result.exit_code == 1 and result.stderr.startswith("error: a location is local:PATH or s3://")


def test_s3_check_reports_in_plain_words(env: dict[str, str]) -> None:
    report = json.loads(invoke(env, "s3", "check", "--json"))
    assert report["ok"] and [c["ok"] for c in report["checks"]] == [True] * 6
    text = invoke(env, "s3", "check", "--app-url", "http://127.0.0.1:8000", code=1)
    assert "FAIL website 404 routing rule points at the app: the bucket has no website configuration" in text
    env["S3_BUCKET"] = "no-such-bucket-here"
    report = json.loads(invoke(env, "s3", "check", "--json", code=1))
    assert report["checks"][0] == {
        "ok": False,
        "what": "bucket reachable with these credentials",
        "detail": "S3 bucket 'no-such-bucket-here' does not exist",
    }
    env["S3_SECRET_ACCESS_KEY"] = "wrong-secret-key-value"
    env["S3_BUCKET"] = "whatever-bucket"
    output = invoke(env, "s3", "check", code=1)
    assert output.startswith("FAIL bucket reachable") and "wrong-secret-key-value" not in output


def test_s3_check_says_when_originals_are_public(
    env: dict[str, str], seaweedfs: SeaweedFS, s3_bucket: str, s3_backend: S3Backend
) -> None:
    """The policy of older releases (the whole prefix public) fails the check; the one setup writes passes."""
    public = "nothing but resizes is public (originals stay private)"
    client = seaweedfs.client()
    whole_prefix = bucket_policy(s3_bucket, "media/", originals=True)
    whole_prefix["Statement"][0]["Resource"] = f"arn:aws:s3:::{s3_bucket}/media/*"
    client.put_bucket_policy(Bucket=s3_bucket, Policy=json.dumps(whole_prefix))
    report = json.loads(invoke(env, "s3", "check", "--json", code=1))
    (finding,) = [c for c in report["checks"] if c["what"] == public]
    assert not finding["ok"] and "originals included" in finding["detail"]
    for originals in (False, True):
        policy = bucket_policy(s3_bucket, s3_backend.prefix, originals=originals)
        client.put_bucket_policy(Bucket=s3_bucket, Policy=json.dumps(policy))
        assert json.loads(invoke(env, "s3", "check", "--json"))["ok"]


def test_storage_on_s3_reads_each_image(s3_backend: S3Backend, fixtures: Path) -> None:
    storage = Storage(s3_backend, SECRET_KEYS)
    media_id = storage.put(fixtures / "exif_orient_6.jpg")
    url = storage.resize_url(media_id, "300x0", format="jpg")
    assert url.startswith("http://cdn.test/media/")
    made = storage.create_resize(url)
    with Image.open(s3_backend.open(made.key)) as image:
        assert image.size == (300, 200)


@pytest.mark.slow
def test_migrate_resumes_after_the_process_is_killed(
    env: dict[str, str], tmp_path: Path, s3_bucket: str, s3_backend: S3Backend
) -> None:
    local = LocalBackend(tmp_path / "media", "http://127.0.0.1:9/media")
    expected = {}
    for number in range(40):
        key = f"{number:08x}/0000/4000/8000/000000000000/original.bin"
        expected[key] = os.urandom(2 * 1024 * 1024)
        local.write(key, expected[key])
    command = [
        str(Path(sys.executable).parent / "shiftmedia"),
        "migrate",
        "--from",
        f"local:{tmp_path / 'media'}",
        "--to",
        f"s3://{s3_bucket}/media",
        "--json",
    ]
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(list(s3_backend.list())) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.kill()
    process.wait()
    copied_before = len(list(s3_backend.list()))
    assert 3 <= copied_before < 40, "the kill should land mid-run"

    report = json.loads(
        invoke(env, "migrate", "--from", f"local:{tmp_path / 'media'}", "--to", f"s3://{s3_bucket}/media", "--json")
    )
    assert report["failed"] == []
    assert report["copied"] + report["skipped"] == 40
    # A PUT in flight at the kill may still complete on the server after the listing above.
    assert copied_before <= report["skipped"] <= copied_before + 1
    for key, data in expected.items():
        assert s3_backend.read(key) == data
