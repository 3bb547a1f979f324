"""The one error answer of every shiftmedia endpoint: a status per library error, never cached.

The media endpoint answers in plain text, the API in JSON; both come from
:func:`error_response`, so the status map, ``Cache-Control: no-store`` and
``Retry-After`` on a 503 are written once. Clients get a message that says
what is wrong with their request and nothing of the service's insides: errors
of the store or the configuration (bucket names, prefixes, S3 error codes) are
answered with a generic sentence, and the details go to the
``shiftmedia.errors`` log with the request id that the answer carries in
``X-Request-ID``.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Response, jsonify, request

from ..errors import (
    AccessDenied,
    BadSignature,
    InvalidImage,
    InvalidKey,
    InvalidSpec,
    LimitExceeded,
    NotFound,
    Overloaded,
    ShiftMediaError,
    StorageError,
    StorageUnavailable,
)

RETRY_AFTER_SECONDS = 5
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = "shiftmedia.request_id"
_GIVEN_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")

log = logging.getLogger("shiftmedia.errors")

#: Errors whose message is about the request itself, safe to show; any other gets :data:`GENERIC`.
SHOWN: tuple[type[ShiftMediaError], ...] = (BadSignature, InvalidSpec, InvalidImage, LimitExceeded)
#: What a client is told, by status, when the message is not its business.
GENERIC = {
    403: "forbidden",
    404: "not found",
    500: "internal error",
    502: "the store refused the request",
    503: "temporarily unavailable, retry later",
}

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


def status_for(error: ShiftMediaError) -> int:
    """The HTTP status the service answers for a library error."""
    return next((status for cls, status in STATUS if isinstance(error, cls)), 500)


def request_id() -> str:
    """This request's id: a well-formed incoming ``X-Request-ID`` (a front's), else a fresh one."""
    environ = request.environ
    if _REQUEST_ID_KEY not in environ:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        environ[_REQUEST_ID_KEY] = given if _GIVEN_ID_RE.fullmatch(given) else uuid.uuid4().hex
    found: str = environ[_REQUEST_ID_KEY]
    return found


def public_message(error: ShiftMediaError) -> str:
    """What the client may read of ``error``: its message when it is about the request, else a generic one."""
    if isinstance(error, SHOWN) and not isinstance(error, InvalidKey):
        return str(error)
    return GENERIC.get(status_for(error), "error")


def error_response(
    error: ShiftMediaError | None, *, status: int = 0, message: str = "", json: bool = False
) -> Response:
    """The answer for a library ``error``, or for ``status`` and ``message`` when ``error`` is ``None``.

    Plain text (``"404 not found"``) or, with ``json``,
    ``{"error": message, "status": status}``; never cached; ``Retry-After``
    on a 503; ``WWW-Authenticate`` on a 401; ``X-Request-ID`` always. A
    library error is logged with its full message and the request id.
    """
    if error is not None:
        status, message = status_for(error), public_message(error)
        level = logging.WARNING if status >= 500 else logging.INFO
        log.log(level, "request %s: %s %s: %s", request_id(), status, type(error).__name__, error)
    if json:
        response = jsonify({"error": message, "status": status})
        response.status_code = status
    else:
        response = Response(f"{status} {message}\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="shiftmedia"'
    response.headers[REQUEST_ID_HEADER] = request_id()
    return response
