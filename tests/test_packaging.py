"""The distributions as users get them.

- setup.cfg names every package of the source tree (a fast check: the list is explicit because
  webapp/ ships as ``shiftmedia_webapp``).
- The wheel, installed without extras into a fresh venv, gives ``resize_bytes``, a local-disk
  :class:`~shiftmedia.storage.Storage`, the CLI, the Flask extension and the service, with
  neither boto3 nor gunicorn installed; its metadata carries the PEP 639 licence.
- The sdist is a checkout whose own unit tests pass against its own source.

Both are built once, by ``python -m build`` (the test extra has it), from a copy of the working
tree in a temporary folder: nothing is written into the repository.
"""

from __future__ import annotations

import configparser
import email
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import FIXTURES, REPO

#: What a checkout may hold that is never source: skipped when the tree is copied to build from.
NOT_SOURCE = (
    ".git",
    ".venv",
    ".venv-*",
    "var",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
)
#: Leftovers of runs planted in the copy: MANIFEST.in must keep each one out of the sdist.
LEFTOVERS = (
    ".venv-py3.99/pyvenv.cfg",
    "var/media/left-over.jpg",
    "tests/output/report.txt",
    "tests/__pycache__/conftest.cpython-311.pyc",
    "shiftmedia/__pycache__/spec.cpython-311.pyc",
)
#: The sdist's unit tests run from the unpacked folder: quick, no servers.
SDIST_TESTS = ("tests/test_spec.py", "tests/test_signing.py")
TIMEOUT = 300


def source_packages() -> set[str]:
    """The import names of every package folder (one with ``__init__.py``) in the source tree."""
    roots = {"shiftmedia": REPO / "shiftmedia", "shiftmedia_webapp": REPO / "webapp"}
    return {
        ".".join((name, *init.parent.relative_to(root).parts))
        for name, root in roots.items()
        for init in root.rglob("__init__.py")
    }


def test_setup_cfg_names_every_package() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    assert listed == source_packages(), "setup.cfg [options] packages must name every package folder"


@dataclass(frozen=True)
class Dists:
    """The built sdist and wheel."""

    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """sdist and wheel of a copy of the working tree (the wheel is built from the sdist)."""
    if shutil.which("pyproject-build", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("the build package is missing: pip install -e '.[test]' (make test does)", pytrace=False)
    source = tmp_path_factory.mktemp("checkout") / "shiftmedia"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    for leftover in LEFTOVERS:
        (source / leftover).parent.mkdir(parents=True, exist_ok=True)
        (source / leftover).write_bytes(b"left over by a run")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    (sdist,) = out.glob("shiftmedia-*.tar.gz")
    (wheel,) = out.glob("shiftmedia-*-py3-none-any.whl")
    return Dists(sdist, wheel)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """``command``'s output; its output and errors in the failure when it fails."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, f"{command}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def clean_env() -> dict[str, str]:
    """The environment without anything that would put the checkout or settings in reach."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("SHIFTMEDIA_", "S3_", "AWS_"))}


@pytest.mark.slow
def test_wheel_metadata_and_files(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = set(wheel.namelist())
        dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(wheel.read(f"{dist_info}/METADATA"))
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert f"{dist_info}/licenses/LICENSE" in names
    assert not [c for c in metadata.get_all("Classifier", []) if c.startswith("License ::")], "PEP 639 deprecates them"
    assert metadata["License"] is None
    core = [r for r in metadata.get_all("Requires-Dist", []) if "extra ==" not in r]
    assert not [r for r in core if r.startswith(("boto3", "gunicorn"))], core
    assert {"s3", "server", "all", "test"} <= set(metadata.get_all("Provides-Extra", []))
    assert {
        "shiftmedia/py.typed",
        "shiftmedia_webapp/templates/index.html",
        "shiftmedia_webapp/templates/base.html",
        "shiftmedia_webapp/templates/error.html",
        "shiftmedia_webapp/templates/demo_script.html",
        "shiftmedia_webapp/templates/demo_style.html",
        "shiftmedia_webapp/gunicorn_conf.py",
    } <= names
    modules = {
        f"{package.replace('.', '/')}/{path.name}"
        for package in source_packages()
        for path in (REPO / package.replace("shiftmedia_webapp", "webapp").replace(".", "/")).glob("*.py")
    }
    assert modules - names == set(), "modules missing from the wheel"
    assert not [name for name in names if name.startswith(("tests/", "webapp/", "deploy/"))]


CORE_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys, tempfile
    from io import BytesIO
    from pathlib import Path

    import shiftmedia, shiftmedia.flask, shiftmedia_webapp
    from PIL import Image
    from shiftmedia import resize_bytes
    from shiftmedia.settings import Settings
    from shiftmedia.storage import Storage

    fixture = Path(sys.argv[1])
    small = resize_bytes(fixture.read_bytes(), "40x30-fill-80-noupscale.jpg")
    with Image.open(BytesIO(small)) as image:
        resized = [image.format, *image.size]

    root = Path(tempfile.mkdtemp())
    settings = Settings.load(
        environ={
            "SHIFTMEDIA_SECRET_KEYS": "packaging-test-secret-0123456789",
            "SHIFTMEDIA_LOCAL_ROOT": str(root),
            "SHIFTMEDIA_PUBLIC_URL": "http://media.test/media",
        }
    )
    storage = Storage.from_settings(settings)
    media_id = storage.put(fixture)
    derivative = storage.create_resize(storage.resize_url(media_id, "32x32", mode="fill"))
    stored = (root / derivative.key).is_file()

    print(json.dumps({
        "shiftmedia": shiftmedia.__file__,
        "webapp": shiftmedia_webapp.__file__,
        "resized": resized,
        "derivative": [derivative.width, derivative.height, stored],
        "boto3": importlib.util.find_spec("boto3") is not None,
        "gunicorn": importlib.util.find_spec("gunicorn") is not None,
        "imported": sorted(m for m in ("boto3", "botocore", "gunicorn") if m in sys.modules),
    }))
    """
)


@pytest.mark.slow
def test_wheel_without_extras_gives_the_core(dists: Dists, tmp_path: Path) -> None:
    """``pip install shiftmedia``: the engine, local storage, CLI and Flask without boto3 or gunicorn."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    env = clean_env()
    run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(dists.wheel)], tmp_path, env
    )
    report = json.loads(
        run([str(python), "-c", CORE_SCRIPT, str(FIXTURES / "jpeg_progressive_1280x960.jpg")], tmp_path, env)
    )
    site = venv / "lib"
    assert Path(report["shiftmedia"]).is_relative_to(site) and Path(report["webapp"]).is_relative_to(site), report
    assert report["resized"] == ["JPEG", 40, 30]
    assert report["derivative"] == [32, 32, True]
    assert (report["boto3"], report["gunicorn"], report["imported"]) == (False, False, []), report
    assert "shiftmedia" in run([str(venv / "bin" / "shiftmedia"), "--version"], tmp_path, env)


@pytest.mark.slow
def test_sdist_runs_its_own_tests(dists: Dists, tmp_path: Path) -> None:
    """The unpacked sdist has the tests, fixtures and files `make test` needs, and its unit tests
    pass against its own copy of the source, not the checkout the project venv's editable install
    points at. webapp/ only becomes shiftmedia_webapp when installed, so the sdist is installed
    (``--no-deps``) into a venv that borrows the project venv's packages for everything else."""
    with tarfile.open(dists.sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (unpacked,) = tmp_path.glob("shiftmedia-*")
    for needed in ("LICENSE", "README.md", "Makefile", "MANIFEST.in", "deploy/systemd/shiftmedia.service"):
        assert (unpacked / needed).is_file(), needed
    assert os.access(unpacked / ".ci" / "run", os.X_OK), ".ci/run is missing or not executable"
    assert (unpacked / "tests" / "fixtures" / "SOURCES.md").is_file()
    fixtures = {path.name for path in FIXTURES.iterdir() if path.is_file()}
    assert {path.name for path in (unpacked / "tests" / "fixtures").iterdir()} == fixtures
    for leftover in LEFTOVERS:
        assert not (unpacked / leftover).exists(), f"{leftover} in the sdist"
    assert not [path for path in unpacked.rglob("*") if path.name.startswith(".venv") or path.name == "__pycache__"]

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path).strip())
    # After the venv's own site-packages: pytest, Flask, Pillow, moto… as the project venv has them.
    # (Only a site folder's .pth files run, so the project's editable install stays out of reach.)
    (site / "project-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {**clean_env(), "PYTHONDONTWRITEBYTECODE": "1"}
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    run([*pip, str(unpacked)], tmp_path, env)

    where = "import shiftmedia, shiftmedia_webapp; print(shiftmedia.__file__); print(shiftmedia_webapp.__file__)"
    for imported in run([str(python), "-c", where], unpacked, env).split():
        assert Path(imported).is_relative_to(unpacked) or Path(imported).is_relative_to(venv), imported
    run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *SDIST_TESTS], unpacked, env)
