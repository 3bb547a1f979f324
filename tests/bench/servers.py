"""The servers the HTTP benchmark starts: our service under gunicorn and thumbor.

Both listen on free ports of 127.0.0.1 only, log to a file, and are stopped by
process id: SIGTERM to the server and every process it forked, then SIGKILL to
whatever is still there after 10 seconds.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .workloads import QUALITY, REPO

HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 10.0
START_TIMEOUT_SECONDS = 60.0
WORKERS = 2
"""Processes per server: gunicorn workers, thumbor ``--processes``."""

THUMBOR_VENV = REPO / ".venv-bench-thumbor"
THUMBOR_SECURITY_KEY = "bench-only-key-unsafe-urls-are-used"


class ServerError(RuntimeError):
    """A server did not start or did not answer."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (from ``/proc``)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as stream:
            return [int(item) for item in stream.read().split()]
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first."""
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in _children(queue.pop()):
            if child not in found:
                found.append(child)
                queue.append(child)
    return found


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first);
    empty when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stream:
            return stream.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far (0 when it is gone)."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def _signal(pid: int, signum: signal.Signals) -> None:
    """Send ``signum`` to ``pid``, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


class ManagedServer:
    """One server process (and what it forks), with its log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
        children_first: bool = False,
    ) -> None:
        self.name = name
        self.children_first = children_first
        self.argv = list(argv)
        self.port = port
        self.env = dict(env)
        self.cwd = cwd
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_path: str) -> None:
        """Start the server and wait until ``GET ready_path`` gets any HTTP answer."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
                connection.request("GET", ready_path)
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.2)
        raise ServerError(f"{self.name} did not answer within {START_TIMEOUT_SECONDS:.0f} s:\n{self.log_tail()}")

    def pids(self) -> list[int]:
        """The server's process id and those of every process it forked."""
        if self.process is None:
            return []
        return [self.process.pid, *descendants(self.process.pid)]

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds used so far by each process the server forked (its workers)."""
        if self.process is None:
            return {}
        return {pid: cpu_seconds(pid) for pid in descendants(self.process.pid)}

    def stop(self) -> None:
        """Stop the server within :data:`STOP_GRACE_SECONDS`, then SIGKILL whatever is left.

        With ``children_first`` (thumbor: tornado's parent process has no SIGTERM
        handler, and exits by itself once its children have) the forks get
        SIGTERM first, then the parent; otherwise (gunicorn: its master stops
        its workers) only the parent does.
        """
        if self.process is None:
            return
        pids = self.pids()
        root, children = pids[0], pids[1:]
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        if self.children_first and children:
            for pid in children:
                _signal(pid, signal.SIGTERM)
            self._wait_gone(children, deadline)
        if self.process.poll() is None:
            _signal(root, signal.SIGTERM)
        self._wait_gone(pids, deadline)
        for pid in [*pids, *descendants(root)]:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        self.process = None

    def _wait_gone(self, pids: Sequence[int], deadline: float) -> None:
        """Wait until none of ``pids`` is alive, or the deadline."""
        assert self.process is not None
        while time.monotonic() < deadline:
            self.process.poll()
            if not any(_alive(pid) for pid in pids):
                return
            time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def shiftmedia_server(
    python_bin: Path, root: Path, secret: str, workdir: Path, port: int | None = None
) -> ManagedServer:
    """Our service: ``gunicorn 'shiftmedia_webapp:create_app()'`` with :data:`WORKERS` sync workers on ``root``."""
    port = port or free_port()
    env = {
        **os.environ,
        "SHIFTMEDIA_LOCAL_ROOT": str(root),
        "SHIFTMEDIA_SECRET_KEYS": secret,
        "SHIFTMEDIA_PUBLIC_URL": f"http://{HOST}:{port}/media",
    }
    env.pop("SHIFTMEDIA_STORAGE", None)
    env.pop("SHIFTMEDIA_CONFIG", None)
    argv = [
        str(python_bin.parent / "gunicorn"),
        "--workers", str(WORKERS),
        "--bind", f"{HOST}:{port}",
        "--timeout", "120",
        "--log-level", "warning",
        "shiftmedia_webapp:create_app()",
    ]  # fmt: skip
    return ManagedServer("shiftmedia (gunicorn)", argv, port=port, env=env, cwd=REPO, log=workdir / "gunicorn.log")


def thumbor_available() -> bool:
    """True when ``.venv-bench-thumbor`` has the ``thumbor`` command."""
    return (THUMBOR_VENV / "bin" / "thumbor").is_file()


def thumbor_config(images: Path) -> str:
    """thumbor.conf: PIL engine, file loader on ``images``, no storage of originals or
    results, orientation respected, q85, unsafe URLs allowed."""
    settings = {
        "ENGINE": "thumbor.engines.pil",
        "LOADER": "thumbor.loaders.file_loader",
        "FILE_LOADER_ROOT_PATH": str(images),
        "STORAGE": "thumbor.storages.no_storage",
        "RESULT_STORAGE": "thumbor.result_storages.no_storage",
        "RESPECT_ORIENTATION": True,
        "QUALITY": QUALITY,
        "ALLOW_UNSAFE_URL": True,
        "SECURITY_KEY": THUMBOR_SECURITY_KEY,
        "AUTO_WEBP": False,
        "DETECTORS": [],
        "OPTIMIZERS": [],
    }
    return "".join(f"{name} = {value!r}\n" for name, value in settings.items())


def thumbor_server(images: Path, workdir: Path, port: int | None = None) -> ManagedServer:
    """thumbor with :data:`WORKERS` processes serving files from ``images``."""
    port = port or free_port()
    conf = workdir / "thumbor.conf"
    conf.write_text(thumbor_config(images))
    argv = [
        str(THUMBOR_VENV / "bin" / "thumbor"),
        "--ip", HOST,
        "--port", str(port),
        "--conf", str(conf),
        "--processes", str(WORKERS),
        "--log-level", "error",
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(workdir)}
    return ManagedServer(
        "thumbor", argv, port=port, env=env, cwd=workdir, log=workdir / "thumbor.log", children_first=True
    )
