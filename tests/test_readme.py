"""README.md and deploy/README.md run as pasted.

Every ``python`` block runs in a fresh folder holding a ``photo.jpg``, with
a development key in the environment as the tour sets it; the Flask app block
is then used as a browser would. Shell blocks marked ``sh run`` run in bash
with the venv's commands first on ``PATH``. The URL grammar table is checked
against the parser's own tables.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from shiftmedia.spec import FORMATS, GRAVITIES, MODES, ResizeSpec

from .conftest import REPO

DOCS = (REPO / "README.md", REPO / "deploy" / "README.md")
BLOCK_RE = re.compile(r"^```([a-z]*)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
DEV_KEY = "readme-development-key-0123456789"


def blocks(language: str, marker: str = "") -> list[Any]:
    found = []
    for path in DOCS:
        text = path.read_text()
        for match in BLOCK_RE.finditer(text):
            if match[1] == language and (not marker or marker in match[2].split()):
                line = text.count("\n", 0, match.start()) + 1
                found.append(pytest.param(match[3], id=f"{path.relative_to(REPO)}:{line}"))
    return found


@pytest.fixture
def folder(tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder with photo.jpg, the environment of a reader who followed the tour."""
    shutil.copy(fixtures / "exif_orient_6.jpg", tmp_path / "photo.jpg")
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("SHIFTMEDIA_", "S3_", "AWS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SHIFTMEDIA_SECRET_KEYS", DEV_KEY)
    monkeypatch.setenv("SHIFTMEDIA_CONFIG", "")
    return tmp_path


@pytest.mark.parametrize("code", blocks("python"))
def test_python_blocks_run(folder: Path, fixtures: Path, code: str) -> None:
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(code, "README", "exec"), namespace)  # noqa: S102 - the README's own code, run as pasted
    app = namespace.get("app")
    if isinstance(app, Flask):
        use_the_app(app, fixtures)


def use_the_app(app: Flask, fixtures: Path) -> None:
    """The README's Flask app as a browser meets it: form, upload, picture, original, errors."""
    client = app.test_client()
    assert b'type="file"' in client.get("/").data
    with (fixtures / "exif_orient_6.jpg").open("rb") as stream:
        uploaded = client.post("/photos", data={"photo": (stream, "Holiday.jpg")})
    assert uploaded.status_code == 303, uploaded.data
    page = client.get(uploaded.headers["Location"])
    assert page.status_code == 200 and b"<picture>" in page.data
    sources = re.findall(r'src="([^"]+)"', page.data.decode()) + re.findall(
        r'href="(/media/[^"]+)"', page.data.decode()
    )
    assert len(sources) >= 2
    for source in sources:
        answer = client.get(source.replace("&amp;", "&"))
        assert answer.status_code == 200 and answer.mimetype.startswith("image/"), source
    refused = client.post("/photos", data={"photo": (fixtures / "bad_corrupt_header.jpg").open("rb")})
    assert refused.status_code == 422 and b"Try again" in refused.data
    assert client.get("/photos/3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f").status_code == 404


@pytest.mark.parametrize("code", blocks("sh", "run"))
def test_runnable_shell_blocks_run(folder: Path, code: str) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_are_runnable_blocks() -> None:
    assert len(blocks("python")) >= 2 and blocks("sh", "run")


def grammar_section() -> str:
    text = DOCS[0].read_text()
    return text[text.index("### The URL grammar") : text.index("### Presets")]


def test_the_grammar_table_names_every_token_the_parser_takes() -> None:
    section = grammar_section()
    for mode in MODES:
        assert f"`{mode}`" in section, mode
    for fmt in FORMATS:
        assert f"`{fmt}`" in section, fmt
    compass = re.search(r"`g<([a-z,]+)>`", section)
    assert compass is not None and set(compass[1].split(",")) == set(GRAVITIES)
    for token in (
        "`r<x>x<y>x<w>x<h>`",
        "`gf<x>x<y>`",
        "`bg<rrggbb>`",
        "`bg<rrggbbaa>`",
        "`icc`",
        "`upscale`",
        "`noupscale`",
    ):
        assert token in section, token


def test_the_grammar_example_is_a_name_the_parser_reads_back() -> None:
    example = re.search(r"`([0-9]+x[0-9]+-[a-z0-9-]+)-<signature>\.([a-z]+)`", grammar_section())
    assert example is not None
    spec = ResizeSpec.parse(f"{example[1]}.{example[2]}")
    assert spec.name() == f"{example[1]}.{example[2]}"
    assert spec.rect and spec.gravity != "c" and spec.keep_icc and spec.background != "ffffff"
