"""A small closed-loop HTTP load client: N threads, one new connection per request.

Both servers are measured with the same client, so its overhead is part of
both numbers alike. Every request goes on a connection of its own
(``Connection: close``): a server of several processes sharing one listening
socket (thumbor's ``--processes``) binds a kept-alive connection to whichever
process accepted it, and two connections landing in one process leave the
other idle for the whole run. A new connection per request is taken by a
process that is free.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class Reply:
    """One response: status, content type, body and the time from connecting to last byte."""

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
    """``concurrency`` worker threads sending GETs to one ``host:port``."""

    def __init__(self, host: str, port: int, concurrency: int, timeout: float = 120.0) -> None:
        self.host = host
        self.port = port
        self.concurrency = concurrency
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"load-{port}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True)

    def run(self, paths: Sequence[str]) -> Batch:
        """GET every path, at most ``concurrency`` at once; wait for all of them."""
        start = time.perf_counter()
        futures = [self._pool.submit(self._get, path) for path in paths]
        replies = tuple(future.result() for future in futures)
        return Batch(replies, time.perf_counter() - start)

    def _get(self, path: str) -> Reply:
        start = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("GET", path, headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        return Reply(response.status, response.getheader("Content-Type", ""), body, time.perf_counter() - start)
