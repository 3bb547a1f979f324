"""pytest fixtures for tests against a real LocalStack S3 server with website endpoints.

Loaded with ``pytest_plugins = ["tests.servers.localstack_fixtures"]``. One
server runs per test session; every test that needs a website bucket gets a
fresh one of its own, removed with its objects afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shiftmedia.backends.s3 import S3Backend
from shiftmedia.cli import main
from shiftmedia.settings import S3Settings

from ..conftest import SECRET_KEYS
from .fixtures import remove_bucket
from .localstack import REGION, LocalStack, LocalStackError, WebsiteResponse
from .service import Service

#: The prefix of :attr:`WebsiteBucket.backend`, so prefix handling is always exercised.
WEBSITE_PREFIX = "media"


@dataclass(frozen=True)
class WebsiteBucket:
    """A fresh bucket on the session's LocalStack, with an :class:`S3Backend` under ``media/``."""

    server: LocalStack
    name: str

    @cached_property
    def backend(self) -> S3Backend:
        """The bucket's backend under ``media/`` (made on first use: a boto3 client is slow to make)."""
        return localstack_backend(self.server, self.name)

    def backend_with(self, **options: Any) -> S3Backend:
        """Another :class:`S3Backend` on this bucket, e.g. ``backend_with(prefix="")``."""
        return localstack_backend(self.server, self.name, **options)

    def get(self, key: str, **options: Any) -> WebsiteResponse:
        """``key`` (the full object key, prefix included) through the bucket's website endpoint."""
        return self.server.website_get(self.name, key, **options)


def localstack_backend(server: LocalStack, bucket: str, **options: Any) -> S3Backend:
    """An :class:`S3Backend` on ``server``'s ``bucket`` with its credentials and short timeouts.

    ``options`` are :class:`S3Settings` fields. The public URL is the bucket's
    website endpoint under the backend's prefix.
    """
    prefix = str(options.pop("prefix", WEBSITE_PREFIX)).strip("/")
    options.setdefault("public_url", server.website_url(bucket, prefix).rstrip("/"))
    options.setdefault("connect_timeout", 2)
    options.setdefault("read_timeout", 20)
    settings = S3Settings(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=server.endpoint,
        region=REGION,
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        force_path_style=True,
        **options,
    )
    return S3Backend(settings)


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A running LocalStack (S3 only) for the whole session: ``.endpoint``, ``.website_get()``."""
    server = LocalStack(tmp_path_factory.mktemp("localstack"))
    error: LocalStackError | None = None
    try:
        server.start()
    except LocalStackError as exc:
        error = exc
    if error is not None:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def localstack_client(localstack: LocalStack) -> Any:
    """A boto3 S3 client for the session's LocalStack, to create, inspect and remove buckets."""
    return localstack.client()


@pytest.fixture
def website_bucket(localstack: LocalStack, localstack_client: Any) -> Iterator[WebsiteBucket]:
    """A new, empty bucket on the session's LocalStack and a backend on it; removed afterwards."""
    client = localstack_client
    name = "w-" + secrets.token_hex(6)
    client.create_bucket(Bucket=name)
    yield WebsiteBucket(localstack, name)
    remove_bucket(client, name)


@dataclass(frozen=True)
class WebsiteService:
    """The service under gunicorn in redirect mode, behind a LocalStack bucket's website endpoint."""

    service: Service
    bucket: WebsiteBucket

    @property
    def backend(self) -> S3Backend:
        """The bucket's backend under ``media/``; its public URL is the website endpoint."""
        return self.bucket.backend


@pytest.fixture
def website_service(website_bucket: WebsiteBucket, tmp_path: Path) -> Iterator[WebsiteService]:
    """Shape 1: the bucket's website 404 rule (set by ``shiftmedia s3 setup``) sends misses to the service."""
    server = website_bucket.server
    settings = {
        "SHIFTMEDIA_STORAGE": "s3",
        "SHIFTMEDIA_RESPONSE": "redirect",
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": server.website_url(website_bucket.name, WEBSITE_PREFIX),
        "S3_ENDPOINT": server.endpoint,
        "S3_REGION": REGION,
        "S3_BUCKET": website_bucket.name,
        "S3_PREFIX": WEBSITE_PREFIX,
        "S3_ACCESS_KEY_ID": server.access_key,
        "S3_SECRET_ACCESS_KEY": server.secret_key,
        "S3_FORCE_PATH_STYLE": "true",
    }
    service = Service(settings, tmp_path / "gunicorn-website.log")
    setup = CliRunner().invoke(
        main, ["s3", "setup", "--app-url", service.base], env={**settings, "SHIFTMEDIA_CONFIG": ""}
    )
    assert setup.exit_code == 0, setup.output + setup.stderr
    with service:
        yield WebsiteService(service, website_bucket)
