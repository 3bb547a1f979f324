"""The standalone shiftmedia service: the media endpoint, the JSON API, health and
metrics, and a demo page.

``gunicorn 'webapp:create_app()'`` runs it; settings come from the environment
(and ``SHIFTMEDIA_CONFIG``), see :mod:`shiftmedia.config`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shiftmedia.errors import InvalidImage, LimitExceeded, ShiftMediaError
from shiftmedia.flask import ShiftMedia, error_response, get_metrics, get_settings, get_storage
from shiftmedia.flask.errors import REQUEST_ID_HEADER, request_id
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from .api import api_blueprint, authorized

log = logging.getLogger("shiftmedia.service")

#: The sizes the demo page shows for an upload: (label, size, options).
DEMO_SIZES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("fit 400x300 (webp)", "400x300", {"mode": "fit"}),
    ("fill 400x300 (jpg)", "400x300", {"mode": "fill", "format": "jpg"}),
    ("pad 400x300 (png)", "400x300", {"mode": "pad", "format": "png", "background": "eeeeee"}),
    ("fill 200x200, top (avif)", "200x200", {"mode": "fill", "format": "avif", "gravity": "n"}),
    ("fit 160 wide (jpg q60)", "160", {"format": "jpg", "quality": 60}),
)
_UPLOAD_SLACK = 64 * 1024


def create_app(
    config: Mapping[str, Any] | None = None, *, settings: Settings | None = None, storage: Storage | None = None
) -> Flask:
    """The service app: settings from the environment, then ``config`` (by setting name).

    ``settings`` (already parsed) and ``storage`` (already built) are used as
    they are, so ``shiftmedia serve`` parses and builds once.
    """
    app = Flask(__name__)
    settings = settings or Settings.load(overrides=config)
    app.config["MAX_CONTENT_LENGTH"] = settings.limits.max_input_bytes + _UPLOAD_SLACK
    ShiftMedia(app, storage, settings=settings)
    app.add_url_rule("/", "index", index, methods=["GET"])
    if settings.demo_upload:
        app.add_url_rule("/upload", "upload", upload, methods=["POST"])
        if not settings.api_tokens:
            log.warning(
                "the demo upload (POST /upload) is ON and OPEN: anyone who can reach this service can store "
                "files. Set SHIFTMEDIA_API_TOKENS to require a token, or SHIFTMEDIA_DEMO_UPLOAD=false."
            )
    app.add_url_rule("/livez", "livez", livez, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])
    app.add_url_rule("/healthz", "healthz", readyz, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", prometheus, methods=["GET"])
    app.register_blueprint(api_blueprint(settings.api_tokens))
    app.url_map.merge_slashes = False
    app.register_error_handler(413, lambda _e: error_response(LimitExceeded("the upload is too large")))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.after_request(_with_request_id)
    return app


def _http_error(error: HTTPException) -> Response:
    """Routing and protocol errors (404, 405, 400…) in the service's one error form, never Flask's HTML page."""
    status = error.code or 500
    response = error_response(None, status=status, message=(error.name or "error").lower(), json=_is_api())
    if "Allow" in (allowed := dict(error.get_headers())):
        response.headers["Allow"] = allowed["Allow"]
    return response


def _unexpected(error: Exception) -> Response:
    """A bug: logged with its traceback and the request id; the client gets a plain, uncached 500."""
    log.error("request %s: unexpected %s", request_id(), type(error).__name__, exc_info=error)
    return error_response(None, status=500, message="internal error", json=_is_api())


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _with_request_id(response: Response) -> Response:
    """Every answer carries its request id, which the logs name too."""
    response.headers[REQUEST_ID_HEADER] = request_id()
    return response


def index() -> str | Response:
    """The demo: an upload form, and the last upload at several sizes and modes.

    Every resize URL names its id, so the page links an id's original (with
    its expiring token) only where anyone may read it anyway: public
    originals, or an open demo upload (``make run``).
    """
    media_id = request.args.get("id")
    samples: list[tuple[str, str]] = []
    original = None
    settings = get_settings()
    if media_id:
        storage = get_storage()
        try:
            link = storage.original_url(media_id)
            if storage.presets:
                samples = [(f"preset {name}", storage.resize_url(media_id, preset=name)) for name, _ in storage.presets]
            else:
                samples = [(label, storage.resize_url(media_id, size, **opts)) for label, size, opts in DEMO_SIZES]
        except ShiftMediaError as error:
            return error_response(error)
        if settings.public_originals or (settings.demo_upload and not settings.api_tokens):
            original = link
    upload_form = {"open": settings.demo_upload, "token": bool(settings.api_tokens)}
    return render_template("index.html", media_id=media_id, original=original, samples=samples, upload=upload_form)


def upload() -> Response:
    """Store the uploaded file and show it on the demo page (only with ``SHIFTMEDIA_DEMO_UPLOAD``).

    With API tokens configured, the form must carry one (field ``token``, or a
    bearer header): the demo never becomes a way around the API's tokens.
    """
    tokens = get_settings().api_tokens
    if tokens and not (authorized(tokens) or authorized(tokens, request.form.get("token", ""))):
        return error_response(None, status=401, message="a valid token is required to upload")
    file = request.files.get("image")
    if file is None or not file.filename:
        return error_response(InvalidImage("no file was uploaded"))
    try:
        media_id = get_storage().put(file.stream, filename=file.filename)
    except ShiftMediaError as error:
        return error_response(error)
    return redirect(url_for("index", id=media_id), code=303)


def livez() -> tuple[dict[str, str], int, dict[str, str]]:
    """``200`` while the process answers: liveness never asks the store, so a bucket blip restarts nothing."""
    return {"status": "ok"}, 200, {"Cache-Control": "no-store"}


def readyz() -> tuple[dict[str, str], int, dict[str, str]]:
    """``200`` when the storage is reachable and usable, else ``503``: take this instance out of rotation."""
    headers = {"Cache-Control": "no-store"}
    try:
        get_storage().check()
    except ShiftMediaError as error:
        log.warning("request %s: not ready: %s: %s", request_id(), type(error).__name__, error)
        return {"status": "unavailable"}, 503, headers
    return {"status": "ok"}, 200, headers


def prometheus() -> Response:
    """Prometheus metrics of this process (or of every worker, in multiprocess mode).

    Absent (404) unless ``SHIFTMEDIA_METRICS_TOKENS`` are set (then a bearer
    token is required) or ``SHIFTMEDIA_METRICS_PUBLIC=true`` says, explicitly,
    that anyone may read them. ``SHIFTMEDIA_METRICS_BIND`` serves them on an
    address of their own instead (see the gunicorn settings module).
    """
    settings = get_settings()
    if not settings.metrics_public:
        if not settings.metrics_tokens:
            return error_response(None, status=404, message="not found")
        if not authorized(settings.metrics_tokens):
            return error_response(None, status=401, message="a valid bearer token is required")
    body, content_type = get_metrics().exposition()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
