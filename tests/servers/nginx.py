"""Run Debian's nginx as a real, throwaway front for the tests.

The site files under ``deploy/nginx/`` are used as they ship: :func:`render`
only fills in their ``{{placeholder}}`` values. :class:`Nginx` wraps a rendered
site in a minimal main configuration of its own (temporary folders, logs, an
access log that records which upstreams answered each request) and runs
``nginx`` in the foreground (``daemon off``) with a prefix folder of its own,
listening on 127.0.0.1 only, so several can run at once and none needs root.
:meth:`Nginx.for_site` renders a shipped site for such a throwaway front in one step.

The binary is ``$SHIFTMEDIA_NGINX``, else ``/usr/sbin/nginx`` (Debian's ``nginx``
package, which ``make test`` installs).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from .http import free_port
from .process import ServerProcess

START_TIMEOUT = 15.0
DEFAULT_BINARY = Path("/usr/sbin/nginx")
#: Connections per worker: above Debian's 768, so a test holding a few hundred slow clients
#: measures the site's directives, not this limit.
WORKER_CONNECTIONS = 1024

#: One access-log line per request: which upstreams answered, and with what.
ACCESS_LOG_FORMAT = "$request_method $request_uri $status upstream=[$upstream_addr] upstream_status=[$upstream_status]"
_ACCESS_LINE = re.compile(
    r"(?P<method>\S+) (?P<uri>\S+) (?P<status>\d{3}) upstream=\[(?P<upstream>[^\]]*)\] "
    r"upstream_status=\[(?P<upstream_status>[^\]]*)\]"
)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class NginxError(RuntimeError):
    """nginx could not be found, configured, started or stopped."""


def nginx_binary() -> Path:
    """The ``nginx`` executable, or :class:`NginxError` saying how to install it."""
    configured = os.environ.get("SHIFTMEDIA_NGINX")
    path = Path(configured) if configured else DEFAULT_BINARY
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise NginxError(
            f"nginx not found at {path}; run `make test` (it installs Debian's nginx package) "
            "or set SHIFTMEDIA_NGINX to an nginx executable"
        )
    return path


def nginx_version() -> str:
    """``nginx/1.22.1`` or whatever the binary reports."""
    result = subprocess.run([str(nginx_binary()), "-v"], capture_output=True, text=True, check=False)
    return (result.stderr or result.stdout).strip().removeprefix("nginx version: ")


def render(template: Path, values: Mapping[str, str]) -> str:
    """``template`` with every ``{{name}}`` replaced; every name must be given and every value used."""
    text = template.read_text()
    wanted = set(_PLACEHOLDER.findall(text))
    missing = wanted - set(values)
    unused = set(values) - wanted
    if missing or unused:
        raise NginxError(f"{template.name}: missing values {sorted(missing)}, unknown values {sorted(unused)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


@dataclass(frozen=True)
class AccessLine:
    """One request as nginx logged it; ``upstreams`` lists each upstream tried, in order."""

    method: str
    uri: str
    status: int
    upstreams: tuple[str, ...]
    upstream_statuses: tuple[str, ...]


def _split_upstreams(value: str) -> tuple[str, ...]:
    """``$upstream_addr``/``$upstream_status`` as a tuple: ``, `` separates tries, `` : `` internal redirects."""
    if value in ("", "-"):
        return ()
    return tuple(part.strip() for part in re.split(r"\s*[,:]\s+", value) if part.strip())


@dataclass
class Nginx(ServerProcess):
    """One foreground nginx serving ``site`` (a rendered site file) from its own ``prefix`` folder."""

    KILL_GROUP: ClassVar[bool] = True

    prefix: Path
    site: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0

    @classmethod
    def for_site(cls, template: Path, prefix: Path, **values: str) -> Nginx:
        """An nginx (not started yet) serving the shipped site ``template`` from ``prefix``.

        ``listen`` is a free 127.0.0.1 port and ``server_name`` defaults to ``127.0.0.1``;
        ``values`` fill in the site's other placeholders (see :func:`render`).
        """
        port = free_port()
        site = render(template, {"listen": f"127.0.0.1:{port}", "server_name": "127.0.0.1", **values})
        return cls(prefix, site, port=port)

    @property
    def url(self) -> str:
        """The base URL the site listens on."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def listen(self) -> str:
        """The ``listen`` value to render the site with."""
        return f"127.0.0.1:{self.port}"

    @property
    def conf_path(self) -> Path:
        """The generated main configuration."""
        return self.prefix / "conf" / "nginx.conf"

    @property
    def error_log(self) -> Path:
        """nginx's error log (``info`` level)."""
        return self.prefix / "logs" / "error.log"

    @property
    def access_log(self) -> Path:
        """The access log, in :data:`ACCESS_LOG_FORMAT`."""
        return self.prefix / "logs" / "access.log"

    def _globals(self) -> str:
        """The ``-g`` directives: foreground, and pid and error log inside the prefix."""
        return f"daemon off; pid {self.prefix / 'nginx.pid'}; error_log {self.error_log} info;"

    def write_config(self) -> Path:
        """Write the main configuration and the site into the prefix; return the main file."""
        for folder in ("conf", "logs", *(f"tmp/{name}" for name in _TEMP_PATHS)):
            (self.prefix / folder).mkdir(parents=True, exist_ok=True)
        (self.prefix / "conf" / "site.conf").write_text(self.site)
        user = ""
        if os.geteuid() == 0:
            user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
        temp_paths = "".join(f"    {name}_temp_path {self.prefix / 'tmp' / name};\n" for name in _TEMP_PATHS)
        self.conf_path.write_text(
            f"{user}"
            "worker_processes 1;\n"
            f"events {{\n    worker_connections {WORKER_CONNECTIONS};\n}}\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n"
            "    default_type application/octet-stream;\n"
            f"{temp_paths}"
            f"    log_format shiftmedia_upstreams '{ACCESS_LOG_FORMAT}';\n"
            f"    access_log {self.access_log} shiftmedia_upstreams;\n"
            f"    include {self.prefix / 'conf' / 'site.conf'};\n"
            "}\n"
        )
        return self.conf_path

    def _command(self, *extra: str) -> list[str]:
        return [
            str(nginx_binary()),
            "-p",
            f"{self.prefix}/",
            "-e",
            str(self.error_log),
            "-c",
            str(self.conf_path),
            "-g",
            self._globals(),
            *extra,
        ]

    def check(self) -> str:
        """``nginx -t`` on the configuration: its report, or :class:`NginxError` with it."""
        self.write_config()
        result = subprocess.run(self._command("-t"), capture_output=True, text=True, check=False, timeout=30)
        report = (result.stdout + result.stderr).strip()
        if result.returncode != 0:
            raise NginxError(f"nginx -t failed ({result.returncode}):\n{report}")
        return report

    def start(self, timeout: float = START_TIMEOUT) -> Nginx:
        """Start nginx in the foreground and wait until the site accepts connections."""
        self.write_config()
        started = time.monotonic()
        with (self.prefix / "logs" / "stderr.log").open("ab") as log:
            self.process = subprocess.Popen(
                self._command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._ready_or_stop(started + timeout)
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Poll until the listening socket accepts a connection, or the process exits."""
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise NginxError(f"nginx exited with {self.process.returncode}\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise NginxError(f"nginx on {self.url} not ready in time\n{self.log_tail()}")

    def access_lines(self) -> list[AccessLine]:
        """Every request logged so far, oldest first."""
        try:
            text = self.access_log.read_text()
        except FileNotFoundError:
            return []
        lines = []
        for match in map(_ACCESS_LINE.fullmatch, text.splitlines()):
            if match:
                lines.append(
                    AccessLine(
                        method=match["method"],
                        uri=match["uri"],
                        status=int(match["status"]),
                        upstreams=_split_upstreams(match["upstream"]),
                        upstream_statuses=_split_upstreams(match["upstream_status"]),
                    )
                )
        return lines

    def wait_for_access_lines(self, count: int, timeout: float = 5.0) -> list[AccessLine]:
        """The access lines once at least ``count`` are written (nginx logs after the response)."""
        deadline = time.monotonic() + timeout
        lines = self.access_lines()
        while len(lines) < count and time.monotonic() < deadline:
            time.sleep(0.02)
            lines = self.access_lines()
        if len(lines) < count:
            raise NginxError(f"expected {count} access log lines, got {len(lines)}\n{self.log_tail()}")
        return lines

    def log_tail(self, lines: int = 40) -> str:
        """The end of the error log and of nginx's own output, for failure messages."""
        parts = []
        for path in (self.error_log, self.prefix / "logs" / "stderr.log"):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            parts.append(f"--- {path.name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts) or "(no log)"
