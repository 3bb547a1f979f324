"""Ids of originals, their folders, and safe original file names.

An id is a random UUID in its canonical form (``3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f``).
Its folder is the id with each ``-`` turned into ``/``, as shift-media shards
them, so no folder grows huge and an id's original and derivatives share one
prefix. Every id and name is validated against a strict pattern before it is
joined into a key, so a crafted one can never reach outside the storage root.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from .errors import InvalidKey
from .spec import looks_like_derivative

_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ID_PATH_RE = re.compile(r"[0-9a-f]{8}/[0-9a-f]{4}/[0-9a-f]{4}/[0-9a-f]{4}/[0-9a-f]{12}")
_KEY_RE = re.compile(rf"(?P<folder>{_ID_PATH_RE.pattern})/(?P<name>[A-Za-z0-9._-]{{1,255}})")
MAX_STEM_LENGTH = 80
DEFAULT_STEM = "image"


def new_id() -> str:
    """A fresh random id."""
    return str(uuid.uuid4())


def check_id(media_id: str) -> str:
    """Return ``media_id`` if it has the canonical id form, else raise :class:`InvalidKey`."""
    if not isinstance(media_id, str) or not _ID_RE.fullmatch(media_id):
        raise InvalidKey(
            "invalid id: an id is the UUID shiftmedia put printed, such as 3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f"
        )
    return media_id


def id_folder(media_id: str) -> str:
    """The folder (relative key prefix, without trailing ``/``) of an id."""
    return check_id(media_id).replace("-", "/")


def split_key(key: str) -> tuple[str, str]:
    """Split ``<id folder>/<name>`` into the id and the file name."""
    match = _KEY_RE.fullmatch(key) if isinstance(key, str) else None
    if match is None or match["name"] in (".", ".."):
        raise InvalidKey("not a media key")
    return match["folder"].replace("/", "-"), match["name"]


def find_key(text: str) -> str:
    """The media key at the end of a URL path or key (``.../<id folder>/<name>``)."""
    match = re.search(rf"(?:^|/)({_KEY_RE.pattern})$", text) if isinstance(text, str) else None
    if match is None:
        raise InvalidKey("no media key in the given URL or path")
    return match[1]


def safe_filename(filename: str | None, extension: str) -> str:
    """A file name safe in any URL, file system and bucket, with the given extension.

    Accents are folded to ASCII, case is lowered, runs of anything but letters,
    digits, ``-`` and ``_`` become one ``-``, the stem is cut to
    :data:`MAX_STEM_LENGTH` characters, and a stem that would read like a
    derivative's name is prefixed, so an original can never pass for one.
    ``upscale`` is spelt ``up-scale``: the bucket policy tells derivatives by
    ``-upscale-``/``-noupscale-`` (:mod:`shiftmedia.backends.s3.bucket`). The
    extension is the one of the detected format, whatever the upload claimed.
    """
    stem = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii").lower()
    stem = re.sub(r"[^a-z0-9_]+", "-", stem)
    stem = re.sub(r"-{2,}", "-", stem.replace("upscale", "up-scale"))[:MAX_STEM_LENGTH].strip("-_") or DEFAULT_STEM
    if looks_like_derivative(f"{stem}.{extension}"):
        stem = f"{DEFAULT_STEM}-{stem}"
    return f"{stem}.{extension}"
