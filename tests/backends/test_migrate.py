"""Migration between backends: local → S3 (SeaweedFS) → local, verified and resumable."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

import pytest

from shiftmedia.backends.base import Backend, ObjectInfo
from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.s3 import S3Backend
from shiftmedia.migrate import migrate

ORIGINALS = {f"id{i}/photo{i}.jpg": os.urandom(20_000 + i * 1_000) for i in range(6)}
DERIVATIVES = {
    "id0/100x0-fit-80-noupscale-abcdef.webp": b"derivative-0",
    "id1/400x300-fill-85-upscale-0123ab.jpg": b"derivative-1",
}


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C in the middle of a run."""


def fill(backend: Backend) -> None:
    for key, data in {**ORIGINALS, **DERIVATIVES}.items():
        backend.write(key, data)


def contents(backend: Backend) -> dict[str, bytes]:
    return {info.key: backend.read(info.key) for info in backend.list()}


@pytest.fixture
def local(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "src", "http://media.test/media")


@pytest.mark.integration
def test_local_to_s3_to_local(local: LocalBackend, s3_backend: S3Backend, tmp_path: Path) -> None:
    fill(local)
    seen: list[ObjectInfo] = []
    report = migrate(local, s3_backend, progress=seen.append)
    assert (report.copied, report.skipped, report.failed) == (len(ORIGINALS), 0, [])
    assert report.bytes == sum(len(v) for v in ORIGINALS.values())
    assert [info.key for info in seen] == sorted(ORIGINALS)
    assert contents(s3_backend) == ORIGINALS

    report = migrate(local, s3_backend, derivatives=True)
    assert (report.copied, report.skipped) == (len(DERIVATIVES), len(ORIGINALS))
    assert contents(s3_backend) == {**ORIGINALS, **DERIVATIVES}
    assert s3_backend.stat("id0/100x0-fit-80-noupscale-abcdef.webp").content_type == "image/webp"

    back = LocalBackend(tmp_path / "back", "http://media.test/media")
    report = migrate(s3_backend, back, derivatives=True)
    assert (report.copied, report.failed) == (len(ORIGINALS) + len(DERIVATIVES), [])
    assert contents(back) == {**ORIGINALS, **DERIVATIVES}


@pytest.mark.integration
def test_resume_after_interrupted_run(local: LocalBackend, s3_backend: S3Backend) -> None:
    fill(local)
    handled: list[str] = []

    def crash_after_three(info: ObjectInfo) -> None:
        handled.append(info.key)
        if len(handled) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        migrate(local, s3_backend, progress=crash_after_three)
    assert len(list(s3_backend.list())) == 3

    local.write("id0/photo0.jpg", b"changed since the first run")  # a stale copy is re-copied, not skipped
    report = migrate(local, s3_backend)
    assert (report.copied, report.skipped, report.failed) == (len(ORIGINALS) - 2, 2, [])
    assert contents(s3_backend) == {**ORIGINALS, "id0/photo0.jpg": b"changed since the first run"}
    again = migrate(local, s3_backend)
    assert (again.copied, again.skipped, again.bytes) == (0, len(ORIGINALS), 0)


def test_dry_run_copies_nothing(local: LocalBackend, tmp_path: Path) -> None:
    fill(local)
    target = LocalBackend(tmp_path / "dst", "http://media.test/media")
    target.write("id1/photo1.jpg", ORIGINALS["id1/photo1.jpg"])
    report = migrate(local, target, derivatives=True, dry_run=True)
    assert report.dry_run
    assert (report.copied, report.skipped) == (len(ORIGINALS) + len(DERIVATIVES) - 1, 1)
    assert [info.key for info in target.list()] == ["id1/photo1.jpg"]


class CorruptingBackend(LocalBackend):
    """A target that silently stores one byte less of ``bad_key``."""

    bad_key = "id2/photo2.jpg"

    def write(self, key: str, data: bytes | BinaryIO, **options: object) -> bool:  # type: ignore[override]
        if key == self.bad_key:
            body = data if isinstance(data, bytes) else data.read()
            data = io.BytesIO(body[:-1])
        return super().write(key, data, **options)  # type: ignore[arg-type]


def test_failed_verification_is_reported_and_removed(local: LocalBackend, tmp_path: Path) -> None:
    fill(local)
    target = CorruptingBackend(tmp_path / "dst", "http://media.test/media")
    report = migrate(local, target)
    assert report.copied == len(ORIGINALS) - 1
    assert [key for key, _ in report.failed] == ["id2/photo2.jpg"]
    assert "SHA-256" in report.failed[0][1]
    assert not target.exists("id2/photo2.jpg")
