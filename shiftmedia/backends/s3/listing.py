"""Listing a bucket prefix in byte order of the keys, on every S3-compatible store.

A flat ``ListObjectsV2`` is in byte order on AWS but not everywhere:
SeaweedFS walks its directory tree, so ``a/1.jpg`` comes before ``a-b/c.jpg``
although ``-`` sorts before ``/``. :func:`walk` lists one level at a time
with ``Delimiter='/'`` and sorts that level's files and sub-folders together,
which gives the true key order everywhere while holding only one folder's
names in memory. :func:`info` makes the backend's :class:`ObjectInfo` of a
listing entry (or of a HEAD answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..base import ObjectInfo, content_type_for
from .errors import LIBRARY_ERRORS, translate

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_s3.type_defs import ListObjectsV2OutputTypeDef, ObjectTypeDef


def pages(
    client: S3Client, bucket: str, prefix: str, operation: str, delimiter: str | None = None
) -> Iterator[ListObjectsV2OutputTypeDef]:
    """The ``ListObjectsV2`` pages under ``prefix`` (a full key prefix), every failure translated."""
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        params["Delimiter"] = delimiter
    iterator = iter(client.get_paginator("list_objects_v2").paginate(**params))
    while True:
        try:
            page = next(iterator)
        except StopIteration:
            return
        except LIBRARY_ERRORS as exc:
            raise translate(exc, operation, bucket, prefix) from None
        yield page


def walk(client: S3Client, bucket: str, prefix: str) -> Iterator[ObjectTypeDef]:
    """The objects under ``prefix`` in byte order of their keys, one folder at a time."""
    level: list[tuple[str, ObjectTypeDef | None]] = []
    for page in pages(client, bucket, prefix, "list", delimiter="/"):
        level.extend((item["Key"], item) for item in page.get("Contents") or [])
        level.extend((sub["Prefix"], None) for sub in page.get("CommonPrefixes") or [])
    level.sort(key=lambda entry: entry[0])
    for name, item in level:
        if item is None:
            if name != prefix:
                yield from walk(client, bucket, name)
        elif not name.endswith("/"):  # folder markers some tools create; never a valid key
            yield item


def info(key: str, size: int, etag: str, modified: datetime | None, content_type: str | None) -> ObjectInfo:
    """An :class:`ObjectInfo` from the fields of a listing entry or a HEAD answer."""
    etag = (etag or "").strip('"')
    stamp = modified.timestamp() if modified is not None else 0.0
    return ObjectInfo(key, int(size), etag, stamp, content_type or content_type_for(key))
