"""The command line forgives what a person types: format and size spellings, missing options, and says
what it ignores and what an id looks like (issue: the first five minutes)."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from shiftmedia.cli import main, serve_public_url
from shiftmedia.spec import parse_size

from .conftest import SECRET_KEYS
from .servers.http import fetch, free_port

PHOTO = "exif_orient_6.jpg"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": "http://127.0.0.1:8000/media",
        "SHIFTMEDIA_CONFIG": "",
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output + result.stderr
    return result


@pytest.mark.parametrize("spelling", ["400x300", "400X300", "400×300", " 400x300 "])
def test_sizes_in_any_case(spelling: str) -> None:
    assert parse_size(spelling) == (400, 300)


@pytest.mark.parametrize(("given", "ext"), [("jpeg", "jpg"), ("JPG", "jpg"), ("JPEG", "jpg"), ("WebP", "webp")])
def test_format_spellings(env: dict[str, str], fixtures: Path, given: str, ext: str) -> None:
    media_id = json.loads(invoke(env, "put", str(fixtures / PHOTO), "--json").stdout)["id"]
    result = invoke(env, "url", media_id, "400X300", "--format", given)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(f".{ext}")


def test_quality_of_a_lossless_format_is_said_to_be_ignored(
    env: dict[str, str], fixtures: Path, tmp_path: Path
) -> None:
    media_id = json.loads(invoke(env, "put", str(fixtures / PHOTO), "--json").stdout)["id"]
    signed = invoke(env, "url", media_id, "40x30", "--format", "png", "--quality", "70")
    assert signed.exit_code == 0 and "-0-noupscale-" in signed.stdout
    assert "--quality is ignored: png is lossless" in signed.stderr
    quiet = invoke(env, "url", media_id, "40x30", "--format", "webp", "--quality", "70")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    converted = invoke(
        env, "convert", str(fixtures / PHOTO), str(tmp_path / "out.png"), "--size", "40x30", "--quality", "5"
    )
    assert converted.exit_code == 0 and "--quality is ignored: png is lossless" in converted.stderr


def test_convert_without_a_size_keeps_the_size(env: dict[str, str], fixtures: Path, tmp_path: Path) -> None:
    target = tmp_path / "same.webp"
    result = invoke(env, "convert", str(fixtures / "png_palette_trns.png"), str(target), "--json")
    assert result.exit_code == 0, result.output
    with Image.open(fixtures / "png_palette_trns.png") as source, Image.open(target) as made:
        assert made.size == source.size and made.format == "WEBP"
    upright = tmp_path / "upright.jpeg"
    assert invoke(env, "convert", str(fixtures / PHOTO), str(upright)).exit_code == 0
    with Image.open(fixtures / PHOTO) as source, Image.open(upright) as made:
        assert made.size == source.size[::-1]


def test_an_invalid_id_says_what_an_id_looks_like(env: dict[str, str]) -> None:
    result = invoke(env, "url", "photo.jpg", "10x10")
    assert result.exit_code == 1
    assert "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f" in result.stderr and "shiftmedia put" in result.stderr


def test_a_missing_key_says_how_to_make_one(env: dict[str, str], fixtures: Path) -> None:
    del env["SHIFTMEDIA_SECRET_KEYS"]
    result = invoke(env, "put", str(fixtures / PHOTO))
    assert result.exit_code == 1
    assert "SHIFTMEDIA_SECRET_KEYS is not set" in result.stderr
    assert "var/dev-secret-key" in result.stderr and "secrets.token_urlsafe" in result.stderr


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8012, "http://127.0.0.1:8012/media"),
        ("localhost", 8000, "http://localhost:8000/media"),
        ("0.0.0.0", 9000, "http://127.0.0.1:9000/media"),
        ("::", 9000, "http://127.0.0.1:9000/media"),
        ("::1", 8001, "http://[::1]:8001/media"),
        ("192.0.2.10", 80, "http://192.0.2.10:80/media"),
    ],
)
def test_the_development_server_links_its_own_port(host: str, port: int, expected: str) -> None:
    assert serve_public_url(host, port, "/media") == expected


def test_serve_on_another_port_serves_a_page_whose_images_load(env: dict[str, str], fixtures: Path) -> None:
    """``shiftmedia serve --port P`` as a user runs it: the demo page's images point at P and load."""
    del env["SHIFTMEDIA_PUBLIC_URL"]
    media_id = json.loads(invoke(env, "put", str(fixtures / PHOTO), "--json").stdout)["id"]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "shiftmedia", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                page = fetch(f"{base}/?id={media_id}")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        sources = re.findall(r'<img src="([^"]+)"', page.body.decode())
        assert sources and all(src.startswith(f"{base}/media/") for src in sources), sources
        for src in sources:
            image = fetch(html.unescape(src))
            assert image.status == 200 and image.headers["content-type"].startswith("image/")
    finally:
        process.terminate()
        process.wait(10)
        assert process.stderr is not None
        process.stderr.close()
