"""Shared fixtures: test images, a local-disk storage, the Flask app and client."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shiftmedia.backends.local import LocalBackend
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app

pytest_plugins = [
    "tests.servers.fixtures",
    "tests.servers.localstack_fixtures",
    "tests.servers.chromium_fixtures",
    "tests.servers.service_fixtures",
]

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
SECRET_KEYS = ["test-secret-key-newest-0123456789", "test-secret-key-older-0123456789"]
PUBLIC_URL = "http://media.test/media"


def corpus_dir() -> Path | None:
    """The full image corpus (``SHIFTMEDIA_CORPUS`` or ``../shared/corpus``), if present."""
    path = Path(os.environ.get("SHIFTMEDIA_CORPUS") or REPO.parent / "shared" / "corpus")
    return path if path.is_dir() else None


#: Why corpus tests skip on a clone without the corpus.
CORPUS_MISSING = "the image corpus is absent: set SHIFTMEDIA_CORPUS, or keep ../shared/corpus beside the clone"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The licence-clean images kept in the repository."""
    return FIXTURES


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The full corpus; tests that need it are skipped, with the reason, where it is absent."""
    path = corpus_dir()
    if path is None:
        pytest.skip(CORPUS_MISSING)
    return path


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def storage(media_root: Path) -> Storage:
    """A storage on local disk under a fresh temporary folder."""
    return Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS)


@pytest.fixture
def app(media_root: Path) -> Iterator[Flask]:
    """The service app on a fresh local-disk root."""
    app = create_app(
        {
            "SHIFTMEDIA_STORAGE": "local",
            "SHIFTMEDIA_LOCAL_ROOT": str(media_root),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
        }
    )
    app.config["TESTING"] = True
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def forge_signature(key: str) -> str:
    """``key`` with its signature replaced by another well-formed one."""
    stem, ext = key.rsplit(".", 1)
    signature = stem[-43:]
    forged = "A" * 43 if signature != "A" * 43 else "E" * 43
    return f"{stem[:-43]}{forged}.{ext}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly how many tests the absent corpus kept from running, and how to run them."""
    skipped = terminalreporter.stats.get("skipped", [])
    missing = sum(1 for report in skipped if CORPUS_MISSING in str(report.longrepr))
    if missing:
        terminalreporter.write_line(f"{missing} corpus tests did not run: {CORPUS_MISSING}", yellow=True, bold=True)


def mutations(data: bytes, seed: str, count: int) -> Iterator[bytes]:
    """``count`` times: ``data`` with 1 to 8 random bytes changed, then the same cut at a random length
    (each seeded by ``seed``, so a failure is reproduced)."""
    rng = random.Random(seed)
    for _ in range(count):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        yield bytes(mutated)
        yield bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
