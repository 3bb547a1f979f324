"""Translate what Pillow and its codecs raise into shiftmedia's errors.

Pillow signals a bad input with many unrelated exception types (``OSError`` for
truncation, ``SyntaxError`` for a bad header, ``struct.error`` or ``IndexError``
from a plugin reading past a short field, ...). Callers of the engine should
catch one hierarchy, so every engine entry point runs inside :func:`pillow_errors`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageCms, UnidentifiedImageError

from ..errors import InvalidImage, LimitExceeded, ShiftMediaError

DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    RuntimeError,
    ImageCms.PyCMSError,
)
"""Exception types Pillow's plugins raise on malformed input (``RuntimeError``
comes from the AVIF and WebP bindings when libavif or libwebp give up)."""


@contextmanager
def pillow_errors() -> Iterator[None]:
    """Re-raise decoder failures as :class:`InvalidImage` and bomb checks as
    :class:`LimitExceeded`; shiftmedia's own errors pass through unchanged."""
    try:
        yield
    except ShiftMediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LimitExceeded(f"image rejected as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage("not an image in a supported format") from exc
    except DECODE_ERRORS as exc:
        raise InvalidImage(f"cannot decode image: {exc}") from exc
