"""``shiftmedia warm`` against a real S3 server (SeaweedFS): ids and sources sharing one bucket.

The bucket holds what shiftmedia stored (ids) beside keys another application
wrote (nested folders, spaces, unicode, ``+``, ``%``, and a file of no image
format). Warming makes each missing preset once, as a miss would make it,
across worker processes and three shards. The read-only source bucket is in
tests/backends/test_sources_s3.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shiftmedia.cli import main
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from ..conftest import SECRET_KEYS
from ..servers.seaweedfs import SeaweedFS
from ..test_sources import FIXTURE_OF, SOURCE_KEYS

pytestmark = pytest.mark.integration

PRESETS = "thumb=64x64-fill-80-noupscale.webp, hero=300x0-fit-85-noupscale.jpg"


@pytest.fixture
def env(s3_settings: dict[str, str]) -> dict[str, str]:
    return {
        **s3_settings,
        "SHIFTMEDIA_STORAGE": "s3",
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PRESETS": PRESETS,
    }


@pytest.fixture
def filled(env: dict[str, str], seaweedfs: SeaweedFS, fixtures: Path) -> list[str]:
    """Three ids and the source keys in one bucket, under its prefix; the references of the originals."""
    storage = Storage.from_settings(Settings.from_values(env))
    ids = [
        storage.put(fixtures / name) for name in ("exif_orient_6.jpg", "png_palette_trns.png", "tiff_cmyk_fogra39.tif")
    ]
    client = seaweedfs.client()
    for key in SOURCE_KEYS:
        client.put_object(
            Bucket=env["S3_BUCKET"], Key=f"media/{key}", Body=(fixtures / FIXTURE_OF[Path(key).suffix]).read_bytes()
        )
    client.put_object(Bucket=env["S3_BUCKET"], Key="media/photos/readme.txt", Body=b"not an image")
    return [*ids, *SOURCE_KEYS]


def warm(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["warm", *args, "--json"], env=env)
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def stored(seaweedfs: SeaweedFS, bucket: str) -> dict[str, bytes]:
    client = seaweedfs.client()
    keys = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    return {
        key[len("media/") :]: client.get_object(Bucket=bucket, Key=key)["Body"].read()
        for key in keys
        if "upscale-" in key
    }


def test_warm_makes_the_presets_of_ids_and_sources_as_a_miss_would(
    env: dict[str, str], seaweedfs: SeaweedFS, filled: list[str]
) -> None:
    code, summary = warm(env, "--all", "--jobs", "2")
    assert code == 0, summary
    assert summary["created"] == 2 * len(filled) and summary["ignored"] == 1 and summary["failed"] == []
    made = stored(seaweedfs, env["S3_BUCKET"])
    storage = Storage.from_settings(Settings.from_values(env))
    expected = {storage.resize_key(reference, preset=name) for reference in filled for name in ("thumb", "hero")}
    assert set(made) == expected
    for key, data in made.items():
        assert storage.remove(key)
        assert storage.get(key).data == data, key
    code, again = warm(env, "--all")
    assert code == 0 and again["created"] == 0 and again["skipped"] == 2 * len(filled) and again["bytes"] == 0


def test_three_shards_on_s3_make_everything_once(env: dict[str, str], seaweedfs: SeaweedFS, filled: list[str]) -> None:
    created = 0
    for index in range(3):
        code, summary = warm(env, "--prefix", "", "--shard", f"{index}/3", "--jobs", "1")
        assert code == 0 and summary["skipped"] == 0, summary
        created += summary["created"]
    assert created == 2 * len(filled) == len(stored(seaweedfs, env["S3_BUCKET"]))
    code, summary = warm(env, "--prefix", "uploads/with space/")
    assert code == 0 and summary["created"] == 0 and summary["skipped"] == 2


def test_ls_lists_ids_and_sources_with_their_sizes(env: dict[str, str], filled: list[str]) -> None:
    result = CliRunner().invoke(main, ["ls", "--json"], env=env)
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert sorted(row["reference"] for row in listed["originals"]) == sorted(filled)
    assert listed["ignored"] == 1, "photos/readme.txt"
    sizes = {row["reference"]: (row["width"], row["height"]) for row in listed["originals"]}
    assert sizes["photos/2024/cat.jpg"] == (1800, 1200) and sizes["日本/写真.webp"] == (300, 300)
    manifest = json.loads(CliRunner().invoke(main, ["ls", "--prefix", "uploads/", "--manifest"], env=env).output)
    assert [image["key"] for image in manifest["images"]] == ["uploads/with space/ünïcödé + 100%.png"]


@pytest.mark.slow
def test_a_run_killed_mid_way_on_s3_resumes_without_waiting_or_redoing(
    env: dict[str, str], seaweedfs: SeaweedFS, fixtures: Path
) -> None:
    storage = Storage.from_settings(Settings.from_values(env))
    ids = [storage.put(fixtures / "png_rgba_2048x1536.png") for _ in range(12)]
    command = [sys.executable, "-m", "shiftmedia", "warm", "--all", "--jobs", "2", "--json"]
    process_env = {**os.environ, **env, "SHIFTMEDIA_RESIZE_TIMEOUT": "5"}
    first = subprocess.Popen(
        command, env=process_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 90
    while len(stored(seaweedfs, env["S3_BUCKET"])) < 3 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    made_before = stored(seaweedfs, env["S3_BUCKET"])
    assert 3 <= len(made_before) < 2 * len(ids), "the kill must land mid-run"
    second = subprocess.run(command, check=False, env=process_env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["failed"] == [] and summary["created"] + summary["skipped"] == 2 * len(ids)
    assert summary["seconds"] < 60, "abandoned leases are taken at once, not waited out"
    made = stored(seaweedfs, env["S3_BUCKET"])
    assert len(made) == 2 * len(ids)
    for key, data in made.items():
        assert storage.remove(key)
        assert storage.get(key).data == data, key
