"""The one error answer of every shiftmedia endpoint: a status per library error, never cached.

The media endpoint answers in plain text, the API in JSON; both come from
:func:`error_response`, so the status map, ``Cache-Control: no-store`` and
``Retry-After`` on a 503 are written once.
"""

from __future__ import annotations

from flask import Response, jsonify

from ..errors import (
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

RETRY_AFTER_SECONDS = 5

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


def error_response(
    error: ShiftMediaError | None, *, status: int = 0, message: str = "", json: bool = False
) -> Response:
    """The answer for a library ``error``, or for ``status`` and ``message`` when ``error`` is ``None``.

    Plain text (``"404 no media with id …"``) or, with ``json``,
    ``{"error": message, "status": status}``; never cached; ``Retry-After``
    on a 503; ``WWW-Authenticate`` on a 401.
    """
    if error is not None:
        status, message = status_for(error), str(error)
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
    return response
