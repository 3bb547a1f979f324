"""How resizes are scheduled inside one process: one per derivative, a few at once.

:class:`ResizeScheduler` coalesces concurrent requests for the same derivative
(the first does the work, the others wait and share its result: twenty misses
for one thumbnail are one resize) and bounds how many resizes run at once
(the rest wait for a slot, up to a time budget, then get :class:`Overloaded`).
Across processes and hosts, the backend's conditional write decides which
copy is stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import Overloaded

T = TypeVar("T")


@dataclass
class _Call:
    """One call under way: its waiters wait on ``done``, then read ``result`` or ``error``."""

    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A scheduled call's result and whether this caller shared another's work."""

    value: T
    shared: bool


class ResizeScheduler:
    """Coalesce calls by key; run at most ``max_concurrent`` at once; wait at most ``timeout`` seconds."""

    def __init__(self, max_concurrent: int, timeout: float) -> None:
        if max_concurrent < 1 or timeout <= 0:
            raise ValueError("max_concurrent must be >= 1 and timeout > 0")
        self.max_concurrent = max_concurrent
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}
        self._running = 0

    @property
    def running(self) -> int:
        """How many calls hold a slot now."""
        return self._running

    def run(self, key: str, fn: Callable[[], T]) -> Outcome[T]:
        """``fn()`` for ``key``, or the result of the call for ``key`` already under way."""
        started = time.monotonic()
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
        if not leader:
            remaining = self.timeout - (time.monotonic() - started)
            if not call.done.wait(max(remaining, 0)):
                raise Overloaded(f"the resize of {key} did not finish within {self.timeout:g} s")
            if call.error is not None:
                raise call.error
            return Outcome(call.result, True)
        try:
            result = call.result = self._run_in_slot(fn, started)
            return Outcome(result, False)
        except BaseException as error:
            call.error = error
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()

    def _run_in_slot(self, fn: Callable[[], T], started: float) -> T:
        remaining = self.timeout - (time.monotonic() - started)
        if not self._slots.acquire(timeout=max(remaining, 0)):
            raise Overloaded(f"{self.max_concurrent} resizes are running; none finished within {self.timeout:g} s")
        with self._lock:
            self._running += 1
        try:
            return fn()
        finally:
            with self._lock:
                self._running -= 1
            self._slots.release()
