"""Media info: ``<original key>.info.json`` beside each original, written at put, computed once when missing.

The facts themselves are tests/engine/test_facts.py's; here: where the
document lives, who reads it (Storage.info, the CLI, the service with the
original's access rules, the template helpers), and that nothing else
mistakes it for an original, a source or a derivative.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask, render_template_string

from shiftmedia.backends.local import LocalBackend
from shiftmedia.backends.readonly import ReadOnly
from shiftmedia.cli import main
from shiftmedia.engine.facts import MediaFacts, media_facts
from shiftmedia.errors import InvalidKey, NotFound, PrivateOriginal
from shiftmedia.flask import get_storage
from shiftmedia.ids import check_source_key
from shiftmedia.mediainfo import info_key
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app

from .conftest import PUBLIC_URL, SECRET_KEYS
from .test_door import CountingBackend
from .test_sources import SOURCE_KEYS, fill_sources, snapshot


def test_put_stores_the_facts_beside_the_original(storage: Storage, fixtures: Path, media_root: Path) -> None:
    data = (fixtures / "exif_orient_6.jpg").read_bytes()
    media_id = storage.put(data, "photo.jpg")
    key = storage.original_key(media_id)
    stored = json.loads((media_root / info_key(key)).read_text())
    assert stored == media_facts(data).to_json()
    assert (stored["width"], stored["height"], stored["orientation"]) == (1800, 1200, 6)
    assert storage.info(media_id) == MediaFacts.from_json(stored)
    assert storage.original_key(media_id) == key, "the document is never taken for the original"
    assert [original.reference for original in storage.originals()] == [media_id]


def test_an_original_without_its_document_gets_one_on_first_request(
    media_root: Path, fixtures: Path, storage: Storage
) -> None:
    media_id = storage.put(fixtures / "gif_animated_trns_30f.gif")
    document = media_root / info_key(storage.original_key(media_id))
    expected = json.loads(document.read_text())
    document.unlink()
    counting = CountingBackend(media_root)
    fresh = Storage(counting, SECRET_KEYS)
    assert fresh.info(media_id).to_json() == expected
    assert json.loads(document.read_text()) == expected
    counting.calls.clear()
    assert fresh.info(media_id).to_json() == expected
    assert not counting.calls, "an id's facts are remembered: its original never changes"
    assert Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS).info(media_id).frames > 1


@pytest.mark.parametrize(
    "edited",
    [b"", b"not json", b"[]", b'{"width": -1}', b'{"width": "a lot"}', b"{" + b" " * 20000 + b"}"],
)
def test_an_edited_document_is_computed_anew(media_root: Path, fixtures: Path, storage: Storage, edited: bytes) -> None:
    media_id = storage.put(fixtures / "png_palette_trns.png")
    document = media_root / info_key(storage.original_key(media_id))
    expected = json.loads(document.read_text())
    document.write_bytes(edited)
    assert Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS).info(media_id).to_json() == expected
    assert json.loads(document.read_text()) == expected


def test_unknown_ids_and_bad_references(storage: Storage) -> None:
    with pytest.raises(NotFound):
        storage.info("00000000-0000-4000-8000-000000000000")
    with pytest.raises(InvalidKey):  # local disk without a source root takes ids only
        storage.info("photos/cat.jpg")
    with pytest.raises(InvalidKey, match="info.json"):
        check_source_key("photos/cat.jpg.info.json")


def test_the_cli_prints_it(media_root: Path, fixtures: Path) -> None:
    env = {
        "SHIFTMEDIA_LOCAL_ROOT": str(media_root),
        "SHIFTMEDIA_SECRET_KEYS": SECRET_KEYS[0],
        "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
        "SHIFTMEDIA_CONFIG": "",
    }
    media_id = Storage(LocalBackend(media_root, PUBLIC_URL), SECRET_KEYS).put(fixtures / "webp_alpha_300x300.webp")
    printed = json.loads(CliRunner().invoke(main, ["info", media_id, "--json"], env=env).output)
    assert printed["id"] == media_id and printed["has_alpha"] is True and printed["width"] == 300
    plain = CliRunner().invoke(main, ["info", media_id], env=env).output
    assert "width: 300" in plain and "format: webp" in plain
    missing = CliRunner().invoke(main, ["info", "00000000-0000-4000-8000-000000000000"], env=env)
    assert missing.exit_code == 1 and missing.output.startswith("error: no media with id")


def test_the_service_serves_it_with_the_originals_access_rules(app: Flask, fixtures: Path) -> None:
    client = app.test_client()
    with app.app_context():
        storage = get_storage()
        media_id = storage.put(fixtures / "exif_orient_6.jpg")
        url = storage.info_url(media_id)
        key = info_key(storage.original_key(media_id))
    path = urlsplit(url).path
    answer = client.get(f"{path}?{urlsplit(url).query}")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.get_json() == storage.info(media_id).to_json()
    assert answer.headers["Cache-Control"].startswith("private")
    assert path.endswith(key)
    assert client.get(path).status_code == 403
    with pytest.raises(PrivateOriginal):
        storage.get(key)
    wrong = path.replace("exif_orient_6.jpg.info.json", "other.jpg.info.json")
    with app.app_context():
        token = get_storage().access.signer.token(wrong.removeprefix("/media/"))
    assert client.get(f"{wrong}?access={token}").status_code == 404


def test_with_public_originals_anyone_reads_it(tmp_path: Path, fixtures: Path) -> None:
    app = create_app(
        {
            "SHIFTMEDIA_STORAGE": "local",
            "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": PUBLIC_URL,
            "SHIFTMEDIA_PUBLIC_ORIGINALS": "true",
            "SHIFTMEDIA_RESPONSE": "redirect",
        }
    )
    with app.app_context():
        storage = get_storage()
        media_id = storage.put(fixtures / "png_palette_trns.png")
        path = urlsplit(storage.info_url(media_id)).path
    answer = app.test_client().get(path)
    assert answer.status_code == 200, "served, never redirected"
    assert answer.get_json()["has_alpha"] is True


def test_a_sources_document_goes_to_the_store_and_leaves_with_its_resizes(tmp_path: Path, fixtures: Path) -> None:
    sources = tmp_path / "sources"
    fill_sources(sources, fixtures)
    before = snapshot(sources)
    derived = tmp_path / "derived"
    storage = Storage(
        LocalBackend(derived, PUBLIC_URL), SECRET_KEYS, sources=ReadOnly(LocalBackend(sources, PUBLIC_URL))
    )
    key = SOURCE_KEYS[1]
    assert storage.info(key).format == "png"
    assert (derived / info_key(key)).is_file() and snapshot(sources) == before
    storage.create_resize(storage.resize_key(key, "20x20"))
    assert [original.described for original in storage.originals("uploads/")] == [True]
    assert storage.delete(key) == 2
    assert not (derived / info_key(key)).exists() and snapshot(sources) == before


def test_media_picture_gives_the_img_the_size_the_resize_will_have(app: Flask, fixtures: Path) -> None:
    with app.app_context():
        media_id = get_storage().put(fixtures / "exif_orient_6.jpg")
        html = render_template_string("{{ media_picture(id, '400x0') }}", id=media_id)
        assert 'width="400" height="267"' in html
        html = render_template_string("{{ media_picture(id, '300x300', mode='fill') }}", id=media_id)
        assert 'width="300" height="300"' in html
        html = render_template_string("{{ media_picture(id, '0x100', upscale=False) }}", id=media_id)
        assert 'width="150" height="100"' in html
        unknown = render_template_string("{{ media_picture('00000000-0000-4000-8000-000000000000', '400x0') }}")
        assert 'width="400"' in unknown and "height=" not in unknown
        facts = render_template_string("{{ media_info(id).blurhash }} {{ media_info(id).dominant_color }}", id=media_id)
        assert facts == f"{get_storage().info(media_id).blurhash} {get_storage().info(media_id).dominant_color}"
