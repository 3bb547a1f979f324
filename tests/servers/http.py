"""Small HTTP helpers for tests: free ports, an in-thread server, a redirect-counting client."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from werkzeug.serving import make_server


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free on 127.0.0.1 a moment ago."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    return free_ports(1)[0]


@contextmanager
def serve_app(app: Any, port: int = 0) -> Iterator[str]:
    """Run a WSGI app on a threaded HTTP server on 127.0.0.1 (``port`` 0: any free one); yield its base URL."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@dataclass(frozen=True)
class Answer:
    """The last response of a followed chain, and the redirects on the way."""

    status: int
    headers: dict[str, str]
    body: bytes
    redirects: list[str]


def fetch(url: str, method: str = "GET", max_redirects: int = 10, headers: dict[str, str] | None = None) -> Answer:
    """Request ``url`` and follow redirects as a browser would, counting them."""
    chain: list[str] = []
    while True:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(method, path or "/", headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()
        if response.status in (301, 302, 303, 307, 308) and len(chain) < max_redirects:
            url = urljoin(url, answer_headers["location"])
            chain.append(url)
            continue
        return Answer(response.status, answer_headers, body, chain)
