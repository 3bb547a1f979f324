"""The `shiftmedia` command: every subcommand, --json, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from PIL import Image

from shiftmedia.cli import main
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage

from .conftest import SECRET_KEYS


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "SHIFTMEDIA_STORAGE": "local",
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": "http://127.0.0.1:8000/media",
        "SHIFTMEDIA_CONFIG": "",
    }


def run(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == code, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    return result.stdout if code == 0 else result.stderr


def test_round_trip(env: dict[str, str], fixtures: Path, tmp_path: Path) -> None:
    put = json.loads(run(env, "put", str(fixtures / "exif_orient_6.jpg"), "--json"))
    assert set(put) == {"id", "url"} and put["url"].split("?")[0].endswith("/exif_orient_6.jpg")
    signed = json.loads(
        run(env, "url", put["id"], "400x300", "--mode", "fill", "--quality", "80", "--format", "webp", "--json")
    )
    assert set(signed) == {"url", "key"} and "/400x300-fill-80-noupscale-" in signed["url"]
    assert (
        run(env, "url", put["id"], "400x300", "--mode", "fill", "--quality", "80", "--format", "webp").strip()
        == signed["url"]
    )
    made = json.loads(run(env, "resize", signed["url"], "--json"))
    assert made == {"key": signed["key"], "width": 400, "height": 300, "format": "webp", "bytes": made["bytes"]}
    with Image.open(tmp_path / "media" / signed["key"]) as image:
        assert image.size == (400, 300)
    assert run(env, "resize", signed["key"]).startswith("exists ")
    deleted = json.loads(run(env, "delete", put["id"], "--json"))
    assert deleted == {"id": put["id"], "deleted": 3}  # the original, its media info, the resize


def test_plain_output(env: dict[str, str], fixtures: Path) -> None:
    media_id, url = run(env, "put", str(fixtures / "png_palette_trns.png")).split()
    assert url.split("?access=")[0].endswith(".png") and media_id in url.replace("/", "-")
    assert run(env, "delete", media_id).strip() == f"deleted 2 objects of {media_id}"


def test_convert(env: dict[str, str], fixtures: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    made = json.loads(
        run(
            env,
            "convert",
            str(fixtures / "exif_orient_6.jpg"),
            str(target),
            "--size",
            "300x300",
            "--mode",
            "pad",
            "--json",
        )
    )
    assert made["width"] == 300 and made["format"] == "jpg"
    with Image.open(target) as image:
        assert image.size == (300, 300) and image.format == "JPEG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["put", "{fixtures}/bad_corrupt_header.jpg"], "error: "),
        (["url", "not-an-id", "10x10"], "error: invalid id"),
        (["url", "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "10xx"], "error: invalid size"),
        (["url", "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", "0x10", "--mode", "fill"], "error: mode fill needs"),
        (
            [
                "resize",
                "http://x/media/3f2b8c1e/9a4d/4c6b/8e2f/1a2b3c4d5e6f/10x10-fit-80-noupscale-" + "A" * 43 + ".webp",
            ],
            "error: invalid signature",
        ),
        (["resize", "garbage"], "error: not a media key"),
        (["delete", "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f"], "error: no media with id"),
    ],
)
def test_errors_are_one_line(env: dict[str, str], fixtures: Path, args: list[str], message: str) -> None:
    output = run(env, *[a.format(fixtures=fixtures) for a in args], code=1)
    assert output.startswith(message) and output.count("\n") == 1


def test_missing_secret_is_a_clear_error(env: dict[str, str], fixtures: Path) -> None:
    env["SHIFTMEDIA_SECRET_KEYS"] = ""
    assert "SHIFTMEDIA_SECRET_KEYS is not set" in run(env, "put", str(fixtures / "png_palette_trns.png"), code=1)


def test_config_file(env: dict[str, str], fixtures: Path, tmp_path: Path) -> None:
    config = tmp_path / "shiftmedia.toml"
    config.write_text(
        f'SHIFTMEDIA_LOCAL_ROOT = "{tmp_path / "from-file"}"\n'
        f'SHIFTMEDIA_SECRET_KEYS = ["{SECRET_KEYS[0]}"]\n'
        'SHIFTMEDIA_PUBLIC_URL = "https://cdn.example.com/m"\n'
    )
    del env["SHIFTMEDIA_LOCAL_ROOT"], env["SHIFTMEDIA_SECRET_KEYS"], env["SHIFTMEDIA_PUBLIC_URL"]
    put = json.loads(run(env, "--config", str(config), "put", str(fixtures / "png_palette_trns.png"), "--json"))
    assert put["url"].startswith("https://cdn.example.com/m/")
    assert any((tmp_path / "from-file").rglob("*.png"))
    config.write_text("UNKNOWN = 1\n")
    assert "unknown setting" in run(env, "--config", str(config), "put", str(fixtures / "png_palette_trns.png"), code=1)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["put"],
        ["url"],
        ["resize"],
        ["delete"],
        ["serve"],
        ["convert"],
        ["migrate"],
        ["s3"],
        ["s3", "setup"],
        ["s3", "check"],
    ],
)
def test_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_python_dash_m(env: dict[str, str], fixtures: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shiftmedia", "put", str(fixtures / "png_palette_trns.png"), "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert set(json.loads(result.stdout)) == {"id", "url"}


def test_url_of_a_private_bucket_points_at_the_service(env: dict[str, str]) -> None:
    """A resize that does not exist yet must reach the service: never a presigned bucket URL."""
    env.update(
        SHIFTMEDIA_STORAGE="s3",
        S3_BUCKET="private-media",
        S3_REGION="eu-west-1",
        S3_ACCESS_KEY_ID="AKIDEXAMPLE",
        S3_SECRET_ACCESS_KEY="example-secret-key",
        SHIFTMEDIA_S3_PRIVATE="true",
        SHIFTMEDIA_SERVICE_URL="https://app.example.com/media",
    )
    media_id = "8a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
    printed = json.loads(run(env, "url", media_id, "400x300", "--mode", "fill", "--json"))
    assert printed["url"] == f"https://app.example.com/media/{printed['key']}"
    assert "X-Amz" not in printed["url"]
    with_library = Storage.from_settings(Settings.load(environ=env))
    assert with_library.resize_url(media_id, "400x300", mode="fill") == printed["url"]


def test_serve_parses_settings_once_and_builds_storage_once(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loads, builds, runs = [], [], []
    real_load, real_build = Settings.load.__func__, Storage.from_settings.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Settings, "load", classmethod(lambda cls, *a, **k: loads.append(1) or real_load(cls, *a, **k)))
    monkeypatch.setattr(
        Storage, "from_settings", classmethod(lambda cls, *a, **k: builds.append(1) or real_build(cls, *a, **k))
    )
    monkeypatch.setattr(Flask, "run", lambda self, **kwargs: runs.append((self, kwargs)))
    run(env, "serve", "--port", "8123")
    assert (len(loads), len(builds)) == (1, 1)
    ((app, kwargs),) = runs
    assert kwargs == {"host": "127.0.0.1", "port": 8123, "debug": False}
    assert app.test_client().get("/livez").status_code == 200
