"""Template helpers: an original's URL, a signed resize URL, a ``srcset``, a ``<picture>``.

Each takes the :class:`~shiftmedia.storage.Storage` to sign with; the
extension binds them to its storage as the Jinja globals ``media_url``,
``media_srcset`` and ``media_picture``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

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
    ``Vary: Accept``. Quality, if given, applies to every lossy format.
    """
    sources = "".join(
        f'<source type="image/{fmt}" srcset="{escape(media_srcset(storage, media_id, size, format=fmt, **options))}">'
        for fmt in formats
    )
    src = media_url(storage, media_id, size, format=fallback, **options)
    fallback_srcset = media_srcset(storage, media_id, size, format=fallback, **options)
    width, height = parse_size(size)
    dims = "".join(f' {name}="{value}"' for name, value in (("width", width), ("height", height)) if value)
    img = (
        f'<img src="{escape(src)}" srcset="{escape(fallback_srcset)}" alt="{escape(alt)}"'
        f'{dims} loading="{escape(loading)}" decoding="async">'
    )
    return Markup(f"<picture>{sources}{img}</picture>")
