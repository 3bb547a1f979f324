"""The shiftmedia service as production runs it: gunicorn with the packaged settings module.

Tests start it on a free 127.0.0.1 port with the settings they give (nothing
``SHIFTMEDIA_*``, ``S3_*`` or ``AWS_*`` leaks in from the caller's
environment), wait until ``/healthz`` answers, and stop it by PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from .http import free_port
from .process import ServerProcess

REPO = Path(__file__).resolve().parents[2]
#: gunicorn's spelling of a settings module imported by name: webapp/gunicorn_conf.py, as installed.
GUNICORN_CONF = "python:shiftmedia_webapp.gunicorn_conf"
START_TIMEOUT = 30.0


@dataclass
class Service(ServerProcess):
    """gunicorn (two gthread workers by default) serving ``shiftmedia_webapp:create_app()``."""

    settings: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    workers: int = 2
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``host:port`` as nginx logs it and gunicorn binds it."""
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        """The service's base URL."""
        return f"http://{self.address}"

    def start(self) -> Self:
        """Start gunicorn and wait until it answers HTTP."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIFTMEDIA_", "S3_", "AWS_"))}
        env.update(self.settings)
        env.update(
            {
                "SHIFTMEDIA_BIND": self.address,
                "SHIFTMEDIA_WORKERS": str(self.workers),
                "SHIFTMEDIA_THREADS": "4",
                "PROMETHEUS_MULTIPROC_DIR": str(self.log_path.with_suffix(".prometheus")),
            }
        )
        command = [str(Path(sys.executable).parent / "gunicorn"), "--config", GUNICORN_CONF]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._ready_or_stop(time.monotonic() + START_TIMEOUT)
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Any HTTP answer on ``/healthz`` means the workers are serving."""
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}\n{self.log()}")
            try:
                urllib.request.urlopen(f"{self.base}/healthz", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:  # not listening yet, or a worker still booting (a read that timed out)
                time.sleep(0.1)
        raise TimeoutError(f"gunicorn on {self.address} not ready in time\n{self.log()}")

    def log(self) -> str:
        """gunicorn's output: its error log and the access log."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
