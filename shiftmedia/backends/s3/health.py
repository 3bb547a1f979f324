"""The readiness check of an S3 backend: an answer in about two seconds, whatever the data timeouts.

``/readyz`` must say quickly whether this process can serve, so a load balancer
or an orchestrator takes it out of rotation while the store is down. The data
client's timeouts are sized for whole objects and its attempts may be several;
the check therefore sends its one ``HeadBucket`` through a client of its own,
made on first use: one attempt, connect timeout at most
:data:`CONNECT_TIMEOUT`, read timeout at most :data:`READ_TIMEOUT` (a frozen
store accepts the connection and then never answers, so the read timeout is
the one that fires).

The check reads the breaker (:mod:`.breaker`) and feeds it: while it is open
the check fails at once, without asking the store; a store that answers the
check closes it, so a thawed store is back in use as soon as a readiness probe
reaches it. A check that times out does not open it: a ``HeadBucket`` slower
than the check's short timeout is not yet proof that data calls would hang.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

import boto3

from ...errors import StorageUnavailable
from ...settings import S3Settings
from .breaker import Breaker
from .client import make_client
from .errors import request

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

#: Upper bound of the check's connect timeout, in seconds.
CONNECT_TIMEOUT = 1.0
#: Upper bound of the check's read timeout, in seconds.
READ_TIMEOUT = 1.5


def check_settings(settings: S3Settings) -> S3Settings:
    """``settings`` for the check's client: the short timeouts, and one attempt."""
    return dataclasses.replace(
        settings,
        connect_timeout=min(settings.connect_timeout, CONNECT_TIMEOUT),
        read_timeout=min(settings.read_timeout, READ_TIMEOUT),
        max_attempts=1,
    )


class HealthCheck:
    """``HeadBucket`` on ``bucket`` through a short-timeout client, gated and fed by ``breaker``."""

    def __init__(self, settings: S3Settings, bucket: str, breaker: Breaker, session: boto3.session.Session) -> None:
        """``session`` is the one the data client was made from: the check's client is then quick to make."""
        self._settings = check_settings(settings)
        self._bucket = bucket
        self._breaker = breaker
        self._session = session
        self._client: S3Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> S3Client:
        """The check's own client, made on first use (most processes that build a backend never check it)."""
        with self._lock:  # a boto3 session must not make two clients at once
            if self._client is None:
                self._client = make_client(self._settings, max_pool_connections=2, session=self._session)
            return self._client

    def __call__(self) -> None:
        """Raise a :class:`~shiftmedia.errors.StorageError` unless the bucket answers, in about two seconds."""
        left = self._breaker.cooling_down()
        if left > 0:
            raise StorageUnavailable(
                f"S3 check on bucket {self._bucket!r}: the store did not answer a moment ago; next try in {left:.1f} s"
            )
        request("check", self._bucket, None, self.client.head_bucket, Bucket=self._bucket)
        self._breaker.succeeded()
