"""Making a missing derivative: read the original, render it, store it, once across workers and hosts.

:class:`Maker` is the work behind a miss of :class:`~shiftmedia.storage.Storage`:
one read of the original (bounded by the input limit), the engine's render,
one conditional write (a derivative already stored by another writer is
kept), with the stages timed for ``Server-Timing``. :mod:`.lease` makes sure
one call renders while the others wait for its result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial

from .backends.base import IMMUTABLE, Backend, content_type_for
from .delivery import Derivative
from .engine import Limits, Rendered, probe, render
from .errors import ShiftMediaError
from .lease import RenderOnce
from .scheduler import ResizeScheduler
from .spec import ResizeSpec


class Maker:
    """Renders and stores derivatives of the originals ``read_original(reference, max_bytes)`` reads."""

    def __init__(
        self,
        backend: Backend,
        limits: Limits,
        slots: ResizeScheduler,
        lease: float,
        read_original: Callable[[str, int], bytes],
    ) -> None:
        self.backend = backend
        self.limits = limits
        self._once = RenderOnce(backend, lease, slots)
        self._read_original = read_original

    def make(
        self, key: str, reference: str, spec: ResizeSpec, read: Callable[[str, int], bytes] | None = None
    ) -> Derivative:
        """Render and store ``key`` once across calls, workers and hosts, or share that render.

        ``read`` (default: the original's reader) gives the original's bytes, for a caller that holds them.
        """
        render_now = partial(self._render, key, reference, spec, read or self._read_original)
        made = self._once.run(key, render_now, partial(self.stored, key, spec))
        return Derivative.of(made.value, key, timings={}) if made.shared else made.value

    def make_all(
        self, reference: str, specs: Mapping[str, ResizeSpec]
    ) -> Iterator[tuple[str, Derivative | ShiftMediaError]]:
        """``(key, derivative or error)`` of each of ``specs`` (derivative keys of ``reference``), each made as
        :meth:`make` makes it, from one read of the original (none if every one is stored by another meanwhile)."""
        kept: list[bytes] = []

        def read_once(name: str, max_bytes: int) -> bytes:
            if not kept:
                kept.append(self._read_original(name, max_bytes))
            return kept[0]

        for key, spec in specs.items():
            try:
                yield key, self.make(key, reference, spec, read_once)
            except ShiftMediaError as error:
                yield key, error

    def stored(self, key: str, spec: ResizeSpec, data: bytes) -> Derivative:
        """The derivative stored at ``key`` as ``data`` (probed, not rendered)."""
        info = probe(data, self.limits)
        image = Rendered(data, info.width, info.height, spec.format, content_type_for(key), info.frames)
        return Derivative.of(image, key)

    def _render(self, key: str, reference: str, spec: ResizeSpec, read: Callable[[str, int], bytes]) -> Derivative:
        clock = time.perf_counter()
        original = read(reference, self.limits.max_original_bytes)
        fetched = time.perf_counter()
        image = render(original, spec, self.limits)
        done = time.perf_counter()
        created = self.backend.write(
            key, image.data, content_type=image.content_type, cache_control=IMMUTABLE, if_absent=True
        )
        timings = {"fetch": fetched - clock, **image.timings, "store": time.perf_counter() - done}
        return Derivative.of(image, key, created=created, rendered=True, source_bytes=len(original), timings=timings)
