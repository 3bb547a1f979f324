"""The pyvips peer as seen from the project venv: a worker process in ``.venv-bench-vips``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Self

from .workloads import REPO, Workload

VIPS_VENV = REPO / ".venv-bench-vips"
VIPS_PYTHON = VIPS_VENV / "bin" / "python"
STOP_GRACE_SECONDS = 10.0


class PeerError(RuntimeError):
    """The pyvips worker failed or answered with an error."""


def vips_available() -> bool:
    """True when ``.venv-bench-vips`` exists and imports pyvips."""
    if not VIPS_PYTHON.is_file():
        return False
    check = subprocess.run([str(VIPS_PYTHON), "-c", "import pyvips"], check=False, capture_output=True, timeout=60)
    return check.returncode == 0


class VipsWorker:
    """``python -m tests.bench.vips_worker`` in the pyvips venv, spoken to in JSON lines."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [str(VIPS_PYTHON), "-m", "tests.bench.vips_worker"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return the answer; :class:`PeerError` on an error answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise PeerError(f"the pyvips worker exited with {self.process.wait()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise PeerError(f"pyvips: {answer['error']}")
        return answer

    def info(self) -> dict[str, Any]:
        """pyvips and libvips versions and thread count."""
        return self.request({"op": "info"})

    def run(self, path: Path, workload: Workload, out: Path | None = None, save: str = "same") -> dict[str, Any]:
        """Resize ``path`` for ``workload``, writing the JPEG with the ``save``
        options of :data:`~.workloads.JPEG_SAVES`: ``ms``, ``width``, ``height``, ``bytes``."""
        message: dict[str, Any] = {"op": "run", "path": str(path), "workload": workload.name, "save": save}
        if out is not None:
            message["out"] = str(out)
        return self.request(message)

    def close(self) -> None:
        """Close its standard input (the worker then exits); kill it if it has not within the grace period."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
