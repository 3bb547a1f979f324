"""Flask integration: the ``/media/<key>`` endpoint and template helpers.

``ShiftMedia(app)`` (or ``ShiftMedia()`` then ``init_app(app)``) reads the
``SHIFTMEDIA_*``/``S3_*`` keys of ``app.config``, builds a
:class:`~shiftmedia.storage.Storage` (or takes the one given), registers the
blueprint under ``SHIFTMEDIA_URL_PREFIX`` (default ``/media``) and the Jinja
globals ``media_url``, ``media_srcset`` and ``media_picture``.

The endpoint answers in one of two ways (``SHIFTMEDIA_RESPONSE``):

``serve`` (default)
    ``200`` with the image: a stored object, or the signed derivative made on
    the spot. Immutable caching, a content ``ETag``, ``304`` on a match. This
    is the answer for a CDN's failover origin and for direct use.
``redirect``
    The derivative is made if missing, then ``302`` to its public URL (or a
    fresh presigned URL for a private bucket), with ``Cache-Control: no-store``.
    This is the answer for an S3 website 404 routing rule.

Redirect loops (a CDN or browser that cached the bucket's 404, an object
slow to appear) are cut in two ways, so a browser always ends with the image
within two redirects. Before redirecting, the service asks the public URL
itself (a one-byte ranged ``GET``, no redirects followed, short timeout) and
serves the bytes when the front does not answer with the object. And the
redirect goes to the URL with a ``sm-retry`` query parameter, which a CDN
keys as a fresh object and which, where the front passes it back on another
404, makes the service serve the bytes at once; a front that does not serve
the URL with that parameter gets the plain URL, if it serves that.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, redirect, request
from markupsafe import Markup, escape

from . import metrics
from .backends.base import IMMUTABLE, check_key, content_type_for
from .config import build_storage, load_settings
from .errors import (
    AccessDenied,
    BadSignature,
    InvalidImage,
    InvalidSpec,
    LimitExceeded,
    NotFound,
    Overloaded,
    ShiftMediaError,
    StorageError,
    StorageUnavailable,
)
from .spec import looks_like_derivative, parse_size
from .storage import Derivative, Storage

EXTENSION_KEY = "shiftmedia"
ORIGINAL_CACHE = "public, max-age=86400"
RETRY_AFTER_SECONDS = 5
LOOP_PARAM = "sm-retry"
RESPONSES = ("serve", "redirect")
FRONT_CHECK_TIMEOUT = 2.0
DENSITIES = (1, 2, 3)
PICTURE_FORMATS = ("avif", "webp")

log = logging.getLogger("shiftmedia.access")

#: HTTP status for each library error, most specific class first.
STATUS: tuple[tuple[type[ShiftMediaError], int], ...] = (
    (BadSignature, 403),
    (InvalidSpec, 404),
    (NotFound, 404),
    (InvalidImage, 422),
    (LimitExceeded, 413),
    (Overloaded, 503),
    (StorageUnavailable, 503),
    (AccessDenied, 502),
    (StorageError, 503),
)

blueprint = Blueprint("shiftmedia", __name__)


class ShiftMedia:
    """The Flask extension: one :class:`Storage` per app, in ``app.extensions``."""

    def __init__(self, app: Flask | None = None, storage: Storage | None = None) -> None:
        self._storage = storage
        if app is not None:
            self.init_app(app, storage)

    def init_app(self, app: Flask, storage: Storage | None = None) -> None:
        """Configure ``app``: storage from its config, the blueprint, the helpers."""
        settings = load_settings(environ={}, overrides=app.config)
        app.config["SHIFTMEDIA_RESPONSE"] = settings.choice("SHIFTMEDIA_RESPONSE", RESPONSES)
        app.extensions[EXTENSION_KEY] = storage or self._storage or build_storage(settings)
        app.register_blueprint(blueprint, url_prefix=app.config.get("SHIFTMEDIA_URL_PREFIX", "/media"))
        app.add_template_global(media_url)
        app.add_template_global(media_srcset)
        app.add_template_global(media_picture)


def get_storage() -> Storage:
    """The current app's :class:`Storage`."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def media_url(media_id: str, size: str | int | tuple[int, int] | None = None, **options: Any) -> str:
    """Template helper: the original's URL, or a signed resize URL when ``size`` is given."""
    storage = get_storage()
    if size is None:
        return storage.original_url(media_id)
    return storage.resize_url(media_id, size, **options)


def media_srcset(
    media_id: str,
    size: str | int | tuple[int, int],
    *,
    widths: Iterable[int] | None = None,
    densities: Iterable[int] = DENSITIES,
    **options: Any,
) -> str:
    """Template helper: a ``srcset`` value.

    With ``widths``, one URL per width (``400w``), the height following the
    aspect of ``size``; otherwise one per pixel density (``2x``) of ``size``.
    Sizes over the output limit are left out.
    """
    storage = get_storage()
    base = parse_size(size)
    candidates: list[tuple[tuple[int, int], str]] = []
    if widths is not None:
        for width in widths:
            height = round(base[1] * width / base[0]) if base[0] and base[1] else 0
            candidates.append(((width, height), f"{width}w"))
    else:
        candidates = [((base[0] * d, base[1] * d), f"{d}x") for d in densities]
    limit = storage.limits.max_output_side
    return ", ".join(
        f"{storage.resize_url(media_id, dims, **options)} {descriptor}"
        for dims, descriptor in candidates
        if max(dims) <= limit
    )


def media_picture(
    media_id: str,
    size: str | int | tuple[int, int],
    *,
    alt: str = "",
    formats: Iterable[str] = PICTURE_FORMATS,
    fallback: str = "jpg",
    loading: str = "lazy",
    **options: Any,
) -> Markup:
    """Template helper: a ``<picture>`` with AVIF/WebP sources and a JPEG ``<img>``.

    The format is part of every URL, so this is safe behind any CDN with no
    ``Vary: Accept``. Quality, if given, applies to every lossy format.
    """
    sources = "".join(
        f'<source type="image/{fmt}" srcset="{escape(media_srcset(media_id, size, format=fmt, **options))}">'
        for fmt in formats
    )
    src = media_url(media_id, size, format=fallback, **options)
    fallback_srcset = media_srcset(media_id, size, format=fallback, **options)
    width, height = parse_size(size)
    dims = "".join(f' {name}="{value}"' for name, value in (("width", width), ("height", height)) if value)
    img = (
        f'<img src="{escape(src)}" srcset="{escape(fallback_srcset)}" alt="{escape(alt)}"'
        f'{dims} loading="{escape(loading)}" decoding="async">'
    )
    return Markup(f"<picture>{sources}{img}</picture>")


def status_for(error: ShiftMediaError) -> int:
    """The HTTP status the service answers for a library error."""
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_response(error: ShiftMediaError) -> Response:
    """A short plain-text error that no cache keeps."""
    status = status_for(error)
    response = Response(f"{status} {error}\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    g.shiftmedia_outcome = type(error).__name__
    return response


@blueprint.before_request
def _start() -> None:
    g.shiftmedia_started = time.perf_counter()
    g.shiftmedia_outcome = "unknown"
    metrics.IN_FLIGHT.inc()


@blueprint.teardown_request
def _finish(_error: BaseException | None) -> None:
    metrics.IN_FLIGHT.dec()


@blueprint.after_request
def _record(response: Response) -> Response:
    outcome = g.get("shiftmedia_outcome", "unknown")
    metrics.REQUESTS.labels(str(response.status_code), outcome).inc()
    if response.status_code in (200, 206) and request.method == "GET":
        metrics.BYTES_OUT.inc(response.calculate_content_length() or 0)
    log.info(
        json.dumps(
            {
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "outcome": outcome,
                "ms": round((time.perf_counter() - g.shiftmedia_started) * 1000, 1),
                "bytes": response.calculate_content_length(),
            },
            separators=(",", ":"),
        )
    )
    return response


@blueprint.route("/<path:key>", methods=["GET", "HEAD"])
def media(key: str) -> Response:
    """Serve (or redirect to) ``key``, making the signed derivative it names if missing."""
    storage = get_storage()
    try:
        check_key(key)
        if current_app.config["SHIFTMEDIA_RESPONSE"] == "redirect" and LOOP_PARAM not in request.args:
            return _redirect(storage, key)
        return _serve(storage, key)
    except ShiftMediaError as error:
        return error_response(error)


def _serve(storage: Storage, key: str) -> Response:
    """``200`` with the stored object, or with the derivative made now."""
    name = key.rsplit("/", 1)[-1]
    if not looks_like_derivative(name) or storage.backend.exists(key):
        data = storage.backend.read(key)
        g.shiftmedia_outcome = "stored"
        return _image(data, content_type_for(key), IMMUTABLE if looks_like_derivative(name) else ORIGINAL_CACHE)
    made = _create(storage, key)
    return _image(made.data, made.content_type, IMMUTABLE, made)


def _redirect(storage: Storage, key: str) -> Response:
    """``302`` to where the object is served, once it exists; the bytes if that front fails."""
    name = key.rsplit("/", 1)[-1]
    made = _create(storage, key) if looks_like_derivative(name) else None
    if made is None and not storage.backend.exists(key):
        raise NotFound(f"no object {key}")
    target: str | None = storage.backend.public_url(key)
    if not getattr(storage.backend, "private", False):
        plain = target
        marked = f"{plain}{'&' if '?' in plain else '?'}{LOOP_PARAM}=1"
        target = next((url for url in (marked, plain) if _front_serves(url)), None)
    if target is None:
        g.shiftmedia_outcome = "served-front-failed"
        if made is not None:
            return _image(made.data, made.content_type, IMMUTABLE, made)
        return _image(storage.backend.read(key), content_type_for(key), ORIGINAL_CACHE)
    g.shiftmedia_outcome = "redirect"
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def _create(storage: Storage, key: str) -> Derivative:
    made = storage.create_resize(key)
    g.shiftmedia_outcome = "created" if made.rendered else "stored"
    if made.rendered:
        metrics.RESIZES.labels(made.format).inc()
        metrics.BYTES_IN.inc(made.source_bytes)
        for stage, seconds in made.timings.items():
            metrics.STAGE_SECONDS.labels(stage).observe(seconds)
    return made


def _front_serves(url: str) -> bool:
    """True if ``url`` answers with the object itself (200/206), no redirect followed.

    A one-byte ranged ``GET`` rather than ``HEAD``: some S3 website endpoints
    (LocalStack's) refuse ``HEAD``, and the range keeps the answer small.
    """
    opener = urllib.request.build_opener(_NoRedirect)
    probe = urllib.request.Request(url, headers={"Range": "bytes=0-0"})
    try:
        with opener.open(probe, timeout=FRONT_CHECK_TIMEOUT) as response:
            return response.status in (200, 206)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Make urllib report a redirect as the answer instead of following it."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _image(data: bytes, content_type: str, cache_control: str, made: Derivative | None = None) -> Response:
    """The image with a content ETag, answering conditional GETs.

    The ETag is the MD5 of the bytes, as S3 and S3-compatible stores give a
    single-part object, so a validator from the service also matches the
    bucket's copy behind a CDN.
    """
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Shiftmedia"] = g.shiftmedia_outcome
    if made is not None and made.timings:
        response.headers["Server-Timing"] = ", ".join(
            f"{stage};dur={seconds * 1000:.1f}" for stage, seconds in made.timings.items()
        )
    response.set_etag(hashlib.md5(data, usedforsecurity=False).hexdigest())
    return response.make_conditional(request)
