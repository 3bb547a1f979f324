"""pytest fixture for tests in a real browser: one headless Debian chromium per test module.

Loaded with ``pytest_plugins = ["tests.servers.chromium_fixtures"]`` (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .chromium import Chromium, ChromiumError


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """One headless Chromium for the module's tests; a clear failure when it cannot start."""
    chromium = Chromium(tmp_path_factory.mktemp("chromium"))
    problem = None
    try:
        chromium.start()
    except ChromiumError as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    yield chromium
    chromium.stop()
