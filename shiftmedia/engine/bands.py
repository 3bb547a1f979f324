"""Make one large frame in bands, on two threads at once.

Everything after decoding works pixel by pixel or row by row on the output:
the resample (each output row reads only the source rows its filter spans),
the turn upright (a band of the stored result, turned, is a band or a column
of the upright one) and the colour conversion. So a large output is cut into
bands of rows as stored, each band is made start to finish on its own thread,
and the bands are pasted where they show. Pillow and LittleCMS release the
GIL while they work, so two bands run on two cores: a 1280-wide fit takes
about two thirds of the time.

The number of bands is a constant and the cut depends on the output size
only, never on the machine, so the same input and spec give the same bytes
everywhere. Small outputs are made whole, on the calling thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from .orient import displayed_size, upright_box

Rows = tuple[int, int]
"""First and past-the-last row of a band of the output."""

BANDS = 2
"""How many bands (and threads) a large output is made in."""

BANDED_MIN_PIXELS = 250_000
"""Outputs from about 500×500 up are made in bands; below, a thread costs more
than it saves."""


def cut(size: tuple[int, int]) -> list[Rows]:
    """The bands an output of ``size`` is made in, top to bottom."""
    width, height = size
    count = BANDS if width * height >= BANDED_MIN_PIXELS and height >= BANDS else 1
    edges = [height * index // count for index in range(count + 1)]
    return [(edges[index], edges[index + 1]) for index in range(count)]


def assemble(make: Callable[[Rows], Image.Image], stored: tuple[int, int], orientation: int) -> Image.Image:
    """The upright image made of ``make(rows)`` for each band of :func:`cut` of ``stored``.

    ``stored`` is the size of the result as stored, before ``orientation``
    turns it upright, and the bands are its rows. ``make`` returns its band
    already turned upright, in the same mode for every band, and each is
    pasted where it shows. The first band is made on the calling thread, the
    others on worker threads; an exception in any of them is raised here. The
    result has no ``info``.
    """
    rows = cut(stored)
    if len(rows) == 1:
        parts = [make(rows[0])]
    else:
        with ThreadPoolExecutor(max_workers=len(rows) - 1, thread_name_prefix="shiftmedia-band") as pool:
            others = [pool.submit(make, band) for band in rows[1:]]
            parts = [make(rows[0]), *(future.result() for future in others)]
    result = Image.new(parts[0].mode, displayed_size(stored, orientation))
    for (top, bottom), part in zip(rows, parts, strict=True):
        left, upper, _right, _lower = upright_box((0, top, stored[0], bottom), stored, orientation)
        result.paste(part, (int(left), int(upper)))
    return result
