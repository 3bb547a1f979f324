"""The media endpoint: ``GET``/``HEAD <url prefix>/<key>`` turned into a :meth:`Storage.deliver` call.

HTTP only: the answer's bytes or redirect become a response (content ``ETag``,
``304`` on a match, ``Server-Timing``, ``X-Shiftmedia``), an original's stream
one that answers ``Range`` requests, a library error its
status (:mod:`shiftmedia.flask.errors`); each request is counted
(:mod:`shiftmedia.flask.metrics`) and logged as one JSON line on the
``shiftmedia.access`` logger, without its query string.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any, cast

from flask import Blueprint, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from ..access import ACCESS_PARAM
from ..delivery import LOOP_PARAM, Derivative, Redirect, Served, Streamed
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
                try:
                    response, outcome = _respond(answer)
                except HTTPException as refused:  # a Range past the end: 416
                    response, outcome = refused.get_response(), type(refused).__name__
                    response.headers["Cache-Control"] = "no-store"
            response.headers[REQUEST_ID_HEADER] = request_id()
            sent = _length(response)
            current.metrics.answered(response.status_code, outcome, sent if request.method == "GET" else 0, made)
        _log(response, outcome, started)
        return response

    return blueprint


def _respond(answer: Served | Streamed | Redirect) -> tuple[Response, str]:
    if isinstance(answer, Redirect):
        response = redirect(answer.location, code=302)
        response.headers["Cache-Control"] = "no-store"
        return response, "redirect"
    if isinstance(answer, Streamed):
        return _streamed(answer), "streamed"
    return _image(answer), answer.outcome


def _streamed(original: Streamed) -> Response:
    """An original sent from its stream through the WSGI file wrapper, answering ``Range`` (206, 416) and
    ``If-Range`` requests and conditional GETs from the store's validators; the stream is closed when the
    answer is sent (or at once, when the answer carries no body)."""
    body = cast("IO[bytes]", _EndOnError(original))  # a raw stream: IO[bytes] at run time
    response = Response(wrap_file(request.environ, body), mimetype=original.content_type)
    response.direct_passthrough = True
    response.content_length = original.size
    response.headers["Cache-Control"] = original.cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Shiftmedia"] = "streamed"
    response.accept_ranges = "bytes"  # werkzeug before 3.2 says so only when a Range was asked
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.set_etag(original.etag)
    response.last_modified = datetime.fromtimestamp(int(original.modified), UTC)
    try:
        return response.make_conditional(_one_range(), accept_ranges=True, complete_length=original.size)
    except HTTPException:  # 416: no body will be sent, so nothing else would close the stream
        response.close()
        raise


def _image(served: Served) -> Response:
    """The image with a content ETag, answering conditional and ``Range`` GETs, as the bucket would.

    The ETag is the MD5 of the bytes, as S3 and S3-compatible stores give a
    single-part object, so a validator from the service also matches the
    bucket's copy behind a CDN.
    """
    response = Response(served.data, mimetype=served.content_type)
    response.headers["Cache-Control"] = served.cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Shiftmedia"] = served.outcome
    response.headers["Timing-Allow-Origin"] = "*"
    response.accept_ranges = "bytes"
    response.headers["Access-Control-Allow-Origin"] = "*"
    if served.timings:
        response.headers["Server-Timing"] = ", ".join(
            f"{stage};dur={seconds * 1000:.1f}" for stage, seconds in served.timings.items()
        )
    response.set_etag(hashlib.md5(served.data, usedforsecurity=False).hexdigest())
    return response.make_conditional(_one_range(), accept_ranges=True, complete_length=len(served.data))


def _one_range() -> dict[str, Any]:
    """The request as conditional answers read it; a multi-range request is answered whole (200), as HTTP
    allows, not refused: browsers never send one, and a multipart answer is no use to a media tag."""
    environ = dict(request.environ)
    if "," in environ.get("HTTP_RANGE", ""):
        del environ["HTTP_RANGE"]
    return environ


class _EndOnError(io.RawIOBase):
    """The original's stream, ended where reading it fails (the store went away, the object was replaced):
    the headers are sent by then, so the client sees a body shorter than its ``Content-Length``, and the
    failure is one log line, not a traceback from the server."""

    def __init__(self, original: Streamed) -> None:
        super().__init__()
        self._original = original

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._original.stream.seek(offset, whence)

    def tell(self) -> int:
        return self._original.stream.tell()

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._original.stream.read(len(buffer))
        except ShiftMediaError as error:
            log.warning(json.dumps({"id": request_id(), "key": self._original.key, "stream_failed": str(error)}))
            return 0
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._original.stream.close()
        super().close()


def _length(response: Response) -> int:
    """The bytes of the answer's body: its Content-Length (a stream's is known, not computed)."""
    return response.content_length if response.content_length is not None else response.calculate_content_length() or 0


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
                "bytes": _length(response),
            },
            separators=(",", ":"),
        )
    )
