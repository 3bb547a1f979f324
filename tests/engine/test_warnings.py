"""No Pillow warning reaches the caller: each becomes a log line on ``shiftmedia.engine``.

Every input here makes Pillow warn while it reads it anyway (before the fix,
each of these warnings came out of ``render`` and ``probe``). The caller
records every warning (``simplefilter("always")``) around each entry point
and must see none; the log must say what Pillow said.
"""

from __future__ import annotations

import io
import logging
import struct
import subprocess
import sys
import threading
import warnings
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import ExifTags, Image

from shiftmedia.engine import Limits, colour, probe, render
from shiftmedia.engine.guard import pillow_errors
from shiftmedia.spec import FORMATS, ResizeSpec

from .conftest import Samples

LOGGER = "shiftmedia.engine"


Entry = tuple[int, int, int, bytes]
"""A TIFF tag: number, type, count and its value's bytes."""


def _ifd(entries: Sequence[Entry], start: int) -> tuple[bytes, bytes]:
    """A little-endian TIFF IFD at offset ``start`` and the values that follow
    it. A value over 4 bytes is placed after the IFD; one of 4 bytes or fewer
    sits in the entry, which is also how an entry claims data anywhere: an
    offset of 4 bytes as its value, with a count too large to fit."""
    table = struct.pack("<H", len(entries))
    extra = b""
    after = start + 2 + 12 * len(entries) + 4
    for tag, kind, count, value in entries:
        if len(value) > 4:
            table += struct.pack("<HHII", tag, kind, count, after + len(extra))
            extra += value
        else:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
    return table + struct.pack("<I", 0), extra


def _short(value: int) -> bytes:
    return struct.pack("<H", value)


def _long(value: int) -> bytes:
    return struct.pack("<I", value)


def tiff(size: tuple[int, int], strip: bytes, compression: int = 1, bits: int = 8, more: Sequence[Entry] = ()) -> bytes:
    """A one-strip grey TIFF written tag by tag, so that tags can be wrong in ways Pillow's writer refuses."""
    width, height = size

    def directory(strip_at: int) -> tuple[bytes, bytes]:
        entries = [
            (256, 4, 1, _long(width)),
            (257, 4, 1, _long(height)),
            (258, 3, 1, _short(bits)),
            (259, 3, 1, _short(compression)),
            (262, 3, 1, _short(1)),
            (273, 4, 1, _long(strip_at)),
            (277, 3, 1, _short(1)),
            (278, 4, 1, _long(height)),
            (279, 4, 1, _long(len(strip))),
            *more,
        ]
        return _ifd(sorted(entries), 8)

    table, extra = directory(0)
    table, extra = directory(8 + len(table) + len(extra))
    return b"II*\0" + _long(8) + table + extra + strip


def _grey_strip(size: tuple[int, int]) -> bytes:
    return Samples.quadrants(size).convert("L").tobytes()


def _exif(entries: Sequence[Entry]) -> bytes:
    table, extra = _ifd(entries, 8)
    return b"Exif\0\0II*\0" + _long(8) + table + extra


ORIENTATION_6 = (ExifTags.Base.Orientation, 3, 1, _short(6))

CORRUPT_EXIF = _exif([(ExifTags.Base.Make, 2, 100, _long(5000)), ORIENTATION_6])
"""An EXIF whose Make points past its end: Pillow skips it ("Tag data larger than file")."""


def _jpeg_with_app(marker: int, body: bytes) -> bytes:
    data = Samples.encode(Samples.quadrants((64, 48)), "JPEG", quality=95)
    return data[:2] + struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body + data[2:]


def _png_with(chunks: list[tuple[bytes, bytes]]) -> bytes:
    data = Samples.encode(Samples.quadrants((64, 48)), "PNG")
    header_end = 8 + 25
    added = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        for kind, body in chunks
    )
    return data[:header_end] + added + data[header_end:]


def _encoded_with_exif(pillow_format: str) -> Callable[[], bytes]:
    return lambda: Samples.encode(Samples.stored(Samples.quadrants((64, 48)), 6), pillow_format, exif=CORRUPT_EXIF)


WARNING_INPUTS: dict[str, tuple[Callable[[], bytes], str]] = {
    "jpeg-corrupt-exif": (_encoded_with_exif("JPEG"), "Tag data larger than file"),
    "png-corrupt-exif": (_encoded_with_exif("PNG"), "Tag data larger than file"),
    "webp-corrupt-exif": (_encoded_with_exif("WEBP"), "Tag data larger than file"),
    "jpeg-malformed-mpo": (
        lambda: _jpeg_with_app(0xE2, b"MPF\0II*\0" + _long(8) + b"\x01\x00" + b"\xff" * 10),
        "malformed MPO file",
    ),
    "apng-without-frames": (lambda: _png_with([(b"acTL", struct.pack(">II", 0, 0))]), "Invalid APNG"),
    "apng-two-actl": (lambda: _png_with([(b"acTL", struct.pack(">II", 1, 0))] * 2), "Invalid APNG"),
    "tiff-tag-with-too-many-values": (
        lambda: tiff((64, 48), _grey_strip((64, 48)), more=[(ExifTags.Base.Orientation, 3, 2, _short(6) + _short(6))]),
        "had too many entries",
    ),
    "tiff-exif-ifd-past-the-end": (
        lambda: tiff((64, 48), _grey_strip((64, 48)), more=[(ExifTags.IFD.Exif, 4, 1, _long(1 << 20)), ORIENTATION_6]),
        "Corrupt EXIF data",
    ),
    "tiff-gps-ifd-past-the-end": (
        lambda: tiff((64, 48), _grey_strip((64, 48)), more=[(ExifTags.IFD.GPSInfo, 4, 1, _long(1 << 20))]),
        "Corrupt EXIF data",
    ),
    "tiff-tag-past-the-end": (
        lambda: tiff((64, 48), _grey_strip((64, 48)), more=[(ExifTags.Base.Artist, 2, 4000, _long(1 << 20))]),
        "Tag data larger than file",
    ),
}
"""Inputs Pillow reads while warning, and a part of what it says."""


def _entry_points() -> list[tuple[str, Callable[[bytes], object]]]:
    points: list[tuple[str, Callable[[bytes], object]]] = [("probe", probe)]
    for fmt in FORMATS:
        for mode in ("fit", "fill"):
            spec = ResizeSpec.create((40, 30), mode=mode, format=fmt)
            points.append((f"{mode}.{fmt}", lambda data, spec=spec: render(data, spec)))
    return points


def _caught(call: Callable[[], object]) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


@pytest.mark.parametrize("name", WARNING_INPUTS)
def test_pillow_warnings_do_not_reach_the_caller(name: str, caplog: pytest.LogCaptureFixture) -> None:
    make, said = WARNING_INPUTS[name]
    data = make()
    with warnings.catch_warnings(record=True) as direct:
        warnings.simplefilter("always")
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image.getexif()
    assert direct, "the input should make Pillow warn"
    for entry, call in _entry_points():
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=LOGGER):
            caught = _caught(lambda call=call: call(data))
        assert not caught, f"{entry}: {[str(w.message) for w in caught]}"
        assert any(said in record.getMessage() for record in caplog.records), entry


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", ["fit", "pad"])
def test_palette_transparency_in_bytes_never_warns(fmt: str, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    """Pillow warns when a palette image with per-entry alpha is converted to
    RGB, L or P ("Transparency expressed in bytes"): the engine never does that."""
    picture = Samples.quadrants((64, 48)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    data = Samples.encode(picture, "PNG", transparency=bytes([0, 128, 255, 255]))
    spec = ResizeSpec.create((40, 40), mode=mode, format=fmt)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert not _caught(lambda: (probe(data), render(data, spec)))
    assert not caplog.records


BOMB_SIZE = (10_000, 9_000)
"""90 MP: over Pillow's warning threshold (89.5 MP), under its error one (179 MP)."""

WIDE_LIMITS = Limits(max_pixels=100_000_000, max_frame_pixels=100_000_000)


def _bomb_tiff() -> bytes:
    """A 90 MP 1-bit TIFF, all white, deflated to a few kB."""
    width, height = BOMB_SIZE
    return tiff(BOMB_SIZE, zlib.compress(b"\xff" * (width // 8 * height), 9), compression=8, bits=1)


def test_pillow_bomb_warning_is_logged_when_the_limits_allow_the_image(caplog: pytest.LogCaptureFixture) -> None:
    data = _bomb_tiff()
    for call in (
        lambda: probe(data, WIDE_LIMITS),
        lambda: render(data, ResizeSpec.create((50, 0), format="png"), WIDE_LIMITS),
    ):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=LOGGER):
            assert not _caught(call)
        assert [record.levelno for record in caplog.records] == [logging.INFO]
        assert "decompression-bomb" in caplog.records[0].getMessage()


@pytest.mark.parametrize("action", ["error", "ignore", "default", "always"])
def test_the_callers_filters_change_nothing(action: str, caplog: pytest.LogCaptureFixture) -> None:
    """Under ``-W error`` too, an image Pillow reads with a warning renders, and the warning is logged."""
    data = WARNING_INPUTS["jpeg-corrupt-exif"][0]()
    spec = ResizeSpec.create((40, 0), format="png")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.INFO, logger=LOGGER):
        warnings.simplefilter(action)
        assert render(data, spec).height == 30, "turned upright by the orientation Pillow still read"
    assert not caught
    assert len(caplog.records) == 1


def test_the_callers_warnings_set_up_is_put_back() -> None:
    filters, show = list(warnings.filters), warnings.showwarning
    render(WARNING_INPUTS["png-corrupt-exif"][0](), ResizeSpec.create((40, 0), format="png"))
    assert warnings.filters == filters and warnings.showwarning is show


def test_nested_engine_calls_share_the_set_up() -> None:
    filters, show = list(warnings.filters), warnings.showwarning
    with pillow_errors():
        inside = list(warnings.filters)
        with pillow_errors():
            assert warnings.filters == inside
        assert warnings.filters == inside
    assert warnings.filters == filters and warnings.showwarning is show


def test_other_threads_still_see_their_warnings_while_the_engine_runs(caplog: pytest.LogCaptureFixture) -> None:
    """A warning of a thread outside the engine goes where it went before, even
    while another thread's engine call has the set-up in force."""
    entered, done = threading.Event(), threading.Event()

    def engine_call() -> None:
        with pillow_errors():
            warnings.warn("inside the engine", UserWarning, stacklevel=1)
            entered.set()
            done.wait(10)

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.INFO, logger=LOGGER):
        warnings.simplefilter("always")
        worker = threading.Thread(target=engine_call)
        worker.start()
        assert entered.wait(10)
        warnings.warn("outside the engine", UserWarning, stacklevel=1)
        done.set()
        worker.join(10)
    assert [str(w.message) for w in caught] == ["outside the engine"]
    assert [record.getMessage() for record in caplog.records] == ["image engine UserWarning: inside the engine"]


def test_concurrent_renders_leak_nothing_and_put_everything_back() -> None:
    """Renders on eight threads, starting and ending in every order, with the
    caller recording: no warning is recorded, and the set-up is the caller's after."""
    inputs = [make() for make, _said in WARNING_INPUTS.values()]
    spec = ResizeSpec.create((30, 0), format="png")

    def renders(offset: int) -> None:
        for index in range(24):
            render(inputs[(offset + index) % len(inputs)], spec)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filters, show = list(warnings.filters), warnings.showwarning
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(renders, offset) for offset in range(8)]:
                future.result()
        assert warnings.filters == filters and warnings.showwarning is show
    assert not caught


def test_a_warning_on_a_band_thread_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A large output is made in bands on worker threads (:mod:`shiftmedia.engine.bands`):
    what Pillow says there is logged like everything else, not shown."""
    threads: list[str] = []
    convert = colour.srgb_pixels

    def warning_convert(image: Image.Image, keep_profile: bool = False) -> tuple[Image.Image, bytes | None]:
        threads.append(threading.current_thread().name)
        warnings.warn("said in a band", UserWarning, stacklevel=1)
        return convert(image, keep_profile)

    monkeypatch.setattr(colour, "srgb_pixels", warning_convert)
    data = Samples.encode(Samples.quadrants((1200, 900)), "PNG")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        caught = _caught(lambda: render(data, ResizeSpec.create((1000, 0), format="png")))
    assert len(threads) == 2 and any(name.startswith("shiftmedia-band") for name in threads), threads
    assert not caught, [str(w.message) for w in caught]
    assert [record.getMessage() for record in caplog.records] == ["image engine UserWarning: said in a band"] * 2


@pytest.mark.parametrize("action", ["ignore", "error", "default"])
def test_pillow_heif_warnings_are_logged_whatever_the_callers_filters(
    action: str, caplog: pytest.LogCaptureFixture
) -> None:
    """pillow-heif's own warnings count as Pillow's (``guard.PILLOW_MODULES``)."""
    pillow_heif = pytest.importorskip("pillow_heif")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.INFO, logger=LOGGER):
        warnings.simplefilter(action)
        with pillow_errors():
            pillow_heif.register_heif_opener(not_an_option=True)
    assert not caught
    assert [record.getMessage() for record in caplog.records] == [
        "image engine UserWarning: Unknown option: not_an_option"
    ]


def test_the_library_says_nothing_on_stderr_when_the_app_configures_no_logging() -> None:
    """A library leaves logging to the application: without a handler
    configured, a warning logged on ``shiftmedia.engine`` is not printed by
    Python's last-resort handler."""
    code = "import logging, shiftmedia; logging.getLogger('shiftmedia.engine').warning('a defect of an image')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stderr == ""
    configured = (
        "import logging, shiftmedia; logging.basicConfig(); logging.getLogger('shiftmedia.engine').warning('seen')"
    )
    done = subprocess.run([sys.executable, "-c", configured], capture_output=True, text=True, timeout=60, check=True)
    assert "seen" in done.stderr
