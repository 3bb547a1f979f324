"""Stopping the servers the tests start: by PID, gracefully first, and reading their logs."""

from __future__ import annotations

import os
import signal
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Self

#: Seconds a server gets to stop after SIGTERM before SIGKILL (some, like weed, can hang).
STOP_GRACE = 10.0


def stop_process(process: subprocess.Popen[bytes] | None, *, kill_group: bool = False) -> None:
    """SIGTERM ``process``; SIGKILL it (or its whole session, with ``kill_group``) after :data:`STOP_GRACE`."""
    if process is None or process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        if kill_group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait(timeout=STOP_GRACE)
    except ProcessLookupError:
        return


def kill_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL at once: a server vanishing mid-run."""
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=STOP_GRACE)


def tail(text: str, lines: int = 40) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.splitlines()[-lines:])


def file_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    try:
        return tail(path.read_text(errors="replace"), lines)
    except OSError:
        return "(no log)"


class ServerProcess(ABC):
    """What the servers the tests start share: a child stopped by PID, usable as a context manager.

    A subclass starts its process in :meth:`start` and then calls
    :meth:`_ready_or_stop`, so a server that never gets ready is not left behind.
    """

    process: subprocess.Popen[bytes] | None
    #: SIGKILL the server's whole session rather than the one process (for servers that fork workers).
    KILL_GROUP: ClassVar[bool] = False

    @abstractmethod
    def start(self) -> Self:
        """Start the server and return once it answers."""

    @abstractmethod
    def _wait_ready(self, deadline: float) -> None:
        """Return once the server answers; raise if it exits or ``deadline`` (monotonic) passes."""

    def _ready_or_stop(self, deadline: float) -> None:
        """:meth:`_wait_ready`, stopping the server if it fails."""
        try:
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after :data:`STOP_GRACE` seconds (some servers' shutdown can hang)."""
        process, self.process = self.process, None
        stop_process(process, kill_group=self.KILL_GROUP)

    def kill(self) -> None:
        """SIGKILL at once: the server vanishing mid-run."""
        process, self.process = self.process, None
        kill_process(process)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
