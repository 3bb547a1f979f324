"""pytest fixtures for tests against a real SeaweedFS S3 server.

Loaded with ``pytest_plugins = ["tests.servers.fixtures"]``. One server runs
per test session; every test that needs S3 gets a fresh bucket of its own, so
tests never see each other's objects.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig

from shiftmedia.backends.s3 import S3Backend
from shiftmedia.settings import S3Settings

from .seaweedfs import SeaweedError, SeaweedFS


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A running ``weed mini`` for the whole session: ``.endpoint``, ``.access_key``, ``.secret_key``."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
    except SeaweedError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


def _backend_for(
    server: SeaweedFS, bucket: str, *, transfer_config: TransferConfig | None = None, **options: Any
) -> S3Backend:
    """An :class:`S3Backend` on ``server``'s ``bucket`` with test credentials and short timeouts.

    ``options`` are :class:`S3Settings` fields (``prefix``, ``private``, ``max_attempts``…).
    """
    options.setdefault("connect_timeout", 2)
    options.setdefault("read_timeout", 20)
    settings = S3Settings(
        bucket=bucket,
        endpoint_url=server.endpoint,
        region="us-east-1",
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        force_path_style=True,
        **options,
    )
    return S3Backend(settings, transfer_config=transfer_config)


def remove_bucket(client: Any, name: str) -> None:
    """Delete a test bucket and its objects; a cleanup failure on a throwaway server is ignored."""
    with contextlib.suppress(Exception):
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=name)


@pytest.fixture
def s3_bucket(seaweedfs: SeaweedFS) -> Iterator[str]:
    """A new, empty bucket on the session server; removed with its objects afterwards."""
    client = seaweedfs.client()
    name = "t-" + secrets.token_hex(6)
    client.create_bucket(Bucket=name)
    yield name
    remove_bucket(client, name)


@pytest.fixture
def s3_backend(seaweedfs: SeaweedFS, s3_bucket: str) -> S3Backend:
    """An :class:`S3Backend` on a fresh bucket, with a prefix so prefix handling is always exercised."""
    return _backend_for(seaweedfs, s3_bucket, prefix="media", public_url="http://cdn.test/media")


@pytest.fixture
def make_s3_backend() -> Callable[..., S3Backend]:
    """``make_s3_backend(server, bucket, **options)``: an :class:`S3Backend` with test credentials."""
    return _backend_for


@pytest.fixture
def weed_data_dir(tmp_path: Path) -> Path:
    """A folder for a test that runs its own dedicated SeaweedFS."""
    path = tmp_path / "weed"
    path.mkdir()
    return path


@pytest.fixture
def s3_settings(seaweedfs: SeaweedFS, s3_bucket: str) -> dict[str, str]:
    """The ``S3_*`` settings of the fresh bucket (prefix ``media``) on the session server."""
    return {
        "S3_ENDPOINT": seaweedfs.endpoint,
        "S3_REGION": "us-east-1",
        "S3_BUCKET": s3_bucket,
        "S3_PREFIX": "media",
        "S3_ACCESS_KEY_ID": seaweedfs.access_key,
        "S3_SECRET_ACCESS_KEY": seaweedfs.secret_key,
        "S3_FORCE_PATH_STYLE": "true",
    }
