"""``shiftmedia warm`` on local disk: every missing preset made once, resumable, sharded, the bytes of a miss.

The S3 shapes (a shared bucket, a read-only source bucket) are in
tests/backends/test_warm_s3.py. Here the command runs as users run it: through
the CLI, with worker processes, and as a real process killed mid-run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.readonly import ReadOnly
from shiftmedia.cli import main
from shiftmedia.lease import lease_key
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage
from shiftmedia.warming import Shard, plan

from .conftest import PUBLIC_URL, SECRET_KEYS
from .test_sources import SOURCE_KEYS, fill_sources, snapshot

PRESETS = "thumb=64x64-fill-80-noupscale.webp, hero=300x0-fit-85-noupscale.jpg"
ORIGINALS = ("exif_orient_6.jpg", "png_palette_trns.png", "webp_alpha_300x300.webp", "gif_animated_trns_30f.gif")


def settings_of(root: Path, **extra: str) -> dict[str, str]:
    return {
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_STORAGE": "local",
        "SHIFTMEDIA_LOCAL_ROOT": str(root),
        "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
        "SHIFTMEDIA_PRESETS": PRESETS,
        **extra,
    }


def storage_at(root: Path, **extra: str) -> Storage:
    return Storage.from_settings(Settings.from_values(settings_of(root, **extra)))


def fill(root: Path, fixtures: Path, copies: int = 1) -> list[str]:
    storage = storage_at(root)
    return [storage.put(fixtures / name) for _ in range(copies) for name in ORIGINALS]


def warm(root: Path, *args: str, **extra: str) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(main, ["warm", *args, "--json"], env=settings_of(root, **extra))
    return result, json.loads(result.output.strip().splitlines()[-1]) if result.output.strip() else {}


def derivatives(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*-*upscale-*") if path.is_file()}


def test_warm_makes_every_missing_preset_with_the_bytes_of_a_miss(tmp_path: Path, fixtures: Path) -> None:
    root, twin = tmp_path / "media", tmp_path / "twin"
    ids = fill(root, fixtures)
    shutil.copytree(root, twin)
    result, summary = warm(root, "--all", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert summary["created"] == 2 * len(ids) and summary["skipped"] == 0 and summary["failed"] == []
    made = derivatives(root)
    assert len(made) == 2 * len(ids) and summary["bytes"] == sum(map(len, made.values()))
    on_miss = storage_at(twin)
    for key, data in made.items():
        assert on_miss.get(key).data == data, key
    storage = storage_at(root)
    for media_id in ids:
        for preset in ("thumb", "hero"):
            assert storage.resize_key(media_id, preset=preset) in made
    assert not (root / ".leases").exists() or not any((root / ".leases").iterdir())


def test_a_second_run_makes_nothing_and_writes_nothing(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    ids = fill(root, fixtures)
    assert warm(root, "--all", "--jobs", "1")[1]["created"] == 2 * len(ids)
    before = snapshot(root)
    result, summary = warm(root, "--all")
    assert result.exit_code == 0 and summary["created"] == 0 and summary["skipped"] == 2 * len(ids)
    assert snapshot(root) == before


def test_one_preset_a_prefix_and_a_dry_run(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    ids = fill(root, fixtures)
    folder = storage_at(root).original_key(ids[0]).rsplit("/", 1)[0]
    result, summary = warm(root, "--prefix", folder + "/", "--preset", "thumb", "--dry-run")
    assert result.exit_code == 0 and summary == {**summary, "created": 1, "dry_run": True}
    assert derivatives(root) == {}
    result, summary = warm(root, "--prefix", folder[:8], "--preset", "thumb")
    assert summary["created"] == 1 and list(derivatives(root)) == [storage_at(root).resize_key(ids[0], preset="thumb")]


def test_ids_from_a_file_lists_what_failed_and_exits_1(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    ids = fill(root, fixtures)
    unknown = "00000000-0000-4000-8000-000000000000"
    listing = tmp_path / "ids.txt"
    listing.write_text(f"{ids[0]}\n\n{unknown}\n{ids[1]}\n{ids[0]}\nnot/an id\n")
    result, summary = warm(root, "--ids-from", str(listing), "--jobs", "1")
    assert result.exit_code == 1
    assert summary["created"] == 4
    assert {failure["reference"] for failure in summary["failed"]} == {unknown, "not/an id"}
    plain = CliRunner().invoke(main, ["warm", "--ids-from", str(listing)], env=settings_of(root))
    assert plain.exit_code == 1 and f"failed: {unknown}: no media with id" in plain.output


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "one of --prefix"),
        (["--all", "--prefix", "a/"], "one of --prefix"),
        (["--all", "--preset", "nope"], "unknown preset"),
        (["--all", "--shard", "3/3"], "0 <= I < N"),
        (["--all", "--shard", "x"], "0 <= I < N"),
        (["--all", "--jobs", "0"], "--jobs"),
    ],
)
def test_bad_invocations_say_why(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["warm", *args], env=settings_of(tmp_path / "media"))
    assert result.exit_code != 0 and message in result.output


def test_without_presets_there_is_nothing_to_warm(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["warm", "--all"], env={**settings_of(tmp_path), "SHIFTMEDIA_PRESETS": ""})
    assert result.exit_code == 2 and "no presets" in result.output


def test_three_shards_split_the_work_without_overlap(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    ids = fill(root, fixtures, copies=3)
    storage = storage_at(root)
    parts = [
        {task.reference for task in plan(storage, ["thumb"], prefix="", shard=Shard(i, 3)).tasks} for i in range(3)
    ]
    assert set.union(*parts) == set(ids) and sum(map(len, parts)) == len(ids)
    assert all(parts), "12 ids over 3 shards: each gets some"
    created = []
    for index in range(3):
        result, summary = warm(root, "--all", "--shard", f"{index}/3", "--jobs", "1")
        assert result.exit_code == 0, result.output
        created.append(summary["created"])
    assert created == [2 * len(part) for part in parts]
    assert warm(root, "--all")[1]["created"] == 0


def test_sources_are_warmed_and_never_written(tmp_path: Path, fixtures: Path) -> None:
    sources = tmp_path / "sources"
    fill_sources(sources, fixtures)
    (sources / "photos" / "notes.txt").write_text("not an image")
    (sources / "photos" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    before = snapshot(sources)
    root = tmp_path / "derived"
    extra = {"SHIFTMEDIA_LOCAL_SOURCE_ROOT": str(sources)}
    result, summary = warm(root, "--all", "--jobs", "2", **extra)
    assert result.exit_code == 1
    assert summary["ignored"] == 1 and summary["created"] == 2 * len(SOURCE_KEYS)
    assert [failure["reference"] for failure in summary["failed"]] == ["photos/broken.jpg"] * 2
    assert snapshot(sources) == before
    storage = Storage(LocalBackend(root, PUBLIC_URL), SECRET_KEYS, sources=ReadOnly(LocalBackend(sources, PUBLIC_URL)))
    made = derivatives(root)
    for key in SOURCE_KEYS:
        thumb = storage_at(root, **extra).resize_key(key, preset="thumb")
        assert thumb.startswith(f"{key}/") and thumb in made
        assert storage.keys.verify(thumb)[1] == key
    result, summary = warm(root, "--prefix", "uploads/", **extra)
    assert result.exit_code == 0 and summary["created"] == 0 and summary["skipped"] == 2


@pytest.mark.slow
def test_a_run_killed_mid_way_resumes_without_waiting_or_redoing(tmp_path: Path, fixtures: Path) -> None:
    root, twin = tmp_path / "media", tmp_path / "twin"
    storage = storage_at(root)
    big = fixtures / "png_rgba_2048x1536.png"
    ids = [storage.put(big) for _ in range(16)] + fill(root, fixtures)
    shutil.copytree(root, twin)
    env = {**os.environ, **settings_of(root), "SHIFTMEDIA_RESIZE_TIMEOUT": "5"}
    command = [sys.executable, "-m", "shiftmedia", "warm", "--all", "--jobs", "2", "--json"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(derivatives(root)) < 4 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    made_before = derivatives(root)
    assert 4 <= len(made_before) < 2 * len(ids), "the kill must land mid-run"
    started = time.monotonic()
    second = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["failed"] == [] and summary["skipped"] >= len(made_before)
    assert summary["created"] + summary["skipped"] == 2 * len(ids)
    assert took < 60 and summary["seconds"] < 4 * 5, "abandoned leases are taken at once, not waited for"
    made = derivatives(root)
    assert len(made) == 2 * len(ids)
    on_miss = storage_at(twin)
    assert all(on_miss.get(key).data == data for key, data in made.items())
    # A write cut by the kill may leave its temporary file (never listed, never read) beside the leases.
    left = {f".leases/{path.name}" for path in (root / ".leases").glob("*") if not path.name.startswith(".tmp-")}
    assert left <= {lease_key(key) for key in made_before}, "only the killed run's leases of stored derivatives stay"


def test_warm_info_stores_the_missing_media_info_only(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    ids = fill(root, fixtures)
    documents = sorted(root.rglob("*.info.json"))
    assert len(documents) == len(ids)
    kept = documents[0].read_bytes()
    for document in documents[1:]:
        document.unlink()
    result, summary = warm(root, "--all", "--info", "--jobs", "2")
    assert result.exit_code == 0 and summary["created"] == len(ids) - 1 and summary["skipped"] == 1
    assert sorted(root.rglob("*.info.json")) == documents and documents[0].read_bytes() == kept
    assert derivatives(root) == {}, "--info alone makes no preset"
    result, summary = warm(root, "--all", "--info", "--preset", "thumb")
    assert summary["created"] == len(ids) and summary["skipped"] == len(ids)


def test_ls_prints_each_original_with_its_size(tmp_path: Path, fixtures: Path) -> None:
    root = tmp_path / "media"
    ids = fill(root, fixtures)
    storage = storage_at(root)
    broken = storage.original_key(ids[1])
    (root / broken).write_bytes((root / broken).read_bytes()[:100])
    (root / f"{broken}.info.json").unlink()
    env = settings_of(root)
    listed = json.loads(CliRunner().invoke(main, ["ls", "--json"], env=env).output)["originals"]
    assert sorted(row["reference"] for row in listed) == sorted(ids)
    by_id = {row["reference"]: row for row in listed}
    first = by_id[ids[0]]
    assert (first["width"], first["height"], first["format"]) == (1800, 1200, "jpg")
    assert first["key"] == storage.original_key(ids[0]) and first["bytes"] == (root / first["key"]).stat().st_size
    assert first["modified"].endswith("Z") and len(first["modified"]) == 20
    assert "width" not in by_id[ids[1]] and by_id[ids[1]]["error"] == "not an image in a supported format"
    manifest = json.loads(CliRunner().invoke(main, ["ls", "--manifest"], env=env).output)
    assert set(manifest) == {"images", "generatedAt"} and manifest["generatedAt"].endswith("Z")
    assert {image["key"] for image in manifest["images"]} == {row["key"] for row in listed}
    assert set(manifest["images"][0]) >= {"key", "size", "lastModified"}
    plain = CliRunner().invoke(main, ["ls", "--prefix", first["key"][:8]], env=env)
    assert plain.exit_code == 0 and f"{first['key']}  {first['bytes']}" in plain.output and "1800x1200" in plain.output
    assert plain.output.rstrip().endswith("1 originals")
