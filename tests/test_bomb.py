"""The 280-megapixel bomb is refused from its header: fast, and without the memory a decode takes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shiftmedia.backends.local import LocalBackend
from shiftmedia.errors import LimitExceeded
from shiftmedia.storage import Storage

from .conftest import PUBLIC_URL, SECRET_KEYS

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
