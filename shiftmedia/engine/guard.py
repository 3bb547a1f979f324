"""Keep what Pillow raises and warns inside the engine.

Pillow signals a bad input with many unrelated exception types (``OSError`` for
truncation, ``SyntaxError`` for a bad header, ``struct.error`` or ``IndexError``
from a plugin reading past a short field, ...). Callers of the engine should
catch one hierarchy, so every engine entry point runs inside :func:`pillow_errors`.

Pillow also *warns* about inputs it reads anyway: corrupt EXIF or TIFF tags it
skips, a malformed MPO it reads as a plain JPEG, an invalid APNG it shows as
its still image, an image over its own decompression-bomb threshold that
:class:`~.limits.Limits` allows. None of these is the caller's business, and
a warning would reach whatever the process does with warnings (a log, an
error under ``-W error``). Inside :func:`pillow_errors` each one becomes a
line on the ``shiftmedia.engine`` logger instead, whatever the caller's
warning filters say.

Python's own tool for that, ``warnings.catch_warnings``, swaps the process's
filters and ``showwarning`` and puts them back on exit: two renders on two
threads that overlap (the service runs several) would put back each other's,
and leave every later warning of the process recorded into a dead list. So
the set-up is made once for as long as any engine call runs (:class:`_Quiet`,
counted under a lock): one filter that shows every Pillow warning, and a
``showwarning`` that logs those raised on a thread inside an engine call and
hands every other one to the ``showwarning`` it replaced. While an engine
call runs, other threads therefore see Pillow's warnings shown even where
their filters would ignore them; nothing else changes for them.
"""

from __future__ import annotations

import logging
import struct
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TextIO

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

PILLOW_MODULES = r"(PIL|pillow_heif)\."
"""The modules (a regular expression over the name) whose warnings are always
shown while the engine runs, so that the engine sees them all: Pillow's, and
pillow-heif's (:mod:`.heif`)."""

logger = logging.getLogger("shiftmedia.engine")


@contextmanager
def pillow_errors() -> Iterator[None]:
    """Re-raise decoder failures as :class:`InvalidImage` and bomb checks as
    :class:`LimitExceeded`, and log Pillow's warnings instead of showing them;
    shiftmedia's own errors pass through unchanged."""
    with _quiet():
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


def log_warning(message: Warning | str, category: type[Warning]) -> None:
    """Log a warning raised on a thread inside an engine call.

    Pillow's decompression-bomb warning is information: the image is within
    :class:`~.limits.Limits`, which the caller set above Pillow's threshold.
    Every other one is a warning: mostly a defect of the image that Pillow
    worked around (the image still renders), which an operator may want to
    see when a picture looks wrong.
    """
    if issubclass(category, Image.DecompressionBombWarning):
        logger.info("image over Pillow's decompression-bomb threshold, within the limits: %s", message)
    else:
        logger.warning("image engine %s: %s", category.__name__, message)


class _Quiet:
    """The warnings set-up in force while any thread runs inside an engine call.

    The first call to enter puts the filter at the front of the process's
    filters and the dispatcher in ``warnings.showwarning``; the last to leave
    takes both out again, from the list it was put in and from the one in
    force then (another thread's ``catch_warnings`` may have copied it), so
    that a filter list someone else swapped in meanwhile never keeps it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._inside = threading.local()
        self._filter: Any = None
        self._filters: Sequence[Any] = []
        self._replaced = warnings.showwarning
        self._dispatcher = self._show

    @contextmanager
    def __call__(self) -> Iterator[None]:
        """Run the body with this thread's warnings logged; nested calls share the outer one."""
        if getattr(self._inside, "active", False):
            yield
            return
        self._enter()
        self._inside.active = True
        try:
            yield
        finally:
            self._inside.active = False
            self._leave()

    def _enter(self) -> None:
        with self._lock:
            if self._calls == 0:
                warnings.filterwarnings("always", module=PILLOW_MODULES)
                self._filters = warnings.filters
                self._filter = self._filters[0]
                if warnings.showwarning is not self._dispatcher:
                    self._replaced = warnings.showwarning
                    warnings.showwarning = self._dispatcher
            self._calls += 1

    def _leave(self) -> None:
        with self._lock:
            self._calls -= 1
            if self._calls == 0:
                lists = (self._filters,) if warnings.filters is self._filters else (self._filters, warnings.filters)
                for filters in lists:
                    if isinstance(filters, list):
                        with suppress(ValueError):
                            filters.remove(self._filter)
                if warnings.showwarning is self._dispatcher:
                    warnings.showwarning = self._replaced

    def _show(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """``warnings.showwarning`` while the set-up is in force: log this
        thread's warning inside an engine call, hand any other on."""
        if getattr(self._inside, "active", False):
            log_warning(message, category)
        else:
            self._replaced(message, category, filename, lineno, file, line)


_quiet = _Quiet()
