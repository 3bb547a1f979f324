"""Template helpers: an original's URL, a signed resize URL, a ``srcset``, a ``<picture>``, media info.

Each takes the :class:`~shiftmedia.storage.Storage` to sign with; the
extension binds them to its storage as the Jinja globals ``media_url``,
``media_srcset``, ``media_picture`` and ``media_info``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from ..engine.plan import make_plan
from ..errors import ShiftMediaError
from ..spec import parse_size
from ..storage import Size, Storage

DENSITIES = (1, 2, 3)
PICTURE_FORMATS = ("avif", "webp")


def media_url(
    storage: Storage, media_id: str, size: Size | None = None, *, preset: str | None = None, **options: Any
) -> str:
    """A signed resize URL of ``size`` or of a ``preset``; the original's URL when neither is given."""
    if size is None and preset is None:
        return storage.original_url(media_id)
    return storage.resize_url(media_id, size, preset=preset, **options)


def media_srcset(
    storage: Storage,
    media_id: str,
    size: Size,
    *,
    widths: Iterable[int] | None = None,
    densities: Iterable[int] = DENSITIES,
    **options: Any,
) -> str:
    """A ``srcset`` value.

    With ``widths``, one URL per width (``400w``), the height following the
    aspect of ``size``; otherwise one per pixel density (``2x``) of ``size``.
    Sizes over the output limit are left out.
    """
    base = parse_size(size)
    candidates: list[tuple[tuple[int, int], str]] = []
    if widths is not None:
        for width in widths:
            height = round(base[1] * width / base[0]) if base[0] and base[1] else 0
            candidates.append(((width, height), f"{width}w"))
    else:
        candidates = [((base[0] * d, base[1] * d), f"{d}x") for d in densities]
    limit = storage.limits.max_output_side
    return ", ".join(
        f"{storage.resize_url(media_id, dims, **options)} {descriptor}"
        for dims, descriptor in candidates
        if max(dims) <= limit
    )


def media_picture(
    storage: Storage,
    media_id: str,
    size: Size,
    *,
    alt: str = "",
    formats: Iterable[str] = PICTURE_FORMATS,
    fallback: str = "jpg",
    loading: str = "lazy",
    **options: Any,
) -> Markup:
    """A ``<picture>`` with AVIF/WebP sources and a JPEG ``<img>``.

    The format is part of every URL, so this is safe behind any CDN with no
    ``Vary: Accept``. Quality, if given, applies to every lossy format. The
    ``<img>`` carries the ``width`` and ``height`` the resize will have (see
    :func:`output_size`), so the page keeps its layout while it loads.
    """
    sources = "".join(
        f'<source type="image/{fmt}" srcset="{escape(media_srcset(storage, media_id, size, format=fmt, **options))}">'
        for fmt in formats
    )
    src = media_url(storage, media_id, size, format=fallback, **options)
    fallback_srcset = media_srcset(storage, media_id, size, format=fallback, **options)
    width, height = output_size(storage, media_id, size, options)
    dims = "".join(f' {name}="{value}"' for name, value in (("width", width), ("height", height)) if value)
    img = (
        f'<img src="{escape(src)}" srcset="{escape(fallback_srcset)}" alt="{escape(alt)}"'
        f'{dims} loading="{escape(loading)}" decoding="async">'
    )
    return Markup(f"<picture>{sources}{img}</picture>")


def media_info(storage: Storage, media_id: str) -> dict[str, Any]:
    """The media info of an original (:meth:`~shiftmedia.storage.Storage.info`) as a dict, for templates:
    ``width``, ``height``, ``blurhash``, ``dominant_color``…"""
    return storage.info(media_id).to_json()


def output_size(storage: Storage, media_id: str, size: Size, options: Mapping[str, Any]) -> tuple[int, int]:
    """The size the resize of ``size`` with ``options`` will have, planned from the original's media info;
    where that cannot be read (an unknown id), the size asked for, ``0`` for a side left to the aspect."""
    try:
        facts = storage.info(media_id)
        spec = storage.keys.spec(size, None, {name: value for name, value in options.items() if name != "format"})
        return make_plan((facts.width, facts.height), spec, storage.limits).canvas
    except ShiftMediaError:
        return parse_size(size)
