"""Flask integration: the ``/media/<key>`` endpoint and template helpers.

``ShiftMedia(app)`` (or ``ShiftMedia()`` then ``init_app(app)``) reads the
``SHIFTMEDIA_*``/``S3_*`` keys of ``app.config``, builds a
:class:`~shiftmedia.storage.Storage` (or takes the one given), registers the
blueprint under ``SHIFTMEDIA_URL_PREFIX`` (default ``/media``) and the Jinja
global ``media_url``. The endpoint serves a stored object if it exists, and
otherwise verifies the signed name, creates the derivative and serves it.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request

from .backends.base import IMMUTABLE, check_key, content_type_for
from .config import build_storage, load_settings
from .errors import (
    AccessDenied,
    BadSignature,
    InvalidImage,
    InvalidSpec,
    LimitExceeded,
    NotFound,
    ShiftMediaError,
    StorageError,
    StorageUnavailable,
)
from .spec import looks_like_derivative
from .storage import Storage

EXTENSION_KEY = "shiftmedia"
ORIGINAL_CACHE = "public, max-age=86400"
RETRY_AFTER_SECONDS = 5

#: HTTP status for each library error, most specific class first.
STATUS: tuple[tuple[type[ShiftMediaError], int], ...] = (
    (BadSignature, 403),
    (InvalidSpec, 404),
    (NotFound, 404),
    (InvalidImage, 422),
    (LimitExceeded, 413),
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
        storage = storage or self._storage or build_storage(load_settings(environ={}, overrides=app.config))
        app.extensions[EXTENSION_KEY] = storage
        app.register_blueprint(blueprint, url_prefix=app.config.get("SHIFTMEDIA_URL_PREFIX", "/media"))
        app.add_template_global(media_url)


def get_storage() -> Storage:
    """The current app's :class:`Storage`."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def media_url(media_id: str, size: str | int | tuple[int, int] | None = None, **options: object) -> str:
    """Template helper: the original's URL, or a signed resize URL when ``size`` is given."""
    storage = get_storage()
    if size is None:
        return storage.original_url(media_id)
    return storage.resize_url(media_id, size, **options)


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
    return response


@blueprint.route("/<path:key>", methods=["GET", "HEAD"])
def media(key: str) -> Response:
    """Serve ``key`` if stored; else create the signed derivative it names and serve it."""
    storage = get_storage()
    try:
        check_key(key)
        if storage.backend.exists(key):
            data = storage.backend.read(key)
            derivative = looks_like_derivative(key.rsplit("/", 1)[-1])
            return _image_response(data, content_type_for(key), IMMUTABLE if derivative else ORIGINAL_CACHE)
        created = storage.create_resize(key)
    except ShiftMediaError as error:
        return error_response(error)
    return _image_response(created.data, created.content_type, IMMUTABLE)


def _image_response(data: bytes, content_type: str, cache_control: str) -> Response:
    """The image with a content ETag (the same on every host), answering conditional GETs."""
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.add_etag()
    return response.make_conditional(request)
