"""What the demo page shows: one original in every mode on boxes of other aspects, and the gallery.

Plain data for the templates, built through :class:`~shiftmedia.storage.Storage`
only. Every tile knows, before the browser asks for it, the size its image will
have (the engine's :func:`~shiftmedia.engine.plan.make_plan` of the original's
upright size), so the page can say it and a test can hold the browser to it.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from shiftmedia.engine import ImageInfo, probe
from shiftmedia.engine.plan import make_plan
from shiftmedia.errors import ShiftMediaError
from shiftmedia.flask.helpers import media_picture
from shiftmedia.spec import ResizeSpec
from shiftmedia.storage import Storage

#: The boxes every mode is shown on: a square and a banner, neither the aspect of a usual photo.
BOXES: tuple[tuple[int, int], ...] = ((300, 300), (600, 200))
#: A gallery thumbnail, and the ``<picture>`` example: (size, options).
THUMBNAIL: tuple[str, dict[str, Any]] = ("160x160", {"mode": "fill", "format": "webp"})
PICTURE: tuple[str, dict[str, Any]] = ("400x300", {"mode": "fill"})
#: Originals whose facts a process remembers (an id's original never changes).
KNOWN_ORIGINALS = 1024


@dataclass(frozen=True)
class Tile:
    """One resize on the page: what it is, its signed URL, the box asked for and the size it will have."""

    title: str
    note: str
    url: str
    format: str
    box: tuple[int, int] | None
    size: tuple[int, int] | None

    @property
    def name(self) -> tuple[str, str, str]:
        """The URL's file name in three parts: the resize it spells, its signature, its extension."""
        spelled, _, signed = self.url.rsplit("/", 1)[-1].rpartition("-")
        signature, _, extension = signed.partition(".")
        return f"{spelled}-", signature, f".{extension}"


@dataclass(frozen=True)
class Group:
    """Tiles shown side by side: every mode on one box, or the presets."""

    title: str
    tiles: list[Tile]


@dataclass(frozen=True)
class Original:
    """One original as the page shows it."""

    reference: str
    name: str
    info: ImageInfo
    bytes: int
    groups: list[Group]
    picture: Markup | None
    #: An existing object addressed by its own key, which shiftmedia reads but never writes or deletes.
    source: bool

    @property
    def picture_source(self) -> str:
        """The ``<picture>`` as HTML to copy: one element a line."""
        if self.picture is None:
            return ""
        lines = str(self.picture).replace("><", ">\n<").splitlines()
        return "\n".join(line if line.startswith(("<picture", "</picture")) else f"  {line}" for line in lines)


@dataclass(frozen=True)
class Thumbnail:
    """A stored original in the gallery."""

    media_id: str
    name: str
    url: str
    bytes: int
    modified: datetime


def modes(source: tuple[int, int]) -> list[tuple[str, str, dict[str, Any]]]:
    """Each mode, what it does, and the options that ask for it, for an upright source of ``source`` pixels.

    ``crop`` cuts the centred rectangle of half the width and height (a 2×
    zoom on the middle) and covers the box with it, as ``fill`` does.
    """
    width, height = source
    centre = (width // 4, height // 4, max(1, width // 2), max(1, height // 2))
    return [
        ("fit", "The whole image inside the box: nothing cut, one side may fall short.", {"mode": "fit"}),
        ("fill", "Covers the box and cuts what overflows, around the centre.", {"mode": "fill", "format": "jpg"}),
        (
            "fill, focal point",
            "Covers the box and keeps the point 30% across, 35% down in view.",
            {"mode": "fill", "gravity": (0.3, 0.35), "format": "avif"},
        ),
        (
            "pad",
            "The whole image, with transparent bars making up the box.",
            {"mode": "pad", "background": "00000000", "format": "png"},
        ),
        (
            "crop",
            f"Cuts the centre {centre[2]}×{centre[3]} out of the source, then covers the box with it.",
            {"mode": "crop", "rect": centre, "format": "webp"},
        ),
    ]


class Originals:
    """The facts of originals (what :func:`probe` says, and their bytes), read once per process."""

    def __init__(self, size: int = KNOWN_ORIGINALS) -> None:
        self._size = size
        self._known: OrderedDict[str, tuple[ImageInfo, int]] = OrderedDict()
        self._lock = threading.Lock()

    def facts(self, storage: Storage, key: str) -> tuple[ImageInfo, int]:
        """The original at ``key``: what it is, and its bytes.

        The service reads it as a render does, through the storage, with the
        token its own original URL carries (originals are not public).
        """
        with self._lock:
            known = self._known.get(key)
        if known is None:
            data = storage.get(key, storage.access.signer.token(key)).data
            known = probe(data, storage.limits), len(data)
            with self._lock:
                self._known[key] = known
                while len(self._known) > self._size:
                    self._known.popitem(last=False)
        return known

    def forget(self, key: str) -> None:
        """Drop what is known of the original at ``key`` (it was deleted)."""
        with self._lock:
            self._known.pop(key, None)


def original(storage: Storage, reference: str, known: Originals) -> Original:
    """The page's view of the original ``reference`` names: its tiles and the ``<picture>`` example.

    With presets configured the tiles are the presets (they may be the only
    resizes served); otherwise every mode on every box of :data:`BOXES`.
    """
    key = storage.original_key(reference)
    info, size = known.facts(storage, key)
    source = (info.width, info.height)
    if storage.presets:
        presets = [
            _tile(storage, source, f"preset {name}", "", spec, storage.resize_url(reference, preset=name))
            for name, spec in storage.presets
        ]
        groups = [Group("Presets", presets)]
    else:
        groups = [
            Group(
                f"Box {width}×{height}",
                [
                    _tile(
                        storage,
                        source,
                        title,
                        note,
                        ResizeSpec.create((width, height), **options),
                        storage.resize_url(reference, (width, height), **options),
                    )
                    for title, note, options in modes(source)
                ],
            )
            for width, height in BOXES
        ]
    name = key.rsplit("/", 1)[-1]
    return Original(reference, name, info, size, groups, _picture(storage, reference, name), source=key == reference)


def _tile(storage: Storage, source: tuple[int, int], title: str, note: str, spec: ResizeSpec, url: str) -> Tile:
    try:
        size: tuple[int, int] | None = make_plan(source, spec, storage.limits).canvas
    except ShiftMediaError:
        size = None
    box = (spec.width, spec.height) if spec.width and spec.height else None
    return Tile(title, note, url, spec.format, box, size)


def _picture(storage: Storage, reference: str, name: str) -> Markup | None:
    """:func:`media_picture` of the original, or ``None`` where its sizes are not served (only presets)."""
    size, options = PICTURE
    try:
        return media_picture(storage, reference, size, alt=name, **options)
    except ShiftMediaError:
        return None


def gallery(storage: Storage, limit: int) -> list[Thumbnail]:
    """The ``limit`` newest originals, newest first, each with a signed thumbnail (one listing)."""
    newest = heapq.nlargest(limit, storage.originals(), key=lambda stored: stored.info.modified)
    return [
        Thumbnail(
            stored.reference,
            stored.info.key.rsplit("/", 1)[-1],
            _thumbnail_url(storage, stored.reference),
            stored.info.size,
            datetime.fromtimestamp(stored.info.modified, UTC),
        )
        for stored in newest
    ]


def _thumbnail_url(storage: Storage, media_id: str) -> str:
    """A small square of ``media_id``: :data:`THUMBNAIL`, or the smallest preset where only presets are served."""
    if storage.presets.only:
        name, _spec = min(storage.presets, key=lambda named: _area(named[1]))
        return storage.resize_url(media_id, preset=name)
    size, options = THUMBNAIL
    return storage.resize_url(media_id, size, **options)


def _area(spec: ResizeSpec) -> int:
    return (spec.width or spec.height) * (spec.height or spec.width)


def boxes(groups: list[Group]) -> list[tuple[int, int]]:
    """The distinct boxes of the tiles in ``groups``, for the page's style sheet."""
    return sorted({tile.box for group in groups for tile in group.tiles if tile.box is not None})


def human_bytes(count: int) -> str:
    """``412.3 kB``: bytes in SI units, as the page's script writes them."""
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"
