"""Hostile input: bombs, truncation and fuzzed bytes raise only shiftmedia errors."""

from __future__ import annotations

import contextlib
import io
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from shiftmedia.engine import probe, render
from shiftmedia.errors import LimitExceeded, ShiftMediaError
from shiftmedia.spec import ResizeSpec

SPEC = ResizeSpec.parse("40x30-fill-80-noupscale.webp")
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("builder", ["png_header", "jpeg_header"])
def test_header_bomb_is_refused_in_milliseconds(samples, builder: str) -> None:
    data = getattr(samples, builder)(20000, 14000)
    for entry in (probe, lambda d: render(d, SPEC)):
        started = time.perf_counter()
        with pytest.raises(LimitExceeded):
            entry(data)
        elapsed = time.perf_counter() - started
        print(f"{builder} refused in {elapsed * 1000:.2f} ms")
        assert elapsed < 0.5


def _seeds() -> list[bytes]:
    """Small valid files of every supported format, to mutate."""
    image = Image.effect_noise((24, 16), 50).convert("RGB")
    seeds = []
    for pillow_format in ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "TIFF", "BMP"):
        buffer = io.BytesIO()
        image.save(buffer, pillow_format)
        seeds.append(buffer.getvalue())
    return seeds


SEEDS = _seeds()


def _only_shiftmedia_errors(data: bytes) -> None:
    for entry in (probe, lambda d: render(d, SPEC)):
        with contextlib.suppress(ShiftMediaError):
            entry(data)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _only_shiftmedia_errors(data)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(len(data) // 2, len(data)))
    return bytes(data[:cut])


@FUZZ
@given(data=mutated(SEEDS))
def test_mutated_files(data: bytes) -> None:
    _only_shiftmedia_errors(data)


@FUZZ
@given(data=st.data())
def test_mutated_corpus_files(corpus, data: st.DataObject) -> None:
    small = sorted(p for p in corpus.iterdir() if p.suffix != ".md" and p.stat().st_size < 400_000)
    seeds = [path.read_bytes() for path in small]
    _only_shiftmedia_errors(data.draw(mutated(seeds)))
