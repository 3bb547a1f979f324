"""The public-read bucket policy as a real S3 server enforces it (SeaweedFS, anonymous requests).

SeaweedFS evaluates bucket policies for anonymous requests, with ``*`` and
``?`` in resources as AWS does, so these tests read the bucket the way a
browser or CDN without credentials does: a resize is public, an original is
403 (its presigned URL reads it), a lease is 403, a missing resize is 404.
LocalStack's community S3 does not enforce bucket policies, so its website
tests (test_bucket_setup.py) check the routing rule, not who may read.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from shiftmedia.backends.s3 import S3Backend
from shiftmedia.backends.s3.bucket import bucket_policy
from shiftmedia.lease import lease_key
from shiftmedia.storage import Storage
from tests.servers.seaweedfs import SeaweedFS

pytestmark = pytest.mark.integration

SECRET_KEYS = ["bucket-policy-test-key-0123456789abcdef"]


def anonymous_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("prefix", ["media", ""])
@pytest.mark.parametrize("originals", [False, True], ids=["private-originals", "public-originals"])
def test_anonymous_readers_get_what_the_policy_grants(
    seaweedfs: SeaweedFS,
    s3_bucket: str,
    make_s3_backend: Callable[..., S3Backend],
    fixtures: Path,
    prefix: str,
    originals: bool,
) -> None:
    backend = make_s3_backend(seaweedfs, s3_bucket, prefix=prefix)
    storage = Storage(backend, SECRET_KEYS, public_originals=originals)
    media_id = storage.put(fixtures / "exif_orient_6.jpg", filename="holiday-upscale-shot.jpg")
    resize = storage.create_resize(storage.resize_key(media_id, "60x40", mode="fill", format="webp")).key
    missing = storage.resize_key(media_id, "61x40")
    lease = lease_key(resize)
    backend.write(lease, b'{"holder": "h", "expires": 0}')
    seaweedfs.client().put_bucket_policy(
        Bucket=s3_bucket, Policy=json.dumps(bucket_policy(s3_bucket, backend.prefix, originals=originals))
    )
    base = f"{seaweedfs.endpoint}/{s3_bucket}/{backend.prefix}"
    original = storage.original_key(media_id)
    assert "up-scale" in original

    assert anonymous_status(base + resize) == 200
    assert anonymous_status(base + missing) == 404
    assert anonymous_status(base + lease) == 403
    assert anonymous_status(base + original) == (200 if originals else 403)
    assert anonymous_status(storage.original_url(media_id)) == 200
