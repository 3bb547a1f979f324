"""Peak memory of one resize, run in a fresh interpreter:
``python -m tests.bench.memory_probe ENGINE WORKLOAD PATH``.

ENGINE is ``ours``, ``pillow`` (project venv) or ``vips`` (pyvips venv). The
probe first imports the engine and runs it once on a tiny image, so every
module and shared library is loaded, then reads the input file. That state is
the baseline. It resets the kernel's peak-RSS mark (``/proc/self/clear_refs``),
runs one resize and prints one JSON object: ``baseline_kib`` (VmRSS before),
``peak_kib`` (VmHWM after), ``increase_kib`` and ``reset`` (whether the mark
could be reset; if not, the baseline is the earlier peak, VmHWM).
Pillow allocates in C, so only the kernel's RSS accounting sees it all.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable

from .workloads import BY_NAME, Workload


def _status(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status``."""
    with open("/proc/self/status", encoding="ascii") as stream:
        for line in stream:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as stream:
            stream.write("5")
    except OSError:
        return False
    return True


def _engine(name: str) -> tuple[Callable[[bytes, Workload], object], bytes]:
    """The resize function for ``name`` and a tiny JPEG to warm it with."""
    if name == "vips":
        import pyvips

        from .vips_worker import resize

        pyvips.cache_set_max(0)
        tiny = pyvips.Image.black(64, 48, bands=3).write_to_buffer(".jpg")
        return resize, tiny
    from PIL import Image

    from .local_engines import LOCAL_ENGINES

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "gray").save(out, "JPEG")
    return LOCAL_ENGINES[name], out.getvalue()


def main(argv: list[str]) -> None:
    """Measure one resize and print the JSON object described in the module doc."""
    engine_name, workload_name, path = argv
    workload = BY_NAME[workload_name]
    resize, tiny = _engine(engine_name)
    resize(tiny, workload)
    with open(path, "rb") as stream:
        data = stream.read()
    reset = _reset_peak()
    baseline = _status("VmRSS") if reset else _status("VmHWM")
    resize(data, workload)
    peak = _status("VmHWM")
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "increase_kib": peak - baseline, "reset": reset}))


if __name__ == "__main__":
    main(sys.argv[1:])
