"""pytest fixture for tests against the service itself: gunicorn with the shipped config on a free port.

Loaded with ``pytest_plugins = ["tests.servers.service_fixtures"]`` (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import SECRET_KEYS
from .service import Service


@pytest.fixture
def direct_service(tmp_path: Path) -> Iterator[Service]:
    """The service under gunicorn, serving and creating media under a fresh local root."""
    settings = {
        "SHIFTMEDIA_STORAGE": "local",
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
    }
    service = Service(settings, tmp_path / "gunicorn.log")
    service.settings["SHIFTMEDIA_PUBLIC_URL"] = f"{service.base}/media"
    with service:
        yield service
