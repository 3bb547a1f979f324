"""A backend on local disk, for development, tests and single-host sites.

Writes go to a temporary file in the destination folder, are flushed to disk,
then renamed (or hard-linked, for ``if_absent``) into place, so a reader sees a
whole file or none, and two writers racing on one key store exactly one file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from ..errors import NotFound, StorageError
from .base import Backend, ObjectInfo, check_key, check_prefix, content_type_for

_CHUNK = 1024 * 1024
_TEMP_PREFIX = ".tmp-"
#: Times a write makes its folder before giving up, when concurrent deletes keep pruning it.
_FOLDER_ATTEMPTS = 5


class LocalBackend(Backend):
    """Objects as files under ``root``; URLs under ``public_url``."""

    nested_keys = False

    def __init__(self, root: str | os.PathLike[str], public_url: str) -> None:
        self.root = Path(root).resolve()
        self.base_url = public_url.rstrip("/")

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file path of ``key``; never outside ``root``."""
        return self.root.joinpath(*check_key(key).split("/"))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def stat(self, key: str) -> ObjectInfo:
        path = self.path(key)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise NotFound(f"no object {key}") from None
        except OSError as exc:
            raise StorageError(f"cannot stat {key}: {exc.strerror}") from None
        if not path.is_file():
            raise NotFound(f"no object {key}")
        return _info(key, st)

    def open(self, key: str) -> BinaryIO:
        path = self.path(key)
        try:
            if path.is_dir():
                raise NotFound(f"no object {key}")
            return path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"no object {key}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from None

    def open_seekable(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        """The open file, and its info from ``fstat`` of that same file.

        A write renames a new file over the old one, so the open file keeps the
        version it was opened on, and its info describes that version.
        """
        stream = self.open(key)
        try:
            st = os.fstat(stream.fileno())
        except OSError as exc:
            stream.close()
            raise StorageError(f"cannot stat {key}: {exc.strerror}") from None
        return stream, _info(key, st)

    def write(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
        if_absent: bool = False,
    ) -> bool:
        path = self.path(key)
        try:
            fd, temp = _temp_beside(path)
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o644)
            if if_absent:
                try:
                    os.link(temp, path)
                except FileExistsError:
                    return False
            else:
                os.replace(temp, path)
            return True
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc.strerror}") from None
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def delete(self, key: str) -> bool:
        path = self.path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc.strerror}") from None
        self._prune(path.parent)
        return True

    def delete_prefix(self, prefix: str) -> int:
        folder = self.path(check_prefix(prefix)[:-1])
        count = 0
        for info in self.list(prefix):
            try:
                self.path(info.key).unlink()
                count += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(f"cannot delete {info.key}: {exc.strerror}") from None
        shutil.rmtree(folder, ignore_errors=True)
        self._prune(folder.parent)
        return count

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        folder = self.path(check_prefix(prefix)[:-1]) if prefix else self.root
        if not folder.is_dir():
            return
        found: list[tuple[str, os.stat_result]] = []
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                if name.startswith(_TEMP_PREFIX):
                    continue
                full = Path(dirpath, name)
                key = full.relative_to(self.root).as_posix()
                try:
                    found.append((key, full.stat()))
                except FileNotFoundError:
                    continue
        for key, st in sorted(found):
            yield _info(key, st)

    def public_url(self, key: str) -> str:
        return f"{self.base_url}/{quote(check_key(key))}"

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create storage root: {exc.strerror}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError("storage root is not writable")

    def _prune(self, folder: Path) -> None:
        """Remove empty folders from ``folder`` up to (not including) the root."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, the folder made first if needed.

    Made again if it vanished in between: a concurrent :meth:`LocalBackend.delete`
    prunes folders it left empty (render leases come and go in folders of their own).
    """
    attempts = _FOLDER_ATTEMPTS
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        except (FileNotFoundError, FileExistsError):  # pruned between two steps (mkdir's exist_ok check too)
            attempts -= 1
            if not attempts:
                raise


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    tag = hashlib.sha256(f"{key}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()).hexdigest()[:32]
    return ObjectInfo(
        key=key,
        size=st.st_size,
        etag=tag,
        modified=st.st_mtime,
        content_type=content_type_for(key),
    )
