"""Originals are not public by default: their URLs expire, and the service asks for the token first.

Derivatives stay public (their signed name is their permission). On local
disk an original's URL is the service's with an ``access`` token; on S3 it is
a presigned GET; ``public_originals`` makes them plain URLs again. The
service checks an original's token before touching storage, so a request
without one learns nothing, not even whether the id exists.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from shiftmedia.access import ACCESS_PARAM, PRIVATE_CACHE_SECONDS
from shiftmedia.backends.local import LocalBackend
from shiftmedia.delivery import ORIGINAL_CACHE, Redirect, Served
from shiftmedia.errors import NotFound, PrivateOriginal
from shiftmedia.flask import get_storage
from shiftmedia.ids import id_folder
from shiftmedia.settings import Settings
from shiftmedia.storage import Storage
from shiftmedia_webapp import create_app

from .conftest import PUBLIC_URL, SECRET_KEYS
from .test_door import CountingBackend

PHOTO = "exif_orient_6.jpg"
UNKNOWN_ID = "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f"


def token_of(url: str) -> str:
    (token,) = parse_qs(urlsplit(url).query)[ACCESS_PARAM]
    return token


def test_original_url_carries_an_expiring_token(storage: Storage, fixtures: Path) -> None:
    media_id = storage.put(fixtures / PHOTO)
    key = storage.original_key(media_id)
    url = storage.original_url(media_id)
    assert url.startswith(f"{PUBLIC_URL}/{key}?{ACCESS_PARAM}=")

    served = storage.get(key, token_of(url))
    assert served.data == (fixtures / PHOTO).read_bytes()
    assert served.cache_control == f"private, max-age={PRIVATE_CACHE_SECONDS}"


@pytest.mark.parametrize("token", [None, "", "garbage", "aw_QBw.zRsjsy_eJq5puUpn1WfdZXFQWWZhlc0Pu5_gNDZXz7g"])
def test_an_original_without_a_valid_token_is_refused(storage: Storage, fixtures: Path, token: str | None) -> None:
    media_id = storage.put(fixtures / PHOTO)
    with pytest.raises(PrivateOriginal):
        storage.get(storage.original_key(media_id), token)
    with pytest.raises(PrivateOriginal):
        storage.deliver(storage.original_key(media_id), redirect=True, access=token)


def test_a_token_reads_only_its_own_original(storage: Storage, fixtures: Path) -> None:
    first, second = storage.put(fixtures / PHOTO), storage.put(fixtures / PHOTO)
    with pytest.raises(PrivateOriginal):
        storage.get(storage.original_key(second), token_of(storage.original_url(first)))


def test_a_token_of_another_secret_or_a_resize_signature_is_refused(tmp_path: Path, fixtures: Path) -> None:
    storage = Storage(LocalBackend(tmp_path, PUBLIC_URL), SECRET_KEYS)
    other = Storage(LocalBackend(tmp_path, PUBLIC_URL), ["another-secret-key-0123456789abcdef"])
    media_id = storage.put(fixtures / PHOTO)
    key = storage.original_key(media_id)
    resize_signature = storage.resize_key(media_id, "10x10").rsplit("-", 1)[1].split(".")[0]
    for token in (token_of(other.original_url(media_id)), resize_signature, f"{int(time.time())}.{resize_signature}"):
        with pytest.raises(PrivateOriginal):
            storage.get(key, token)


def test_a_token_expires(tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = Storage(LocalBackend(tmp_path, PUBLIC_URL), SECRET_KEYS, original_url_expiry=60)
    media_id = storage.put(fixtures / PHOTO)
    key = storage.original_key(media_id)
    token = token_of(storage.original_url(media_id))
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 59)
    storage.get(key, token)
    monkeypatch.setattr(time, "time", lambda: now + 62)
    with pytest.raises(PrivateOriginal, match="expired"):
        storage.get(key, token)


def test_key_rotation_keeps_tokens_of_the_older_key(tmp_path: Path, fixtures: Path) -> None:
    old = Storage(LocalBackend(tmp_path, PUBLIC_URL), SECRET_KEYS[1:])
    media_id = old.put(fixtures / PHOTO)
    token = token_of(old.original_url(media_id))
    rotated = Storage(LocalBackend(tmp_path, PUBLIC_URL), SECRET_KEYS)
    assert rotated.get(old.original_key(media_id), token).data == (fixtures / PHOTO).read_bytes()


def test_the_token_is_checked_before_storage_is_touched(tmp_path: Path, fixtures: Path) -> None:
    backend = CountingBackend(tmp_path)
    storage = Storage(backend, SECRET_KEYS)
    media_id = storage.put(fixtures / PHOTO)
    key = storage.original_key(media_id)
    unknown = f"{id_folder(UNKNOWN_ID)}/photo.jpg"
    backend.calls.clear()
    for target in (key, unknown):
        for redirect in (False, True):
            with pytest.raises(PrivateOriginal):
                storage.deliver(target, redirect=redirect)
    assert backend.calls == {}
    with pytest.raises(NotFound):
        storage.get(unknown, storage.access.signer.token(unknown))


def test_resizes_need_no_token(storage: Storage, fixtures: Path) -> None:
    media_id = storage.put(fixtures / PHOTO)
    url = storage.resize_url(media_id, "40x30", mode="fill")
    assert "?" not in url
    assert storage.get(storage.verify(url)[0]).outcome == "created"


def test_public_originals_have_plain_urls(tmp_path: Path, fixtures: Path) -> None:
    storage = Storage(LocalBackend(tmp_path, PUBLIC_URL), SECRET_KEYS, public_originals=True)
    media_id = storage.put(fixtures / PHOTO)
    key = storage.original_key(media_id)
    assert storage.original_url(media_id) == f"{PUBLIC_URL}/{key}"
    served = storage.get(key)
    assert isinstance(served, Served) and served.cache_control == ORIGINAL_CACHE


def test_settings_choose(tmp_path: Path, fixtures: Path) -> None:
    base = {"SHIFTMEDIA_LOCAL_ROOT": str(tmp_path), "SHIFTMEDIA_SECRET_KEYS": SECRET_KEYS[0]}
    assert Settings.from_values(base).public_originals is False
    public = Storage.from_settings(Settings.from_values({**base, "SHIFTMEDIA_PUBLIC_ORIGINALS": "true"}))
    media_id = public.put(fixtures / PHOTO)
    assert "?" not in public.original_url(media_id)
    expiring = Storage.from_settings(Settings.from_values({**base, "SHIFTMEDIA_PRESIGN_EXPIRY": "120"}))
    assert expiring.access.signer.max_age == 120


def test_s3_originals_are_presigned_even_in_a_public_bucket(fixtures: Path) -> None:
    from moto import mock_aws

    from shiftmedia.backends.s3 import S3Backend
    from shiftmedia.settings import S3Settings

    settings = S3Settings(bucket="media", region="us-east-1", access_key_id="A", secret_access_key="B")
    with mock_aws():
        backend = S3Backend(settings)
        backend.client.create_bucket(Bucket="media")
        storage = Storage(backend, SECRET_KEYS)
        media_id = storage.put(fixtures / PHOTO)
        key = storage.original_key(media_id)
        url = storage.original_url(media_id)
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
        answer = storage.deliver(key, redirect=True, access=storage.access.signer.token(key))
        assert isinstance(answer, Redirect) and "X-Amz-Signature=" in answer.location
        assert "X-Amz-Signature=" not in storage.resize_url(media_id, "10x10")
        public = Storage(backend, SECRET_KEYS, public_originals=True)
        assert public.original_url(media_id) == backend.public_url(key)


# -- through HTTP ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("redirect", ["serve", "redirect"])
def test_service_answers_403_without_the_token_and_the_bytes_with_it(
    tmp_path: Path, fixtures: Path, redirect: str
) -> None:
    app = create_app(
        {
            "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
            "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
            "SHIFTMEDIA_PUBLIC_URL": "http://localhost/media",
            "SHIFTMEDIA_RESPONSE": redirect,
        }
    )
    client = app.test_client()
    with app.app_context():
        storage = get_storage()
        media_id = storage.put(fixtures / PHOTO)
        url = storage.original_url(media_id)
    path = urlsplit(url).path
    for query in ("", "?access=", "?access=x.y", "?sm-retry=1"):
        refused = client.get(path + query)
        assert refused.status_code == 403, refused.data
        assert refused.headers["Cache-Control"] == "no-store"
        assert b"not public" in refused.data or b"invalid access token" in refused.data
    unknown = client.get(f"/media/{id_folder(UNKNOWN_ID)}/{path.rsplit('/', 1)[1]}")
    assert unknown.status_code == 403
    allowed = client.get(f"{path}?{urlsplit(url).query}")
    assert allowed.status_code == 200 and allowed.data == (fixtures / PHOTO).read_bytes()
    assert allowed.headers["Cache-Control"] == f"private, max-age={PRIVATE_CACHE_SECONDS}"
