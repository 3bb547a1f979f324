"""What the service answers for a key: the bytes (:class:`Served`), an original's stream (:class:`Streamed`),
or where to get them (:class:`Redirect`).

A face (the Flask endpoint) turns these into HTTP; the decision itself is
:meth:`~shiftmedia.storage.Storage.deliver`'s. Redirect loops (a CDN or
browser that cached the bucket's 404, an object slow to appear) are cut in
two ways, so a browser always ends with the image within two redirects.
Before redirecting, the service asks the public URL itself
(:func:`front_serves`: a one-byte ranged ``GET``, no redirects followed,
short timeout) and serves the bytes when the front does not answer with the
object. And the redirect goes to the URL with the :data:`LOOP_PARAM` query
parameter, which a CDN keys as a fresh object and which, where the front
passes it back on another 404, makes the service serve the bytes at once.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .engine import Rendered

#: Cache-Control of an original served by the service.
ORIGINAL_CACHE = "public, max-age=86400"
#: The query parameter a redirect adds; a request carrying it is served, never redirected again.
LOOP_PARAM = "sm-retry"
#: Seconds the front probe waits for the public URL to answer.
FRONT_CHECK_TIMEOUT = 2.0


@dataclass(frozen=True, kw_only=True)
class Derivative(Rendered):
    """A stored resize: the rendered image and where it is kept.

    ``created``: this call stored it. ``rendered``: this call ran the engine
    (a call that shared another's work, or found the derivative stored, did
    not); then ``timings`` are its stages and ``source_bytes`` the original's size.
    """

    key: str
    created: bool = False
    rendered: bool = False
    source_bytes: int = 0

    @classmethod
    def of(cls, image: Rendered, key: str, **facts: Any) -> Derivative:
        """``image`` stored under ``key``; ``facts`` set the other fields (or replace ``image``'s)."""
        values = {name: getattr(image, name) for name in Rendered.__dataclass_fields__}
        return cls(**{**values, **facts}, key=key)


@dataclass(frozen=True)
class Served:
    """An object to answer with: its bytes, media type, cache policy, and how it came to be.

    ``outcome`` is ``stored`` (read from the backend), ``created`` (rendered
    now) or ``served-front-failed`` (redirect mode, but the public URL does not serve
    it). ``made`` is the derivative when this request made or shared one.
    """

    key: str
    data: bytes = field(repr=False)
    content_type: str
    cache_control: str
    outcome: str
    made: Derivative | None = None

    @property
    def timings(self) -> Mapping[str, float]:
        """Seconds per stage of the work this request did (empty when it did none)."""
        return self.made.timings if self.made is not None and self.made.rendered else {}


@dataclass(frozen=True)
class Streamed:
    """A stored original to send from an open, seekable ``stream`` of ``size`` bytes (``Range`` requests are
    answered from it, and nothing is loaded whole): its validators, media type and cache policy.

    The face closes ``stream`` once the answer is sent.
    """

    key: str
    stream: BinaryIO = field(repr=False)
    size: int
    etag: str
    modified: float
    content_type: str
    cache_control: str
    made: None = None


@dataclass(frozen=True)
class Redirect:
    """Send the browser to ``location``, where the object is served; never cache this answer.

    ``made`` is the derivative when this request made or shared one first.
    """

    location: str
    made: Derivative | None = None


def front_serves(url: str) -> bool:
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


def marked(url: str) -> str:
    """``url`` with :data:`LOOP_PARAM` added to its query."""
    return f"{url}{'&' if '?' in url else '?'}{LOOP_PARAM}=1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Make urllib report a redirect as the answer instead of following it."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None
