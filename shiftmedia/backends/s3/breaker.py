"""A circuit breaker on the S3 client: a store that stops answering costs a request one timeout, not one per call.

Why. botocore's timeouts bound one attempt, and its retries multiply them. A
frozen store (a stopped process, a hung disk, a wedged gateway) still
accepts TCP connections, because the kernel completes the handshake into the
listen backlog, so every attempt waits the whole read timeout; and a miss
makes several calls (GET of the derivative, LIST of the id's folder, GET of
the original, PUT of the derivative), each of which would wait its attempts
times the read timeout again.

How. :meth:`Breaker.attach` hooks botocore's events, ``before-send`` ahead of
every attempt and ``needs-retry`` after it, so every call, paginator page,
multipart part and transfer of the client goes through the breaker; a response
body that stalls mid-read reports through :meth:`Breaker.observe`.

- **closed**: attempts go out. An attempt that times out or cannot connect
  (:func:`unanswered`) opens the breaker, and is not retried.
- **open**: for ``cooldown`` seconds every attempt fails at once with
  :class:`CircuitOpen` (which the backend reports as ``StorageUnavailable``),
  so the rest of a request that met the timeout, and every other request of
  the process, fail fast instead of each waiting again.
- **half-open**: after the cooldown one attempt, the probe, goes out while the
  others keep failing fast. Any HTTP answer closes the breaker, an error status
  included (the store answered); another timeout opens it again. A probe whose
  outcome never arrives frees its place after ``probe_lease`` seconds.

So while the store is frozen a request waits about one read timeout at most
(a PUT adds botocore's one-second wait for ``100 Continue``), and a
thawed or restarted store is in use again within ``cooldown`` seconds. Other
failures (an error status, a connection reset mid-answer) leave the breaker
alone: the store answered, and botocore retries them as ``AWS_MAX_ATTEMPTS``
and ``AWS_RETRY_MODE`` say. The price: one attempt that outlasts the read
timeout fails its call, and every call of the process for ``cooldown`` seconds,
without the retry that might have reached a faster server. The state is per
backend, i.e. per process; nothing is shared that could itself hang.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions as bce
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

#: Seconds every attempt fails fast after the store did not answer.
DEFAULT_COOLDOWN = 2.0
#: Seconds a probe may stay out before another attempt may probe instead.
DEFAULT_PROBE_LEASE = 30.0
#: What an attempt raises, anywhere in its chain of causes, when the store did not answer at all.
UNANSWERED: tuple[type[BaseException], ...] = (
    TimeoutError,  # socket.timeout: a send or receive that stalled, however a library wrapped it
    ConnectionRefusedError,
    bce.ConnectTimeoutError,
    bce.ReadTimeoutError,
    bce.EndpointConnectionError,
    Urllib3Timeout,
    NewConnectionError,
)


class CircuitOpen(Exception):
    """An attempt refused without being sent: the store did not answer a moment ago."""


def unanswered(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it wraps) says the store did not answer or could not be reached."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, UNANSWERED):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


class Breaker:
    """Closed, open or half-open (see the module docstring); thread-safe, ``clock`` injectable for tests."""

    def __init__(
        self,
        cooldown: float = DEFAULT_COOLDOWN,
        probe_lease: float = DEFAULT_PROBE_LEASE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cooldown < 0 or probe_lease <= 0:
            raise ValueError("cooldown must be >= 0 and probe_lease > 0")
        self.cooldown = cooldown
        self.probe_lease = probe_lease
        self._clock = clock
        self._lock = threading.Lock()
        self._opened_at: float | None = None  # None: closed
        self._probe_until = 0.0  # half-open: a probe is out until then
        #: How many times the breaker opened from closed (a count for logs and tests).
        self.trips = 0

    def __repr__(self) -> str:
        return f"Breaker({self.state}, cooldown={self.cooldown:g})"

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` (cooling down) or ``"half-open"`` (a probe may go, or is out)."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "open" if self._clock() - self._opened_at < self.cooldown else "half-open"

    def cooling_down(self) -> float:
        """Seconds the breaker stays open, ``0.0`` when an attempt may be sent now or after a probe."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.cooldown - (self._clock() - self._opened_at))

    def allow(self) -> None:
        """Let one attempt go out, or raise :class:`CircuitOpen` saying why not."""
        with self._lock:
            if self._opened_at is None:
                return
            now = self._clock()
            left = self.cooldown - (now - self._opened_at)
            if left > 0:
                raise CircuitOpen(
                    f"the store did not answer {now - self._opened_at:.1f} s ago; next try in {left:.1f} s"
                )
            if now < self._probe_until:
                raise CircuitOpen("the store did not answer; a probe request is under way")
            self._probe_until = now + self.probe_lease

    def succeeded(self) -> None:
        """The store answered: close."""
        if self._opened_at is None:  # the common case, without the lock
            return
        with self._lock:
            self._opened_at = None
            self._probe_until = 0.0

    def failed(self) -> None:
        """The store did not answer: open (again) for ``cooldown`` seconds from now."""
        with self._lock:
            if self._opened_at is None:
                self.trips += 1
            self._opened_at = self._clock()
            self._probe_until = 0.0

    def observe(self, exc: BaseException) -> bool:
        """Count ``exc`` as a failure when :func:`unanswered`; return whether it was."""
        if isinstance(exc, CircuitOpen):
            return True
        if unanswered(exc):
            self.failed()
            return True
        return False

    # -- botocore events -------------------------------------------------------

    def attach(self, events: Any) -> None:
        """Watch every attempt of the client whose ``meta.events`` is ``events``.

        Registered first, so the breaker refuses an attempt before anything else
        prepares it, and vetoes a retry before botocore's retry handler sleeps.
        """
        events.register_first("before-send.s3", self._before_send, unique_id="shiftmedia-breaker-send")
        events.register_first("needs-retry.s3", self._after_attempt, unique_id="shiftmedia-breaker-retry")

    def _before_send(self, **_: Any) -> None:
        self.allow()

    def _after_attempt(self, response: Any = None, caught_exception: BaseException | None = None, **_: Any) -> Any:
        """Record the attempt; ``False`` (no retry) when the store did not answer, else ``None`` (botocore decides)."""
        if caught_exception is None:
            if response is not None:
                self.succeeded()
            return None
        return False if self.observe(caught_exception) else None
