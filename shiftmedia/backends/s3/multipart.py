"""A multipart upload completed only if the key is still free (``If-None-Match: *``).

s3transfer does not pass ``IfNoneMatch``, so a large conditional write is
uploaded here, sequentially: parts are read one at a time, so memory stays at
one part, and the condition sits on ``CompleteMultipartUpload``, the request
that makes the object visible. The store evaluates it atomically, so of two
racing writers exactly one wins. Any failure, the caller's stream raising
included, aborts the upload: its parts never become an object.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from .errors import LIBRARY_ERRORS, conditional, request
from .streams import read_up_to

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

MiB = 1024 * 1024
#: S3's smallest part (the last part may be smaller).
MIN_PART_SIZE = 5 * MiB


def upload_if_absent(
    client: S3Client, bucket: str, key: str, stream: BinaryIO, args: Mapping[str, str], part_size: int
) -> bool:
    """Upload ``stream`` to ``key`` (the full key) unless an object is there; ``False`` if one was."""
    upload = request("write", bucket, key, client.create_multipart_upload, Bucket=bucket, Key=key, **args)
    upload_id: str = upload["UploadId"]
    part_size = max(part_size, MIN_PART_SIZE)
    parts: list[dict[str, Any]] = []
    completed = False
    try:
        while True:
            chunk = read_up_to(stream, part_size)
            if not chunk and parts:
                break
            number = len(parts) + 1
            answer = request(
                "write",
                bucket,
                key,
                client.upload_part,
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=chunk,
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            if len(chunk) < part_size:
                break
        completed = conditional(
            "write",
            bucket,
            key,
            client.complete_multipart_upload,
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            IfNoneMatch="*",
        )
        return completed  # False: the key was taken, and the upload is aborted below
    finally:
        if not completed:
            abort(client, bucket, key, upload_id)


def abort(client: S3Client, bucket: str, key: str, upload_id: str) -> None:
    """Best-effort abort of an unfinished upload; its parts are never visible as an object."""
    with contextlib.suppress(*LIBRARY_ERRORS):
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
