"""Bombs are refused from their headers, fast and without the memory a decode takes, and the
worst work the limits let through fits the service's budget; each measured in a fresh process.

The 280-megapixel JPEG is refused from its header. The two animations of the hardening issue
(44 frames of 4096×4096 behind a 1×1 first frame; 9,000 tiny frames padded to 400×300) are
refused from the GIF's blocks and the plan. The slow test renders the worst animations within
the default :class:`Limits` (most frames, most decoded pixels and most output pixels at once, of
noise with noisy alpha, which costs libwebp the most) and holds them to the service's budget.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from shiftmedia.backends.local import LocalBackend
from shiftmedia.engine import Limits
from shiftmedia.errors import LimitExceeded
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS
from .engine.conftest import Samples

BUDGET_SECONDS = 20.0
"""The service's resize timeout (``SHIFTMEDIA_RESIZE_TIMEOUT``'s default)."""

BUDGET_MIB = 512
"""Peak RSS growth allowed for one render."""

#: Measured in a fresh interpreter, warmed up on a tiny JPEG (Pillow loads its plugins on first use):
#: peak RSS (VmHWM) after the refusal minus the peak before it, and the time of each refusal.
PROBE = r"""
import json, sys, time
from shiftmedia.engine import Limits, probe, render
from shiftmedia.errors import LimitExceeded
from shiftmedia.spec import ResizeSpec

def peak_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

import io
from PIL import Image

data = open(sys.argv[1], "rb").read()
spec = ResizeSpec.create("400x400", mode="fill", format="jpg")
warm = io.BytesIO()
Image.new("L", (64, 64)).save(warm, "JPEG")
render(warm.getvalue(), spec)
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = peak_kib()
results = {}
for name, call in (("probe", lambda: probe(data)), ("render", lambda: render(data, spec))):
    started = time.perf_counter()
    try:
        call()
    except LimitExceeded:
        results[name] = time.perf_counter() - started
results["peak_mib"] = (peak_kib() - before) / 1024
print(json.dumps(results))
"""


def test_bomb_is_refused_without_decoding(fixtures: Path) -> None:
    bomb = fixtures / "bomb_280mp_20000x14000.jpg"
    output = subprocess.run([sys.executable, "-c", PROBE, str(bomb)], capture_output=True, text=True, check=True)
    results = json.loads(output.stdout)
    print(
        f"\nbomb refused: probe {results['probe'] * 1000:.2f} ms, render {results['render'] * 1000:.2f} ms, "
        f"peak memory +{results['peak_mib']:.1f} MiB"
    )
    assert set(results) == {"probe", "render", "peak_mib"}, "both entry points must raise LimitExceeded"
    assert results["peak_mib"] < 30
    assert results["probe"] < 0.05 and results["render"] < 0.05


def test_bomb_upload_is_refused_and_nothing_is_stored(fixtures: Path, tmp_path: Path) -> None:
    storage = Storage(LocalBackend(tmp_path / "media", PUBLIC_URL), SECRET_KEYS)
    with pytest.raises(LimitExceeded):
        storage.put(fixtures / "bomb_280mp_20000x14000.jpg")
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.*"))


#: Probe or render per spec in a fresh interpreter, warmed up on tiny animated GIF and WebP (so the
#: plugins and codecs are loaded): seconds, frames or refusal, and peak RSS growth (VmHWM after the
#: reset minus VmRSS before).
RENDER = r"""
import io, json, sys, time
from PIL import Image
from shiftmedia.engine import probe, render
from shiftmedia.errors import LimitExceeded
from shiftmedia.spec import ResizeSpec

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))

for pillow_format, name in (("GIF", "8x8-fit-0-noupscale.gif"), ("WEBP", "8x8-fit-80-noupscale.webp")):
    warm = io.BytesIO()
    Image.new("RGBA", (16, 16)).save(warm, pillow_format, save_all=True, append_images=[Image.new("RGBA", (16, 16), 9)])
    render(warm.getvalue(), ResizeSpec.parse(name))
data = open(sys.argv[1], "rb").read()
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = status("VmRSS")
results = {}
for name in sys.argv[2:]:
    started = time.perf_counter()
    try:
        outcome = probe(data).frames if name == "probe" else render(data, ResizeSpec.parse(name)).frames
    except LimitExceeded as exc:
        outcome = "refused: " + str(exc)
    results[name] = {"seconds": time.perf_counter() - started, "outcome": outcome}
results["peak_mib"] = (status("VmHWM") - before) / 1024
print(json.dumps(results))
"""


def _measure(path: Path, *names: str) -> dict[str, object]:
    """Probe or render ``path`` per each of ``names`` (``probe`` or a spec name) in a fresh process."""
    command = [sys.executable, "-c", RENDER, str(path), *names]
    output = subprocess.run(command, check=False, capture_output=True, text=True)
    assert output.returncode == 0, output.stderr
    results: dict[str, object] = json.loads(output.stdout)
    print(f"\n{path.name}: {results}")
    return results


def test_animation_bombs_are_refused_without_decoding(tmp_path: Path) -> None:
    huge = tmp_path / "huge_frames_behind_a_tiny_one.gif"
    huge.write_bytes(Samples.block_gif((1, 1), [(0, 0, 1, 1)] + [(0, 0, 4096, 4096)] * 43))
    tiny = tmp_path / "nine_thousand_tiny_frames.gif"
    tiny.write_bytes(Samples.block_gif((1, 1), [(0, 0, 1, 1)] * 9000))
    for path in (huge, tiny):
        results = _measure(path, "probe", "400x300-pad-0-upscale.gif", "400x300-pad-80-upscale.webp")
        peak = results.pop("peak_mib")
        assert isinstance(peak, float) and peak < 30
        for result in results.values():
            assert isinstance(result, dict) and str(result["outcome"]).startswith("refused")
            assert result["seconds"] < 1.0


def _noise(size: tuple[int, int]) -> Image.Image:
    """Random colour over random alpha in four levels: as costly to encode as pixels get, and
    still small enough as a lossy WebP source to fit the input limit."""
    pixels = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    alpha = os.urandom(size[0] * size[1]).translate(bytes((value & 3) * 85 for value in range(256)))
    pixels.putalpha(Image.frombytes("L", size, alpha))
    return pixels


def _animated_webp(path: Path, frames: list[Image.Image], **options: object) -> Path:
    frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:], duration=40, **options)
    assert path.stat().st_size <= Limits().max_input_bytes
    return path


@pytest.mark.slow
def test_the_worst_animations_within_the_limits_fit_the_budget(tmp_path: Path) -> None:
    """Every limit at once: the most frames, of noise as big as the decoded-pixel limit allows (at
    a quality that keeps the file just under 50 MiB, so decoding costs the most), each resampled
    to as many output pixels as the output limit allows; the same from the fewest, biggest frames;
    and the most frames of tiny noise enlarged, whose smooth noisy alpha costs libwebp the most."""
    limits = Limits()
    side = math.isqrt(limits.max_frame_pixels // limits.max_frames)
    out = math.isqrt(limits.max_output_pixels // limits.max_frames)
    big = math.isqrt(limits.max_frame_pixels // 2)
    out_big = math.isqrt(limits.max_output_pixels // 2)
    many = [_noise((side, side)) for _ in range(limits.max_frames)]
    tiny = [_noise((8, 8)) for _ in range(limits.max_frames)]
    cases = {
        _animated_webp(tmp_path / "many.webp", many, quality=95, method=0): [
            f"{out}x{out}-fill-80-noupscale.webp",
            f"{out}x{out}-pad-0-noupscale-bg00000000.gif",
            "probe",
        ],
        _animated_webp(tmp_path / "tiny.webp", tiny, lossless=True): [f"{out}x{out}-fill-80-upscale.webp"],
        _animated_webp(tmp_path / "few.webp", [_noise((big, big)) for _ in range(2)], quality=60, method=0): [
            f"{out_big}x{out_big}-fill-80-noupscale.webp",
            "4096x4096-fill-0-upscale.png",
            "probe",
        ],
    }
    for path, names in cases.items():
        for name in names:
            results = _measure(path, name)
            result = results[name]
            assert isinstance(result, dict) and isinstance(result["outcome"], int), result
            assert result["seconds"] < BUDGET_SECONDS
            assert isinstance(results["peak_mib"], float) and results["peak_mib"] <= BUDGET_MIB
