"""The façade applications call: store originals, sign resize URLs, make resizes.

:class:`Storage` ties a backend, the signer and the engine together. Keys are
``<id folder>/<file name>``: the original under its sanitised name, and every
derivative beside it under its signed resize name, so deleting an id is
deleting one prefix.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlsplit

from .backends.base import IMMUTABLE, Backend, content_type_for
from .engine import Limits, probe, render
from .errors import InvalidSpec, LimitExceeded, NotFound
from .ids import check_id, find_key, id_folder, new_id, safe_filename, split_key
from .signing import ResizeSigner
from .spec import ResizeSpec, looks_like_derivative, parse_signed_name
from .work import ResizeScheduler

Source = str | os.PathLike[str] | bytes | bytearray | BinaryIO

_NAME_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Derivative:
    """A stored resize: its key, what it holds, and its bytes.

    ``created``: this call stored it. ``rendered``: this call ran the engine
    (a call that shared another's work, or found the derivative stored, did
    not). ``timings``: seconds per stage of the work this call did (fetch,
    decode, resize, encode, store); ``source_bytes``: the original's size
    when this call read it.
    """

    key: str
    width: int
    height: int
    format: str
    content_type: str
    data: bytes = field(repr=False)
    created: bool = False
    rendered: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)
    source_bytes: int = 0

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self.data)


class Storage:
    """Originals and their signed resizes in one backend."""

    def __init__(
        self,
        backend: Backend,
        secret_keys: Sequence[str | bytes],
        *,
        limits: Limits = Limits(),
        service_url: str | None = None,
        max_concurrent_resizes: int | None = None,
        resize_timeout: float = 20.0,
    ) -> None:
        """``service_url`` is where resize URLs point when they must reach the
        service first (a private bucket: the service answers with a presigned
        redirect); by default they point at the backend's public URL.
        ``max_concurrent_resizes`` (default: the CPU count) and
        ``resize_timeout`` bound the work of :meth:`create_resize`."""
        self.backend = backend
        self.limits = limits
        self.signer = ResizeSigner(secret_keys)
        self.service_url = service_url.rstrip("/") if service_url else None
        self.scheduler = ResizeScheduler(max_concurrent_resizes or os.cpu_count() or 1, resize_timeout)
        self._names: OrderedDict[str, str] = OrderedDict()
        self._names_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Storage({self.backend!r})"

    def put(self, source: Source, filename: str | None = None) -> str:
        """Store an original and return its new id.

        ``source`` is a path, a binary file object or bytes. The content must be
        an image the engine can decode whole (checked by content, not by name):
        otherwise :class:`~shiftmedia.errors.InvalidImage` or
        :class:`~shiftmedia.errors.LimitExceeded` is raised and nothing is stored.
        ``filename`` (default: the path's name) is sanitised, and its extension
        set to the detected format's.
        """
        data, default_name = self._read_source(source)
        info = probe(data, self.limits)
        media_id = new_id()
        name = safe_filename(filename or default_name, info.format)
        key = f"{id_folder(media_id)}/{name}"
        self.backend.write(key, data, content_type=content_type_for(name), if_absent=True)
        self._remember(media_id, name)
        return media_id

    def delete(self, media_id: str) -> int:
        """Remove an original and every derivative; return how many objects went."""
        count = self.backend.delete_prefix(f"{id_folder(media_id)}/")
        with self._names_lock:
            self._names.pop(media_id, None)
        if count == 0:
            raise NotFound(f"no media with id {media_id}")
        return count

    def original_key(self, media_id: str) -> str:
        """The key of an id's original; :class:`NotFound` if there is none."""
        folder = id_folder(media_id)
        with self._names_lock:
            name = self._names.get(media_id)
            if name is not None:
                self._names.move_to_end(media_id)
        if name is None:
            name = next(
                (
                    info.key.rsplit("/", 1)[1]
                    for info in self.backend.list(f"{folder}/")
                    if "/" not in info.key[len(folder) + 1 :] and not looks_like_derivative(info.key.rsplit("/", 1)[1])
                ),
                None,
            )
            if name is None:
                raise NotFound(f"no media with id {media_id}")
            self._remember(media_id, name)
        return f"{folder}/{name}"

    def original_url(self, media_id: str) -> str:
        """The public URL of an id's original."""
        return self.backend.public_url(self.original_key(media_id))

    def resize_key(self, media_id: str, size: str | int | tuple[int, int], **options: Any) -> str:
        """The key of a signed resize (no storage is touched).

        ``options`` are those of :meth:`ResizeSpec.create`: ``mode``,
        ``quality``, ``format``, ``upscale``, ``gravity``, ``background``,
        ``rect`` and ``keep_icc``.
        """
        return self.key_for(media_id, ResizeSpec.create(size, **options))

    def key_for(self, media_id: str, spec: ResizeSpec) -> str:
        """The key of ``spec`` applied to ``media_id``, signed."""
        self._check_side(spec)
        signature = self.signer.sign(check_id(media_id), spec)
        return f"{id_folder(media_id)}/{spec.signed_name(signature)}"

    def resize_url(self, media_id: str, size: str | int | tuple[int, int], **options: Any) -> str:
        """The URL of a signed resize; see :meth:`resize_key` for options."""
        return self.url_for_key(self.resize_key(media_id, size, **options))

    def url_for_key(self, key: str) -> str:
        """Where a browser asks for a derivative key: the service, or the backend's public URL."""
        if self.service_url:
            return f"{self.service_url}/{quote(key)}"
        return self.backend.public_url(key)

    def verify(self, key_or_url: str) -> tuple[str, str, ResizeSpec]:
        """Check a derivative key or URL: return ``(key, id, spec)``.

        Raises :class:`InvalidKey`/:class:`InvalidSpec` for a malformed one and
        :class:`BadSignature` for a forged or expired one.
        """
        key = find_key(unquote(urlsplit(key_or_url).path) if "://" in key_or_url else key_or_url)
        media_id, name = split_key(key)
        if not looks_like_derivative(name):
            raise InvalidSpec(f"not a derivative name: {name!r}")
        spec, signature = parse_signed_name(name)
        self.signer.verify(media_id, spec, signature)
        return key, media_id, spec

    def create_resize(self, key_or_url: str) -> Derivative:
        """Make (or find) the derivative a signed key or URL names, and return it.

        Concurrent calls for one derivative share one resize; at most
        ``max_concurrent_resizes`` run at once, and a call that cannot start
        within ``resize_timeout`` seconds raises :class:`Overloaded`.
        """
        key, media_id, spec = self.verify(key_or_url)
        self._check_side(spec)
        outcome = self.scheduler.run(key, lambda: self._make(key, media_id, spec))
        if outcome.shared:
            return replace(outcome.value, created=False, rendered=False, timings={})
        return outcome.value

    def _make(self, key: str, media_id: str, spec: ResizeSpec) -> Derivative:
        if self.backend.exists(key):
            data = self.backend.read(key)
            info = probe(data, self.limits)
            return Derivative(key, info.width, info.height, spec.format, content_type_for(key), data)
        clock = time.perf_counter()
        original = self.backend.read(self.original_key(media_id), max_bytes=self.limits.max_input_bytes)
        fetched = time.perf_counter()
        rendered = render(original, spec, self.limits)
        done = time.perf_counter()
        created = self.backend.write(
            key,
            rendered.data,
            content_type=rendered.content_type,
            cache_control=IMMUTABLE,
            if_absent=True,
        )
        timings = {"fetch": fetched - clock, **rendered.timings, "store": time.perf_counter() - done}
        return Derivative(
            key,
            rendered.width,
            rendered.height,
            spec.format,
            rendered.content_type,
            rendered.data,
            created=created,
            rendered=True,
            timings=timings,
            source_bytes=len(original),
        )

    def _check_side(self, spec: ResizeSpec) -> None:
        side = max(spec.width, spec.height)
        if side > self.limits.max_output_side:
            raise LimitExceeded(f"a side of {side} px is over the limit of {self.limits.max_output_side}")

    def _read_source(self, source: Source) -> tuple[bytes, str | None]:
        limit = self.limits.max_input_bytes
        if isinstance(source, (bytes, bytearray)):
            data, name = bytes(source), None
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                with path.open("rb") as stream:
                    data = stream.read(limit + 1)
            except FileNotFoundError:
                raise NotFound(f"no file {path}") from None
            name = path.name
        elif isinstance(source, io.IOBase) or hasattr(source, "read"):
            data = source.read(limit + 1)
            name = getattr(source, "name", None)
            name = name if isinstance(name, str) else None
        else:
            raise TypeError("source must be a path, bytes or a binary file object")
        if len(data) > limit:
            raise LimitExceeded(f"the upload is larger than {limit} bytes")
        return data, name

    def _remember(self, media_id: str, name: str) -> None:
        with self._names_lock:
            self._names[media_id] = name
            self._names.move_to_end(media_id)
            while len(self._names) > _NAME_CACHE_SIZE:
                self._names.popitem(last=False)
