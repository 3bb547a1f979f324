"""Flask integration: the ``<url prefix>/<key>`` media endpoint, template helpers, ``flask shiftmedia``.

``ShiftMedia(app)`` (or ``ShiftMedia()`` then ``init_app(app)``) reads its
settings from ``app.config``, every name carrying the extension's prefix
(``SHIFTMEDIA_SECRET_KEYS``, ``SHIFTMEDIA_S3_BUCKET`` for ``S3_BUCKET``…, see
:mod:`shiftmedia.settings`), builds a :class:`~shiftmedia.storage.Storage`
(or takes the one given), registers the media endpoint under
``SHIFTMEDIA_URL_PREFIX`` (default ``/media``), the Jinja globals
``media_url``, ``media_srcset``, ``media_picture`` and ``media_info``, and
the ``flask shiftmedia`` commands. Nothing is global: state lives in ``app.extensions``.

A second instance with its own ``name`` (``ShiftMedia(app, name="private")``)
reads ``SHIFTMEDIA_PRIVATE_*`` keys, mounts its own blueprint and is in
templates as ``{{ private.url(id, "400x300") }}``: a public and a private
storage side by side.

The endpoint answers in one of two ways (``SHIFTMEDIA_RESPONSE``):

``serve`` (default)
    ``200`` with the image: a stored object, or the signed derivative made on
    the spot. Immutable caching, a content ``ETag``, ``304`` on a match. This
    is the answer for a CDN's failover origin and for direct use.
``redirect``
    The derivative is made if missing, then ``302`` to its public URL (or a
    fresh presigned URL for a private bucket), with ``Cache-Control: no-store``.
    This is the answer for an S3 website 404 routing rule; loops are cut as
    :mod:`shiftmedia.delivery` says.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from markupsafe import Markup

from ..settings import CONFIG_PREFIX, DEFAULTS, Settings, config_key
from ..storage import Size, Storage
from . import helpers
from .commands import command_group
from .errors import error_response, public_message, status_for
from .metrics import Metrics
from .state import EXTENSION_KEY, METRICS_KEY, MediaState
from .views import media_blueprint

__all__ = [
    "ShiftMedia",
    "error_response",
    "get_metrics",
    "get_settings",
    "get_storage",
    "media_info",
    "media_picture",
    "media_srcset",
    "media_url",
    "public_message",
    "status_for",
]

DEFAULT_NAME = "shiftmedia"


class ShiftMedia:
    """The Flask extension: one :class:`Storage` per app and name, in ``app.extensions``."""

    def __init__(
        self,
        app: Flask | None = None,
        storage: Storage | None = None,
        *,
        name: str = DEFAULT_NAME,
        settings: Settings | None = None,
    ) -> None:
        """``storage`` or ``settings``, when given, replace what ``app.config`` would build."""
        self.name = name
        self.config_prefix = CONFIG_PREFIX if name == DEFAULT_NAME else f"{CONFIG_PREFIX}{name.upper()}_"
        self._storage = storage
        self._settings = settings
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, storage: Storage | None = None) -> None:
        """Configure ``app``: storage from its config, the endpoint, the helpers, the commands."""
        for name, default in DEFAULTS.items():
            app.config.setdefault(config_key(name, self.config_prefix), default)
        settings = self._settings or Settings.from_app_config(app.config, self.config_prefix)
        storage = storage or self._storage or Storage.from_settings(settings)
        metrics = app.extensions.setdefault(METRICS_KEY, Metrics())
        app.extensions.setdefault(EXTENSION_KEY, {})[self.name] = MediaState(storage, metrics, settings)
        app.register_blueprint(media_blueprint(self.name, self._state), url_prefix=settings.url_prefix)
        app.jinja_env.globals[self.name] = self
        if self.name == DEFAULT_NAME:
            for helper in (media_url, media_srcset, media_picture, media_info):
                app.add_template_global(helper)
        app.cli.add_command(command_group(self.name, lambda: self.storage))

    @property
    def storage(self) -> Storage:
        """This extension's storage in the current app."""
        return self._state().storage

    def url(self, media_id: str, size: Size | None = None, **options: Any) -> str:
        """:func:`~shiftmedia.flask.helpers.media_url` with this extension's storage."""
        return helpers.media_url(self.storage, media_id, size, **options)

    def srcset(self, media_id: str, size: Size, **options: Any) -> str:
        """:func:`~shiftmedia.flask.helpers.media_srcset` with this extension's storage."""
        return helpers.media_srcset(self.storage, media_id, size, **options)

    def picture(self, media_id: str, size: Size, **options: Any) -> Markup:
        """:func:`~shiftmedia.flask.helpers.media_picture` with this extension's storage."""
        return helpers.media_picture(self.storage, media_id, size, **options)

    def info(self, media_id: str) -> dict[str, Any]:
        """:func:`~shiftmedia.flask.helpers.media_info` with this extension's storage."""
        return helpers.media_info(self.storage, media_id)

    def _state(self) -> MediaState:
        return _state_of(self.name)


def _state_of(name: str) -> MediaState:
    state: MediaState = current_app.extensions[EXTENSION_KEY][name]
    return state


def get_storage(name: str = DEFAULT_NAME) -> Storage:
    """The current app's :class:`Storage` (of the extension called ``name``)."""
    return _state_of(name).storage


def get_settings(name: str = DEFAULT_NAME) -> Settings:
    """The settings the current app's extension called ``name`` was built from."""
    return _state_of(name).settings


def get_metrics() -> Metrics:
    """The current app's media metrics."""
    metrics: Metrics = current_app.extensions[METRICS_KEY]
    return metrics


def media_url(media_id: str, size: Size | None = None, **options: Any) -> str:
    """Template helper: the original's URL, or a signed resize URL when ``size`` is given."""
    return helpers.media_url(get_storage(), media_id, size, **options)


def media_srcset(media_id: str, size: Size, **options: Any) -> str:
    """Template helper: a ``srcset`` value (see :func:`shiftmedia.flask.helpers.media_srcset`)."""
    return helpers.media_srcset(get_storage(), media_id, size, **options)


def media_picture(media_id: str, size: Size, **options: Any) -> Markup:
    """Template helper: a ``<picture>`` (see :func:`shiftmedia.flask.helpers.media_picture`)."""
    return helpers.media_picture(get_storage(), media_id, size, **options)


def media_info(media_id: str) -> dict[str, Any]:
    """Template helper: an original's media info (see :func:`shiftmedia.flask.helpers.media_info`)."""
    return helpers.media_info(get_storage(), media_id)
