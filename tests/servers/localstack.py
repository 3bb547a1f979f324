"""Run LocalStack (S3 only) as a real, throwaway S3 server with a website endpoint, for the tests.

LocalStack core runs on the host, without Docker, as ``python -m
localstack.runtime.main`` from its own venv (``tests/servers/install-localstack.sh``
pins it: ``localstack-core[base-runtime]==4.13.1`` and the versions of its
dependencies that work with it on Python 3.11). It is the one S3 server here
that implements bucket *website* endpoints with routing rules, which is how a
miss reaches the service in shift-media's workflow.

Everything it does stays on this machine (see :meth:`LocalStack.environment`):
the gateway listens on 127.0.0.1 only, on a free port; its DNS server,
analytics and certificate download are off; its files, temporary files and
configuration live in a throwaway folder; no variable of the caller's
environment leaks in except ``PATH`` and the locale. The one thing that can
leave loopback is a single lookup of ``s3.localhost`` through the system
resolver at start, which LocalStack 4.13.1 makes whatever its configuration.

The website endpoint of a bucket is ``<bucket>.s3-website.localhost:<port>``,
on the same port as the API. Such names need not resolve (glibc does not
resolve subdomains of ``localhost``), so :meth:`LocalStack.website_get`
connects to 127.0.0.1 and sends the name as the ``Host`` header; LocalStack
routes on that header alone.

The interpreter comes from ``$SHIFTMEDIA_LOCALSTACK_PYTHON``, else
``<repo>/.venv-localstack/bin/python``.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .http import free_port
from .process import ServerProcess

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
REGION = "us-east-1"
#: Variables passed through from the caller's environment; every other one is dropped.
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


class LocalStackError(RuntimeError):
    """LocalStack could not be found, started or stopped."""


def localstack_python() -> Path:
    """The interpreter of the LocalStack venv, or :class:`LocalStackError` saying how to install it."""
    configured = os.environ.get("SHIFTMEDIA_LOCALSTACK_PYTHON")
    path = Path(configured) if configured else REPO / ".venv-localstack" / "bin" / "python"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise LocalStackError(
            f"LocalStack's Python not found at {path}; run `make test` (it installs localstack-core into "
            ".venv-localstack with tests/servers/install-localstack.sh) or set SHIFTMEDIA_LOCALSTACK_PYTHON "
            "to the python of a venv that has it"
        )
    return path


@dataclass(frozen=True)
class WebsiteResponse:
    """One answer of a website endpoint, redirects not followed; header names are lower-case."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def location(self) -> str | None:
        """The ``Location`` header, if any."""
        return self.headers.get("location")


@dataclass
class LocalStack(ServerProcess):
    """One LocalStack process serving S3 on 127.0.0.1, with its state folder and port.

    LocalStack accepts any credentials (it skips signature checks by
    default); ``access_key``/``secret_key`` are its documented ``test`` pair,
    which maps to its default account.
    """

    data_dir: Path
    port: int = 0
    access_key: str = "test"
    secret_key: str = "test"
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0
    _log_offset: int = field(default=0, repr=False)

    @property
    def endpoint(self) -> str:
        """The S3 API endpoint URL (path-style addressing: the host is an IP)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "localstack.log"

    def website_host(self, bucket: str) -> str:
        """The ``Host`` header that addresses ``bucket``'s website endpoint."""
        return f"{bucket}.s3-website.localhost:{self.port}"

    def website_url(self, bucket: str, key: str = "") -> str:
        """The website endpoint URL of ``key`` in ``bucket``, as a browser would use it.

        The name resolves only where ``*.localhost`` maps to loopback (browsers,
        systemd-resolved); from Python use :meth:`website_get`.
        """
        return f"http://{self.website_host(bucket)}/{quote(key)}"

    def website_get(
        self, bucket: str, key: str, *, method: str = "GET", headers: dict[str, str] | None = None
    ) -> WebsiteResponse:
        """Ask ``bucket``'s website endpoint for ``key``; redirects are returned, not followed."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, f"/{quote(key)}", headers={**(headers or {}), "Host": self.website_host(bucket)})
            response = connection.getresponse()
            body = response.read()
            answer = {name.lower(): value for name, value in response.getheaders()}
            return WebsiteResponse(response.status, answer, body)
        finally:
            connection.close()

    def environment(self) -> dict[str, str]:
        """The complete environment of the LocalStack process, and why each variable is set."""
        home = self.data_dir / "home"
        passed = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        return {
            **passed,
            # Only S3, loaded before the gateway answers, so "ready" means S3 is ready.
            "SERVICES": "s3",
            "EAGER_SERVICE_LOADING": "1",
            # Listen on loopback only. The default gateway server (twisted) ignores the
            # host of GATEWAY_LISTEN for IPv4 and binds 0.0.0.0; hypercorn honours it.
            "GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
            "GATEWAY_SERVER": "hypercorn",
            # The host name in URLs LocalStack builds (website endpoints become
            # <bucket>.s3-website.localhost). LocalStack also looks up s3.<this host>
            # once through the system resolver; "localhost" keeps that a reserved
            # name (RFC 6761) instead of the public default localhost.localstack.cloud.
            "LOCALSTACK_HOST": f"localhost:{self.port}",
            # No DNS server (it would bind port 53 on 0.0.0.0 and forward upstream).
            "DNS_ADDRESS": "0",
            # No analytics or usage events sent to LocalStack's servers.
            "DISABLE_EVENTS": "1",
            # No download of LocalStack's TLS certificate; a self-signed one is made locally.
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            # Nothing survives the process; all files under data_dir.
            "PERSISTENCE": "0",
            "FILESYSTEM_ROOT": str(self.data_dir / "filesystem"),
            "CONFIG_DIR": str(self.data_dir / "config"),
            "TMPDIR": str(self.data_dir / "tmp"),
            "HOME": str(home),
        }

    def start(self, timeout: float = START_TIMEOUT) -> LocalStack:
        """Start the server (on the same port if it ran before) and wait for S3 to answer."""
        python = localstack_python()
        if not self.port:
            self.port = free_port()
        env = self.environment()
        for name in ("FILESYSTEM_ROOT", "CONFIG_DIR", "TMPDIR", "HOME"):
            Path(env[name]).mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(
                [str(python), "-m", "localstack.runtime.main"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.data_dir,
                start_new_session=True,
            )
        self._ready_or_stop(started + timeout)
        self.startup_seconds = time.monotonic() - started
        return self

    def _health(self) -> dict[str, Any]:
        """LocalStack's own health document (``/_localstack/health``)."""
        with urllib.request.urlopen(f"{self.endpoint}/_localstack/health", timeout=2) as response:
            return json.load(response)

    def _wait_ready(self, deadline: float) -> None:
        """Poll until the health document says S3 runs and an S3 ListBuckets succeeds."""
        client = self.client(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=5)
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise LocalStackError(f"LocalStack exited with {self.process.returncode}\n{self.log_tail()}")
            try:
                state = self._health().get("services", {}).get("s3")
                if state == "running":
                    client.list_buckets()
                    return
                last = f"S3 is {state!r}"
            except Exception as exc:  # noqa: BLE001 - any failure just means "not ready yet"
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise LocalStackError(f"LocalStack S3 at {self.endpoint} not ready in time ({last})\n{self.log_tail()}")

    def client(self, **config: Any) -> Any:
        """A plain boto3 S3 client for this server, for setting up and inspecting buckets."""
        import boto3
        from botocore.config import Config

        config.setdefault("retries", {"mode": "standard", "max_attempts": 3})
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of this run's server log, for failure messages."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
