"""What one :class:`~shiftmedia.flask.ShiftMedia` keeps per app, in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings
from ..storage import Storage
from .metrics import Metrics

#: ``app.extensions`` key: a dict of :class:`MediaState` by extension name.
EXTENSION_KEY = "shiftmedia"
#: ``app.extensions`` key of the app's :class:`Metrics`, shared by its extensions.
METRICS_KEY = "shiftmedia.metrics"


@dataclass(frozen=True)
class MediaState:
    """One extension's storage and settings in one app, and the app's metrics."""

    storage: Storage
    metrics: Metrics
    settings: Settings

    @property
    def redirect(self) -> bool:
        """True when misses are answered with a redirect (``SHIFTMEDIA_RESPONSE=redirect``)."""
        return self.settings.response == "redirect"
