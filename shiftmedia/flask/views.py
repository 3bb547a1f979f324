"""The media endpoint: ``GET``/``HEAD <url prefix>/<key>`` turned into a :meth:`Storage.deliver` call.

HTTP only: the answer's bytes or redirect become a response (content ``ETag``,
``304`` on a match, ``Server-Timing``, ``X-Shiftmedia``), a library error its
status (:mod:`shiftmedia.flask.errors`); each request is counted
(:mod:`shiftmedia.flask.metrics`) and logged as one JSON line on the
``shiftmedia.access`` logger, without its query string.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from ..access import ACCESS_PARAM
from ..delivery import LOOP_PARAM, Derivative, Redirect, Served
from ..errors import ShiftMediaError
from .errors import REQUEST_ID_HEADER, error_response, request_id
from .state import MediaState

log = logging.getLogger("shiftmedia.access")


def media_blueprint(name: str, state: Callable[[], MediaState]) -> Blueprint:
    """A blueprint called ``name`` with the media endpoint over the app's ``state()``."""
    blueprint = Blueprint(name, __name__)

    @blueprint.route("/<path:key>", methods=["GET", "HEAD"], merge_slashes=False)
    def media(key: str) -> Response:
        """Serve (or redirect to) ``key``, making the signed derivative it names if missing."""
        current = state()
        started = time.perf_counter()
        made: Derivative | None = None
        response: Response
        with current.metrics.answering():
            try:
                answer = current.storage.deliver(
                    key,
                    redirect=current.redirect and LOOP_PARAM not in request.args,
                    access=request.args.get(ACCESS_PARAM),
                )
            except ShiftMediaError as error:
                response, outcome = error_response(error), type(error).__name__
            else:
                made = answer.made
                response, outcome = _respond(answer)
            response.headers[REQUEST_ID_HEADER] = request_id()
            sent = response.calculate_content_length() or 0
            current.metrics.answered(response.status_code, outcome, sent if request.method == "GET" else 0, made)
        _log(response, outcome, started)
        return response

    return blueprint


def _respond(answer: Served | Redirect) -> tuple[Response, str]:
    if isinstance(answer, Redirect):
        response = redirect(answer.location, code=302)
        response.headers["Cache-Control"] = "no-store"
        return response, "redirect"
    return _image(answer), answer.outcome


def _image(served: Served) -> Response:
    """The image with a content ETag, answering conditional GETs.

    The ETag is the MD5 of the bytes, as S3 and S3-compatible stores give a
    single-part object, so a validator from the service also matches the
    bucket's copy behind a CDN.
    """
    response = Response(served.data, mimetype=served.content_type)
    response.headers["Cache-Control"] = served.cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Shiftmedia"] = served.outcome
    response.headers["Timing-Allow-Origin"] = "*"
    if served.timings:
        response.headers["Server-Timing"] = ", ".join(
            f"{stage};dur={seconds * 1000:.1f}" for stage, seconds in served.timings.items()
        )
    response.set_etag(hashlib.md5(served.data, usedforsecurity=False).hexdigest())
    return response.make_conditional(request)


def _log(response: Response, outcome: str, started: float) -> None:
    log.info(
        json.dumps(
            {
                "id": request_id(),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "outcome": outcome,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "bytes": response.calculate_content_length(),
            },
            separators=(",", ":"),
        )
    )
