"""Presets: named resizes from the settings, in every face, and the only-presets rule."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask, render_template_string

from shiftmedia import making
from shiftmedia.cli import main
from shiftmedia.errors import ConfigError, InvalidImage, InvalidSpec, LimitExceeded, NotAPreset
from shiftmedia.flask import ShiftMedia, get_storage
from shiftmedia.presets import Presets, parse_presets
from shiftmedia.settings import Settings
from shiftmedia.spec import ResizeSpec
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app

from .conftest import SECRET_KEYS

PRESETS = (
    "thumb=200x200-fill-80-noupscale.webp, hero=1600x0-fit-85-noupscale.jpg,icon=32x32-pad-0-upscale-bg00000000.png"
)
PHOTO = "exif_orient_6.jpg"


def settings(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": "http://localhost/media",
        "SHIFTMEDIA_PRESETS": PRESETS,
        **extra,
    }


def storage_of(tmp_path: Path, **extra: str) -> Storage:
    return Storage.from_settings(Settings.from_values(settings(tmp_path, **extra)))


# -- settings ----------------------------------------------------------------------------------------------------


def test_presets_are_parsed_in_order() -> None:
    named = parse_presets("SHIFTMEDIA_PRESETS", PRESETS)
    assert [name for name, _spec in named] == ["thumb", "hero", "icon"]
    assert named[0][1] == ResizeSpec.create("200x200", mode="fill", quality=80, format="webp")
    assert named[1][1] == ResizeSpec.create((1600, 0), quality=85, format="jpg")
    assert parse_presets("X", " , ") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thumb", "name=resize pairs"),
        ("Thumb=200x200-fill-80-noupscale.webp", "name=resize pairs"),
        ("a b=200x200-fill-80-noupscale.webp", "name=resize pairs"),
        ("t=200x200-fill-80-noupscale.webp,t=100x100-fill-80-noupscale.webp", "named twice"),
        ("t=200x200.webp", "not a canonical resize name"),
        ("t=0200x200-fill-80-noupscale.webp", "not a canonical resize name"),
        ("t=200x200-fill-80-noupscale-" + "A" * 43 + ".webp", "not a canonical resize name"),
        ("t=200x200-fit-80-noupscale-gn.webp", "not a canonical resize name"),
    ],
)
def test_bad_presets_are_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_values({"SHIFTMEDIA_PRESETS": text})


def test_only_presets_needs_presets() -> None:
    with pytest.raises(ConfigError, match="needs SHIFTMEDIA_PRESETS"):
        Settings.from_values({"SHIFTMEDIA_ONLY_PRESETS": "true"})
    assert Settings.from_values({"SHIFTMEDIA_ONLY_PRESETS": "false"}).presets == Presets()


@pytest.mark.parametrize(
    "toml",
    [
        'SHIFTMEDIA_PRESETS = {thumb = "200x200-fill-80-noupscale.webp", hero = "1600x0-fit-85-noupscale.jpg"}',
        'SHIFTMEDIA_PRESETS = ["thumb=200x200-fill-80-noupscale.webp", "hero=1600x0-fit-85-noupscale.jpg"]',
        'SHIFTMEDIA_PRESETS = "thumb=200x200-fill-80-noupscale.webp, hero=1600x0-fit-85-noupscale.jpg"',
    ],
)
def test_presets_from_the_config_file(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "shiftmedia.toml"
    path.write_text(toml + "\nSHIFTMEDIA_ONLY_PRESETS = true\n")
    loaded = Settings.load(config_file=path, environ={})
    assert [name for name, _spec in loaded.presets] == ["thumb", "hero"] and loaded.presets.only


# -- the library -------------------------------------------------------------------------------------------------


def test_a_preset_is_the_resize_it_names(tmp_path: Path, fixtures: Path) -> None:
    storage = storage_of(tmp_path)
    media_id = storage.put(fixtures / PHOTO)
    key = storage.resize_key(media_id, preset="thumb")
    assert key == storage.resize_key(media_id, "200x200", mode="fill", quality=80, format="webp")
    made = storage.create_resize(storage.resize_url(media_id, preset="icon"))
    assert (made.width, made.height, made.format) == (32, 32, "png")


@pytest.mark.parametrize(
    ("size", "preset", "options", "message"),
    [
        (None, "nope", {}, "unknown preset \\(known: thumb, hero, icon\\)"),
        ("10x10", "thumb", {}, "a size \\(with options\\) or a preset \\(alone\\)"),
        (None, "thumb", {"format": "png"}, "a size \\(with options\\) or a preset \\(alone\\)"),
        (None, None, {}, "a size \\(with options\\) or a preset \\(alone\\)"),
    ],
)
def test_a_preset_alone(
    tmp_path: Path, size: str | None, preset: str | None, options: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidSpec, match=message):
        storage_of(tmp_path).resize_key("3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f", size, preset=preset, **options)


def test_only_presets_refuses_other_resizes_at_signing_and_serving(tmp_path: Path, fixtures: Path) -> None:
    open_storage = storage_of(tmp_path)
    strict = storage_of(tmp_path, SHIFTMEDIA_ONLY_PRESETS="true")
    media_id = strict.put(fixtures / PHOTO)
    with pytest.raises(NotAPreset):
        strict.resize_key(media_id, "201x200", mode="fill", quality=80, format="webp")
    other = open_storage.resize_key(media_id, "201x200", mode="fill", quality=80, format="webp")
    for call in (strict.get, strict.create_resize):
        with pytest.raises(NotAPreset):
            call(other)
    assert not (tmp_path / "media" / other).exists()
    same_as_preset = open_storage.resize_key(media_id, "200x200", mode="fill", quality=80, format="webp")
    assert strict.get(same_as_preset).outcome == "created"


# -- the faces ---------------------------------------------------------------------------------------------------


def test_cli_url_with_a_preset(tmp_path: Path, fixtures: Path) -> None:
    env = {**settings(tmp_path), "SHIFTMEDIA_CONFIG": ""}
    storage = storage_of(tmp_path)
    media_id = storage.put(fixtures / PHOTO)
    runner = CliRunner()
    printed = runner.invoke(main, ["url", media_id, "--preset", "hero", "--json"], env=env)
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == {
        "url": storage.resize_url(media_id, preset="hero"),
        "key": storage.resize_key(media_id, preset="hero"),
    }
    for args, message in (
        (["--preset", "hero", "--mode", "fill"], "no SIZE or resize option"),
        (["400x300", "--preset", "hero"], "no SIZE or resize option"),
        (["--format", "png", "--preset", "hero"], "no SIZE or resize option"),
        ([], "give a SIZE"),
    ):
        refused = runner.invoke(main, ["url", media_id, *args], env=env)
        assert refused.exit_code == 2 and message in refused.stderr, refused.output
    unknown = runner.invoke(main, ["url", media_id, "--preset", "nope"], env=env)
    assert unknown.exit_code == 1 and "unknown preset (known: thumb, hero, icon)" in unknown.stderr


def test_jinja_media_url_with_a_preset(tmp_path: Path, fixtures: Path) -> None:
    app = Flask(__name__)
    app.config.update(settings(tmp_path))
    ShiftMedia(app)
    with app.app_context():
        media_id = get_storage().put(fixtures / PHOTO)
        html = render_template_string('{{ media_url(id, preset="thumb") }}', id=media_id)
        assert html == get_storage().resize_url(media_id, preset="thumb")


def test_service_api_and_demo_follow_the_presets(tmp_path: Path, fixtures: Path) -> None:
    token = "api-token-" + "x" * 24
    app = create_app(settings(tmp_path, SHIFTMEDIA_ONLY_PRESETS="true", SHIFTMEDIA_API_TOKENS=token))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    with (fixtures / PHOTO).open("rb") as stream:
        uploaded = client.post("/api/v1/media", data={"file": (stream, "p.jpg")}, headers=auth)
    assert uploaded.status_code == 201, uploaded.data
    body = uploaded.get_json()
    assert set(body["urls"]) == {"thumb", "hero", "icon"}
    for url in body["urls"].values():
        assert client.get(urlsplit(url).path).status_code == 200
    signed = client.post(
        "/api/v1/urls",
        json={"urls": [{"id": body["id"], "preset": "thumb"}, {"id": body["id"], "size": "10x10"}]},
        headers=auth,
    )
    assert signed.status_code == 403 and "only the preset sizes" in signed.get_json()["error"]
    one = client.post("/api/v1/urls", json={"urls": [{"id": body["id"], "preset": "thumb"}]}, headers=auth)
    assert one.get_json() == {"urls": [body["urls"]["thumb"]]}
    both = client.post(
        "/api/v1/urls", json={"urls": [{"id": body["id"], "preset": "thumb", "size": "1x1"}]}, headers=auth
    )
    assert both.status_code == 400
    with app.app_context():
        other = Storage.from_settings(Settings.from_values(settings(tmp_path))).resize_url(body["id"], "10x10")
    refused = client.get(urlsplit(other).path)
    assert refused.status_code == 403 and b"only the preset sizes" in refused.data
    page = client.get(f"/?id={body['id']}").data.decode()
    assert list(dict.fromkeys(re.findall(r"preset (\w+)", page))) == ["thumb", "hero", "icon"]


# -- made at upload ----------------------------------------------------------------------------------------------


def test_put_makes_the_presets_it_names_as_a_miss_would(tmp_path: Path, fixtures: Path) -> None:
    eager = storage_of(tmp_path / "eager", SHIFTMEDIA_EAGER_PRESETS="icon")
    media_id = eager.put(fixtures / PHOTO, presets=["thumb", "icon"])
    root = tmp_path / "eager" / "media"
    made = {eager.resize_key(media_id, preset=name) for name in ("thumb", "icon")}
    stored = {str(path.relative_to(root)) for path in root.rglob("*-noupscale-*")} | {
        str(path.relative_to(root)) for path in root.rglob("*-upscale-*")
    }
    assert stored == made
    lazy = storage_of(tmp_path / "lazy")
    other = lazy.put(fixtures / PHOTO)
    for name in ("thumb", "icon"):
        on_miss = lazy.get(lazy.resize_key(other, preset=name))
        assert on_miss.outcome == "created"
        assert (root / eager.resize_key(media_id, preset=name)).read_bytes() == on_miss.data
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == 4, "the original, its media info and two presets"


def test_eager_presets_must_be_presets() -> None:
    with pytest.raises(ConfigError, match="names no preset nope"):
        Settings.from_values({"SHIFTMEDIA_PRESETS": PRESETS, "SHIFTMEDIA_EAGER_PRESETS": "thumb, nope"})


def test_a_put_that_cannot_make_its_presets_stores_nothing(
    tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = storage_of(tmp_path, SHIFTMEDIA_MAX_OUTPUT_SIDE="1000")
    root = tmp_path / "media"
    with pytest.raises(InvalidSpec, match="unknown preset"):
        storage.put(fixtures / PHOTO, presets=["nope"])
    with pytest.raises(LimitExceeded):
        storage.put(fixtures / PHOTO, presets=["hero"])
    assert not [p for p in root.rglob("*") if p.is_file()]

    def broken(*_args: object) -> None:
        raise InvalidImage("the encoder failed")

    monkeypatch.setattr(making, "render", broken)
    with pytest.raises(InvalidImage):
        storage.put(fixtures / PHOTO, presets=["thumb"])
    assert not [p for p in root.rglob("*") if p.is_file() and ".leases" not in p.parts]


def test_cli_and_api_put_with_presets(tmp_path: Path, fixtures: Path) -> None:
    env = {**settings(tmp_path), "SHIFTMEDIA_CONFIG": ""}
    result = CliRunner().invoke(main, ["put", str(fixtures / PHOTO), "--preset", "thumb", "--json"], env=env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    storage = storage_of(tmp_path)
    assert printed["presets"] == {"thumb": storage.resize_url(printed["id"], preset="thumb")}
    assert (tmp_path / "media" / storage.resize_key(printed["id"], preset="thumb")).is_file()

    token = "api-token-" + "y" * 24
    client = create_app(settings(tmp_path, SHIFTMEDIA_API_TOKENS=token)).test_client()
    with (fixtures / PHOTO).open("rb") as stream:
        uploaded = client.post(
            "/api/v1/media",
            data={"file": (stream, "p.jpg"), "presets": "thumb, icon"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert uploaded.status_code == 201, uploaded.data
    media_id = uploaded.get_json()["id"]
    for name in ("thumb", "icon"):
        assert (tmp_path / "media" / storage.resize_key(media_id, preset=name)).is_file()
