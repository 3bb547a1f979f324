"""gunicorn settings for the shiftmedia service, shipped in the package.

After ``pip install 'shiftmedia[server]'``, from any directory::

    gunicorn -c python:shiftmedia_webapp.gunicorn_conf

gunicorn reads the module-level names below as its settings; the application
(``shiftmedia_webapp:create_app()``) is named here too, so no positional argument is needed.
Every value can be tuned from the environment the service already reads
(``/etc/shiftmedia/env`` under systemd); gunicorn's own command-line flags and
``GUNICORN_CMD_ARGS`` still override what this module sets.

``SHIFTMEDIA_BIND``
    listen address (behind nginx or a CDN origin; a comma-separated list binds
    several, ``unix:/run/shiftmedia/sock`` a socket).
``PORT``
    the container and platform convention gunicorn itself follows: when
    ``SHIFTMEDIA_BIND`` is unset or empty, bind ``0.0.0.0:$PORT``. With neither,
    the service listens on ``127.0.0.1:8000``.
``SHIFTMEDIA_WORKERS``
    worker processes, default: the usable CPU cores, at most :data:`MAX_WORKERS`.
``WEB_CONCURRENCY``
    the platform convention for the worker count (Heroku and others set it;
    gunicorn's own default reads it): used when ``SHIFTMEDIA_WORKERS`` is unset
    or empty. shiftmedia's own name wins when both are set, so an operator's
    explicit choice is never overridden by what a platform injects.
``SHIFTMEDIA_THREADS``
    threads per worker, default :data:`DEFAULT_THREADS`.
``SHIFTMEDIA_MAX_CONCURRENT_RESIZES``
    resizes one worker runs at once, default 1: with one worker per core,
    that is one resize per core, and the worker's other threads keep serving
    stored files and waiting misses. A large output is made in two bands on
    two threads, so a lone miss on an idle machine uses two cores and
    finishes sooner; under full load the bands only take turns.
``SHIFTMEDIA_RESIZE_TIMEOUT``
    the service's per-request resize budget in seconds (default 20); the
    worker timeout and the graceful-stop timeout are that budget plus
    :data:`TIMEOUT_MARGIN`.
``SHIFTMEDIA_ACCESS_LOG``
    where access lines go, default ``-`` (standard output, i.e. the journal).
``PROMETHEUS_MULTIPROC_DIR``
    when set, ``/metrics`` adds up every worker's samples (prometheus-client's
    multiprocess mode): the folder is created and emptied when gunicorn starts,
    and an exited worker's live gauges are dropped.
``SHIFTMEDIA_METRICS_BIND``
    ``host:port`` (``127.0.0.1:9100``, ``[::1]:9100``) where the master serves the
    metrics of all workers, without authentication (keep it on loopback or a
    private network). It needs ``PROMETHEUS_MULTIPROC_DIR``, or gunicorn refuses to
    start: prometheus-client chose its mode on import, before this module runs.

Why one worker per core and not gunicorn's usual ``2 * cores + 1``: the work
a miss does is a Pillow decode, resize and encode, which is CPU-bound and
releases the GIL only inside Pillow's C code. More processes than cores only
make resizes take turns on the same cores, each holding a decoded image in
memory (a 50-megapixel original is 200 MB of RGBA), so the formula that suits
I/O-bound apps multiplies peak memory for no throughput. What does wait on I/O
(fetching the original from S3, storing the derivative, serving a stored file,
``/healthz``) runs on the ``gthread`` worker's threads, so a slow store never
stalls the other requests of a process. The cap keeps a big machine from
starting dozens of copies of the app: run more hosts, or raise
``SHIFTMEDIA_WORKERS`` knowingly.

With ``gthread`` the worker timeout is a heartbeat: the arbiter kills a worker
whose main loop stopped for ``timeout`` seconds (a C extension stuck holding
the GIL), not a request that is merely slow. The resize budget bounds a
request; the timeout is set just above it so a stuck worker is replaced soon
after the budget it should have kept, and ``graceful_timeout`` lets a resize
that started before a reload or stop finish instead of being cut off.

``keepalive`` is longer than the idle timeout of the fronts that keep
connections to the service (nginx's upstream keepalive, CloudFront's origin
keep-alive, load balancers at 60 s), so the front always closes first and
never sends a request on a connection gunicorn is closing.

Each worker tunes glibc's malloc before its threads start (``post_fork``).
By default glibc raises its mmap threshold to each large block freed (up to
32 MiB), so decoded images and originals' bytes then come from heaps that keep
freed memory resident, one heap per busy thread: workers sat at 80 to 190 MiB
instead of 55. A fixed :data:`MALLOC_MMAP_THRESHOLD` unmaps every large block
when freed, and the threads share :data:`MALLOC_ARENA_MAX` heaps; glibc's own
``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_ARENA_MAX`` or ``GLIBC_TUNABLES`` win.
``max_requests`` with jitter still recycles workers, rarely and not all at
once: a backstop for a leak in a decoder, not the way memory comes back.

The access log format leaves out the query string (``%(U)s`` is the path
only) and the referer: presigned URLs carry their signature and credential
in the query, and a referer is a page URL that may carry tokens of its own.

``shiftmedia.*`` loggers (a JSON object per media request on
``shiftmedia.access``) log at INFO, other libraries at WARNING, to gunicorn's
error log, in its format and wherever it goes; ``--log-level warning`` turns
the per-request lines off.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

from shiftmedia_webapp.worker import answer_errors_plainly, tune_malloc

#: Where the service listens when neither ``SHIFTMEDIA_BIND`` nor ``PORT`` says otherwise.
DEFAULT_BIND = "127.0.0.1:8000"
#: Upper bound on the default number of workers.
MAX_WORKERS = 8
#: Threads per worker unless ``SHIFTMEDIA_THREADS`` says otherwise.
DEFAULT_THREADS = 4
#: The service's per-request resize budget unless ``SHIFTMEDIA_RESIZE_TIMEOUT`` says otherwise.
DEFAULT_RESIZE_TIMEOUT = 20
#: Seconds added to the resize budget for the worker and graceful timeouts.
TIMEOUT_MARGIN = 10
#: Seconds an idle keep-alive connection stays open (above the 60 s fronts use).
KEEPALIVE_SECONDS = 75
#: Requests after which a worker is replaced (plus up to :data:`MAX_REQUESTS_JITTER`): a backstop only.
MAX_REQUESTS, MAX_REQUESTS_JITTER = 10_000, 1_000


def _int_from_env(name: str, default: int, minimum: int = 1) -> int:
    """``$name`` rounded up to an integer of at least ``minimum``, or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = math.ceil(float(raw))
    except (ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def _first_int_from_env(names: tuple[str, ...], default: int) -> int:
    """The first of ``names`` that is set and not empty, as :func:`_int_from_env` reads it; else ``default``.

    A later name is not even parsed when an earlier one is set: the earlier one wins outright.
    """
    for name in names:
        if os.environ.get(name, "").strip():
            return _int_from_env(name, default)
    return default


def usable_cores() -> int:
    """CPU cores this process may use: its affinity mask, reduced by a cgroup v2 CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return max(1, cores)
    if quota != "max" and int(period) > 0:
        cores = min(cores, -(-int(quota) // int(period)))
    return max(1, cores)


def bind_addresses(raw: str, port: str = "") -> list[str]:
    """The comma-separated addresses in ``raw``; when there are none, ``0.0.0.0:<port>`` if ``port``
    is given (gunicorn's ``$PORT`` convention), else :data:`DEFAULT_BIND`."""
    addresses = [address.strip() for address in raw.split(",") if address.strip()]
    if addresses:
        return addresses
    port = port.strip()
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"PORT must be a TCP port number (1-65535), not {port!r}")
        return [f"0.0.0.0:{int(port)}"]
    return [DEFAULT_BIND]


def default_workers() -> int:
    """One worker per usable core, at most :data:`MAX_WORKERS`."""
    return min(usable_cores(), MAX_WORKERS)


def metrics_address(raw: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port`` or ``[v6]:port``; ``None`` for an empty ``raw``."""
    host, _, port = raw.strip().rpartition(":")
    if not raw.strip():
        return None
    bare_v6 = ":" in host and not (host.startswith("[") and host.endswith("]"))
    if host in ("", "[]") or bare_v6 or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"SHIFTMEDIA_METRICS_BIND must be host:port (127.0.0.1:9100, [::1]:9100), not {raw!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


class ErrorLogHandler(logging.Handler):
    """Hands each record to gunicorn's error log handlers (looked up each time: reloads and reopened
    files are followed), at the level ``--log-level`` lets through."""

    def emit(self, record: logging.LogRecord) -> None:
        error_log = logging.getLogger("gunicorn.error")
        if not error_log.isEnabledFor(record.levelno):
            return
        for handler in error_log.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


resize_timeout = _int_from_env("SHIFTMEDIA_RESIZE_TIMEOUT", DEFAULT_RESIZE_TIMEOUT)

wsgi_app = "shiftmedia_webapp:create_app()"
bind = bind_addresses(os.environ.get("SHIFTMEDIA_BIND", ""), os.environ.get("PORT", ""))
worker_class = "gthread"
workers = _first_int_from_env(("SHIFTMEDIA_WORKERS", "WEB_CONCURRENCY"), default_workers())
threads = _int_from_env("SHIFTMEDIA_THREADS", DEFAULT_THREADS)
timeout = resize_timeout + TIMEOUT_MARGIN
graceful_timeout = resize_timeout + TIMEOUT_MARGIN
keepalive = KEEPALIVE_SECONDS
max_requests = MAX_REQUESTS
max_requests_jitter = MAX_REQUESTS_JITTER

accesslog = os.environ.get("SHIFTMEDIA_ACCESS_LOG", "-")
errorlog = "-"
loglevel = "info"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
proc_name = "shiftmedia"
raw_env = [f"SHIFTMEDIA_MAX_CONCURRENT_RESIZES={_int_from_env('SHIFTMEDIA_MAX_CONCURRENT_RESIZES', 1)}"]
# Replaces gunicorn's defaults whole, so gunicorn.error and gunicorn.access keep their own handlers.
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "WARNING", "handlers": ["error_log"]},
    "loggers": {"shiftmedia": {"level": "INFO", "handlers": ["error_log"], "propagate": False}},
    "handlers": {"error_log": {"()": ErrorLogHandler}},
}
#: Where the master serves every worker's metrics, if anywhere (read by :func:`when_ready`).
metrics_bind = metrics_address(os.environ.get("SHIFTMEDIA_METRICS_BIND", ""))
if metrics_bind is not None and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    raise ValueError("SHIFTMEDIA_METRICS_BIND needs PROMETHEUS_MULTIPROC_DIR (the systemd unit sets one)")
_metrics_server: Any = None


def on_starting(server: Any) -> None:
    """Create ``$PROMETHEUS_MULTIPROC_DIR`` and remove the samples of a previous run."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def when_ready(server: Any) -> None:
    """Serve the metrics of all workers on :data:`metrics_bind`, from the master, when it is set."""
    global _metrics_server
    if metrics_bind is None:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    host, port = metrics_bind
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        _metrics_server, _thread = start_http_server(port, host, registry)
    except OSError as error:  # USR2's new master while the old one holds the port: serve, log the loss
        server.log.error("Metrics not served on %s: %s", shown, error)
    else:
        server.log.info("Metrics of all workers on http://%s/metrics", shown)


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: tune malloc before its threads start, answer gunicorn's own errors plainly,
    and close the master's metrics listener."""
    answer_errors_plainly()
    tuned = tune_malloc()
    server.log.debug("Worker %s malloc: %s", worker.pid, tuned or "left as it is")
    if _metrics_server is not None:
        _metrics_server.socket.close()


def child_exit(server: Any, worker: Any) -> None:
    """Drop an exited worker's live gauges from prometheus-client's multiprocess files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
