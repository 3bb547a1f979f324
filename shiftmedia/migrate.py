"""Copy stored media from one backend to another, verified and resumable.

The use case is moving a site from local disk to a bucket (or back, or
between buckets) without downtime: run :func:`migrate` while the old backend
still serves, run it again to pick up what changed, then switch. Keys stay
the same, so every signed URL keeps working.

Each copy is verified by size and SHA-256 of both sides; an object already
present on the target with the same size and digest is skipped, so an
interrupted run simply resumes. Derivatives are skipped unless asked for:
they can be recreated from the originals on demand.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .backends import backend_at
from .backends.base import IMMUTABLE, Backend, ObjectInfo
from .errors import NotFound, ShiftMediaError, StorageUnavailable
from .settings import Settings
from .spec import looks_like_derivative

__all__ = ["Migration", "MigrationReport", "migrate", "selected"]

_CHUNK = 1024 * 1024


@dataclass
class MigrationReport:
    """What a migration did (or, with ``dry_run``, would do).

    ``copied`` and ``bytes`` count objects written (or to be written) and their
    size; ``skipped`` counts objects already on the target with the same size
    and SHA-256; ``failed`` holds ``(key, reason)`` for objects that could not
    be copied or did not verify.
    """

    copied: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    bytes: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed


class _HashingReader(io.RawIOBase):
    """A read-only stream that feeds everything read through SHA-256 and counts bytes."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._stream.read(len(buffer))
        self.digest.update(chunk)
        self.size += len(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _sha256(backend: Backend, key: str) -> tuple[int, str]:
    """Size and SHA-256 of ``key`` on ``backend``, streamed."""
    digest = hashlib.sha256()
    size = 0
    with backend.open(key) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _already_there(source: Backend, target: Backend, info: ObjectInfo) -> bool:
    """True if ``target`` holds the same bytes as ``source`` under ``info.key``."""
    try:
        if target.stat(info.key).size != info.size:
            return False
        return _sha256(target, info.key) == _sha256(source, info.key)
    except NotFound:
        return False


def _copy(source: Backend, target: Backend, info: ObjectInfo, derivative: bool) -> int:
    """Stream one object across, then read it back and compare; returns its size."""
    with source.open(info.key) as stream:
        reader = _HashingReader(stream)
        target.write(
            info.key,
            io.BufferedReader(reader, _CHUNK),
            content_type=info.content_type,
            cache_control=IMMUTABLE if derivative else None,
        )
    expected = (reader.size, reader.digest.hexdigest())
    if _sha256(target, info.key) != expected:
        target.delete(info.key)
        raise ShiftMediaError("the copy on the target does not match the source (size or SHA-256)")
    return reader.size


def selected(source: Backend, derivatives: bool) -> Iterator[ObjectInfo]:
    """The objects of ``source`` a migration handles: originals, and derivatives if asked."""
    for info in source.list():
        if info.key.startswith(".leases/"):  # render leases (shiftmedia.lease): in-flight renders, not media
            continue
        if derivatives or not looks_like_derivative(info.key.rsplit("/", 1)[-1]):
            yield info


class Migration:
    """One migration from ``source`` to ``target``: the objects it handles, listed once, then copied."""

    def __init__(self, source: Backend, target: Backend, *, derivatives: bool = False, dry_run: bool = False) -> None:
        self.source = source
        self.target = target
        self.dry_run = dry_run
        self.todo = list(selected(source, derivatives))

    @classmethod
    def between(cls, source: str, target: str, settings: Settings, **options: bool) -> Migration:
        """A migration between two locations, ``local:PATH`` or ``s3://BUCKET[/PREFIX]``."""
        return cls(backend_at(source, settings), backend_at(target, settings), **options)

    @property
    def total_bytes(self) -> int:
        """The size of every object it handles."""
        return sum(info.size for info in self.todo)

    def run(self, progress: Callable[[ObjectInfo], object] | None = None) -> MigrationReport:
        """Copy every object not already on the target (or, in a dry run, count them).

        Per-object failures are recorded in the report and the run goes on.
        :class:`~shiftmedia.errors.StorageUnavailable` stops the run at once (the
        store is down; every further object would fail too); running again
        resumes where it stopped. ``progress`` is called with each object handled.
        """
        report = MigrationReport(dry_run=self.dry_run)
        for info in self.todo:
            derivative = looks_like_derivative(info.key.rsplit("/", 1)[-1])
            try:
                if _already_there(self.source, self.target, info):
                    report.skipped += 1
                elif self.dry_run:
                    report.copied += 1
                    report.bytes += info.size
                else:
                    report.bytes += _copy(self.source, self.target, info, derivative)
                    report.copied += 1
            except StorageUnavailable:
                raise
            except ShiftMediaError as exc:
                report.failed.append((info.key, str(exc) or type(exc).__name__))
            if progress is not None:
                progress(info)
        return report


def migrate(
    source: Backend,
    target: Backend,
    *,
    derivatives: bool = False,
    dry_run: bool = False,
    progress: Callable[[ObjectInfo], object] | None = None,
) -> MigrationReport:
    """Copy every original (and derivative, if asked) from ``source`` to ``target`` (see :class:`Migration`)."""
    return Migration(source, target, derivatives=derivatives, dry_run=dry_run).run(progress)
