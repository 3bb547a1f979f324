"""A small closed-loop HTTP load client: N threads, each with its own keep-alive connection.

Both servers are measured with the same client, so its overhead (and whether a
server keeps connections alive) is part of both numbers alike.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Self

_RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine)


@dataclass(frozen=True)
class Reply:
    """One response: status, content type, body and the time from request to last byte."""

    status: int
    content_type: str
    body: bytes
    seconds: float


@dataclass(frozen=True)
class Batch:
    """Replies of one batch, in request order, and its wall-clock time."""

    replies: tuple[Reply, ...]
    seconds: float


class LoadClient:
    """``concurrency`` worker threads sending GETs to one ``host:port``.

    Each thread keeps one HTTP/1.1 connection open across requests while the
    server allows it and reconnects when the server closes it.
    """

    def __init__(self, host: str, port: int, concurrency: int, timeout: float = 120.0) -> None:
        self.host = host
        self.port = port
        self.concurrency = concurrency
        self.timeout = timeout
        self.connections_opened = 0
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"load-{port}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker threads (their connections close with them)."""
        self._pool.shutdown(wait=True)

    def run(self, paths: Sequence[str]) -> Batch:
        """GET every path, at most ``concurrency`` at once; wait for all of them."""
        start = time.perf_counter()
        futures = [self._pool.submit(self._get, path) for path in paths]
        replies = tuple(future.result() for future in futures)
        return Batch(replies, time.perf_counter() - start)

    def _connection(self, fresh: bool) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None and not fresh:
            return connection
        if connection is not None:
            connection.close()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self._local.connection = connection
        return connection

    def _get(self, path: str) -> Reply:
        """One GET; retried once on a new connection when a kept-alive one turns out closed."""
        kept: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        reused = kept is not None and kept.sock is not None
        try:
            return self._request(path, fresh=False)
        except _RETRYABLE:
            if not reused:
                raise
            return self._request(path, fresh=True)

    def _request(self, path: str, fresh: bool) -> Reply:
        connection = self._connection(fresh)
        if connection.sock is None:
            with self._count_lock:
                self.connections_opened += 1
        start = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - start
        if response.will_close:
            connection.close()
        return Reply(response.status, response.getheader("Content-Type", ""), body, elapsed)
