"""Render leases: one render per missing derivative, across workers and hosts.

Inside one process :class:`~shiftmedia.scheduler.ResizeScheduler` coalesces
the misses of a derivative; across processes the store decides. Before
rendering, a process writes a small lease object with the backend's
conditional write (``if_absent``: S3 ``If-None-Match: *``, a hard link on
local disk), which exactly one writer wins. The winner renders, stores the
derivative, then deletes its lease. A loser polls the lease with backoff
(:data:`FIRST_POLL` doubling to :data:`LAST_POLL` seconds) within its time
budget; once the lease is gone it reads the derivative and serves it. A lease
whose expiry has passed (its holder crashed) is deleted and taken anew, so a
crashed holder delays the others by at most the lease duration, and one whose
holder was a process of this host that is gone is taken at once (a killed
``shiftmedia warm`` run again); two processes
taking over at once may both render, and the derivative's own conditional
write still keeps exactly one object.

Leases live under :data:`LEASE_PREFIX` (``.leases/<SHA-256 of the key>``), never
in an id's folder: an id's original is the first name there that is not a
derivative's, so a lease beside it would pass for one. No request reaches a
lease (ids' keys are ``<id folder>/<name>``, and a source key never has a
dot-leading segment), neither an id's deletion nor a listing of originals sees
one, and the public bucket policy grants resize names only, which a hashed
key never holds (a lease is stored ``no-store`` all the same, so no CDN would
keep one). The body is JSON: the holder
(``host:pid:random``) and the expiry (Unix time; hosts are expected to keep
their clocks within a fraction of the lease duration).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .backends.base import Backend, check_key
from .errors import NotFound, Overloaded, ShiftMediaError, StorageUnavailable
from .scheduler import Outcome, ResizeScheduler

T = TypeVar("T")

#: Where leases are kept: a top-level folder no id folder can be (ids are hex).
LEASE_PREFIX = ".leases/"
#: Seconds a loser waits before polling the lease again, at first and at most.
FIRST_POLL, LAST_POLL = 0.05, 0.5
#: A lease body is a few dozen bytes; anything longer is not one of ours.
MAX_LEASE_BYTES = 4096

log = logging.getLogger("shiftmedia.lease")


def lease_key(key: str) -> str:
    """The key of the lease on rendering the derivative ``key``: its hash, so a lease's key holds none of the
    marks the public bucket policy grants (``-upscale-``), whatever characters the derivative's key has."""
    return LEASE_PREFIX + hashlib.sha256(check_key(key).encode()).hexdigest()


def is_lease_key(key: str) -> bool:
    """True for the key of a lease (under :data:`LEASE_PREFIX`)."""
    return key.startswith(LEASE_PREFIX)


@dataclass(frozen=True)
class Lease:
    """Who renders the derivative ``key``, until when (Unix time)."""

    key: str
    holder: str
    expires: float

    def expired(self, now: float) -> bool:
        """True once the expiry has passed: its holder is taken to have crashed."""
        return now >= self.expires

    def abandoned(self) -> bool:
        """True when the holder was a process of this host that runs no more (killed mid-render).

        Only this host's processes can be looked up; any other holder is
        taken to be alive until its expiry. A reused process id looks alive,
        which only means waiting for the expiry, as for another host's lease.
        """
        host, _, rest = self.holder.partition(":")
        pid = rest.partition(":")[0]
        if host != socket.gethostname() or not pid.isdigit() or int(pid) < 1:
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, but another user's
            return False
        return False

    def body(self) -> bytes:
        """The stored form: a small JSON object."""
        return json.dumps({"holder": self.holder, "expires": self.expires}).encode()

    @classmethod
    def parse(cls, key: str, body: bytes) -> Lease:
        """The lease stored as ``body``; one that cannot be read counts as expired, so it is replaced."""
        try:
            fields = json.loads(body)
            return cls(key, str(fields["holder"]), float(fields["expires"]))
        except (ValueError, TypeError, KeyError):
            return cls(key, "?", 0.0)


def new_holder() -> str:
    """``host:pid:random``: who took a lease, for people reading the store, and unique per take."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class RenderLeases:
    """The render leases of one backend, each ``duration`` seconds long.

    ``clock`` (Unix time, compared across hosts), ``monotonic`` (budgets) and
    ``sleep`` are the standard ones unless a test passes its own.
    """

    def __init__(
        self,
        backend: Backend,
        duration: float = 30.0,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if duration <= 0:
            raise ValueError("a render lease must last more than 0 seconds")
        self.backend = backend
        self.duration = duration
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep

    def take(self, key: str) -> Lease | None:
        """The lease on rendering ``key``, now this process's; ``None`` if another holds it."""
        lease = Lease(key, new_holder(), round(self._clock() + self.duration, 3))
        try:
            stored = self.backend.write(
                lease_key(key), lease.body(), content_type="application/json", cache_control="no-store", if_absent=True
            )
        except NotFound:  # a write answered 404 (a store still starting): never "no such image"
            raise StorageUnavailable(f"the store refused the render lease of {key}") from None
        return lease if stored else None

    def held(self, key: str) -> Lease | None:
        """The lease on ``key`` as stored now; ``None`` if there is none."""
        try:
            return Lease.parse(key, self.backend.read(lease_key(key), max_bytes=MAX_LEASE_BYTES))
        except NotFound:
            return None

    def release(self, lease: Lease) -> None:
        """Delete ``lease`` (after its derivative is stored, or its render failed).

        One that expired meanwhile may have been taken over: it is deleted only
        if still this holder's. A failure here is logged, not raised: the
        derivative is stored (or its render failed), and the lease expires by itself.
        """
        try:
            if lease.expired(self._clock()):
                current = self.held(lease.key)
                if current is None or current.holder != lease.holder:
                    return
            self.backend.delete(lease_key(lease.key))
        except ShiftMediaError as error:
            log.warning("could not release the render lease of %s: %s", lease.key, error)

    def claim(self, key: str, deadline: float) -> Lease | bytes:
        """The lease on rendering ``key``, or the derivative's bytes once another process stored them.

        Waits while another process holds a live lease, until ``deadline``
        (:func:`time.monotonic`), then raises :class:`Overloaded`. A lease
        released without the derivative stored (its render failed) or expired
        (its holder crashed) is taken here.
        """
        delay = FIRST_POLL
        while True:
            lease = self.take(key)
            if lease is not None:
                return lease
            held = self.held(key)
            while held is not None and not held.expired(now := self._clock()) and not held.abandoned():
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    raise Overloaded(f"another process rendering {key} did not finish within the time budget")
                self._sleep(min(delay, remaining, held.expires - now))  # wake at the expiry, to take it over
                delay = min(delay * 2, LAST_POLL)
                held = self.held(key)
            try:
                found: bytes | None = self.backend.read(key)
            except NotFound:
                found = None
            if held is not None:
                self._drop(held)
            if found is not None:
                return found
            if self._monotonic() >= deadline:
                raise Overloaded(f"the render of {key} could not start within the time budget")

    def _drop(self, stale: Lease) -> None:
        """Delete an expired or abandoned lease (so that it can be taken again)."""
        log.warning("the render lease of %s held by %s expired or was abandoned; deleting it", stale.key, stale.holder)
        with contextlib.suppress(NotFound):  # another process deleted it first
            self.backend.delete(lease_key(stale.key))


class RenderOnce:
    """One render per derivative: shared by this process's calls, decided by a lease across processes.

    This process's concurrent calls for a key share one call (a coalescing
    :class:`ResizeScheduler` without a bound), which holds no resize slot
    while it takes the lease or waits for another process's render; it takes
    a slot of ``slots`` only to render, once it holds the lease. The time
    budget is ``slots.timeout`` from the call.
    """

    def __init__(self, backend: Backend, duration: float, slots: ResizeScheduler) -> None:
        self.leases = RenderLeases(backend, duration)
        self.slots = slots
        self._calls = ResizeScheduler(sys.maxsize, slots.timeout)

    def run(self, key: str, render: Callable[[], T], found: Callable[[bytes], T]) -> Outcome[T]:
        """``render()`` if this call wins the lease on ``key``, else ``found(bytes)`` of the stored result.

        ``shared`` is true when another call of this process did the work.
        """
        deadline = time.monotonic() + self.slots.timeout
        return self._calls.run(key, lambda: self._once(key, render, found, deadline))

    def _once(self, key: str, render: Callable[[], T], found: Callable[[bytes], T], deadline: float) -> T:
        claim = self.leases.claim(key, deadline)
        if isinstance(claim, bytes):
            return found(claim)
        try:
            return self.slots.run(key, render).value
        finally:
            self.leases.release(claim)
