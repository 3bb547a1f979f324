"""Stopping the servers the tests start: by PID, gracefully first, and reading their logs."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

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
