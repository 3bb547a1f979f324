"""The standalone shiftmedia service: the media endpoint, the JSON API, health and
metrics, and a demo page.

``gunicorn 'webapp:create_app()'`` runs it; settings come from the environment
(and ``SHIFTMEDIA_CONFIG``), see :mod:`shiftmedia.config`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shiftmedia.errors import LimitExceeded, ShiftMediaError
from shiftmedia.flask import ShiftMedia, error_response, get_metrics, get_settings, get_storage
from shiftmedia.flask.errors import REQUEST_ID_HEADER, request_id
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from . import demo
from .api import api_blueprint, authorized

log = logging.getLogger("shiftmedia.service")

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
    app.config["MAX_CONTENT_LENGTH"] = settings.limits.max_original_bytes + _UPLOAD_SLACK
    ShiftMedia(app, storage, settings=settings)
    demo.register(app, settings)
    app.add_url_rule("/livez", "livez", livez, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])
    app.add_url_rule("/healthz", "healthz", readyz, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", prometheus, methods=["GET"])
    app.register_blueprint(api_blueprint(settings.api_tokens))
    app.url_map.merge_slashes = False
    app.register_error_handler(413, lambda _e: demo.failure(LimitExceeded("the upload is too large")))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.after_request(_with_request_id)
    return app


def _http_error(error: HTTPException) -> Response:
    """Routing and protocol errors (404, 405, 400…) in the service's one error form, never Flask's HTML page."""
    status, message = error.code or 500, (error.name or "error").lower()
    response: Response
    if _is_api():
        response = error_response(None, status=status, message=message, json=True)
    else:
        response = demo.failure(None, status, message)
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
