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
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\\]")
MAX_STEM_LENGTH = 80
DEFAULT_STEM = "image"
#: The longest source key, in UTF-8 bytes: S3's 1024 less room for a prefix and a derivative's name.
MAX_SOURCE_KEY_BYTES = 768
#: The longest segment of a source key, in UTF-8 bytes (a file name on common file systems).
MAX_SEGMENT_BYTES = 255
#: What the key of an original's media info document adds to the original's (:mod:`shiftmedia.mediainfo`).
INFO_SUFFIX = ".info.json"


def new_id() -> str:
    """A fresh random id."""
    return str(uuid.uuid4())


#: Why a reference that is not an id is refused where sources cannot be read.
NOT_AN_ID = (
    "invalid id: an id is the UUID shiftmedia put printed, such as 3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f "
    "(any other key names a source, and on local disk sources need SHIFTMEDIA_LOCAL_SOURCE_ROOT, a folder "
    "of their own)"
)


def check_id(media_id: str) -> str:
    """Return ``media_id`` if it has the canonical id form, else raise :class:`InvalidKey`."""
    if not isinstance(media_id, str) or not _ID_RE.fullmatch(media_id):
        raise InvalidKey(NOT_AN_ID)
    return media_id


def is_id(reference: str) -> bool:
    """True when ``reference`` is an id (a source key is anything else)."""
    return isinstance(reference, str) and _ID_RE.fullmatch(reference) is not None


def check_source_key(key: str) -> str:
    """Return ``key`` if it can name a source, an existing object addressed by its own key; else :class:`InvalidKey`.

    Any characters S3 allows but control characters and backslashes (some stores read
    one as ``/``), in ``/``-separated
    segments (none empty, none starting with ``.``, at most
    :data:`MAX_SEGMENT_BYTES` each), at most :data:`MAX_SOURCE_KEY_BYTES` in
    all; never an id, a path through an id folder, a name a derivative could
    have or a media info document's, so a source key and an id's keys never meet.
    """
    if not isinstance(key, str) or not key or _CONTROL_RE.search(key):
        raise InvalidKey("invalid source key")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey("invalid source key") from None
    if len(encoded) > MAX_SOURCE_KEY_BYTES:
        raise InvalidKey(f"a source key is at most {MAX_SOURCE_KEY_BYTES} bytes")
    segments = key.split("/")
    if any(not part or part.startswith(".") or len(part.encode()) > MAX_SEGMENT_BYTES for part in segments):
        raise InvalidKey("a source key has no empty, dot-leading or over-long segment")
    if is_id(key) or _ID_PATH_RE.match(key) and (len(key) == 36 or key[36] == "/"):
        raise InvalidKey("a source key cannot be an id or lie in an id's folder")
    if looks_like_derivative(segments[-1]):
        raise InvalidKey("a source key cannot end in a derivative's name")
    if key.endswith(INFO_SUFFIX):
        raise InvalidKey(f"a source key cannot end in {INFO_SUFFIX}, the name of media info")
    return key


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
