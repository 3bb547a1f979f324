"""The two engines that run in the project venv: ours and naive Pillow.

Each takes the encoded original and a :class:`Workload` and returns the encoded
JPEG, so the timing covers decode, resize and encode, as a request does.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageOps

from shiftmedia.engine import render
from shiftmedia.spec import ResizeSpec

from .workloads import QUALITY, Workload

EngineFn = Callable[[bytes, Workload], bytes]


def spec_for(workload: Workload, format: str = "jpg") -> ResizeSpec:
    """Our spec for ``workload``: q85, no upscaling, centre gravity."""
    return ResizeSpec.create(workload.size, mode=workload.mode, format=format, quality=QUALITY)


def ours(data: bytes, workload: Workload) -> bytes:
    """``shiftmedia.engine.render`` as the service calls it."""
    return render(data, spec_for(workload)).data


def naive_pillow(data: bytes, workload: Workload) -> bytes:
    """The textbook Pillow resize: full decode, ``exif_transpose``, one LANCZOS resize, q85."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        image = ImageOps.exif_transpose(opened).convert("RGB")
    size = workload.target_size(image.size)
    if workload.mode == "fill":
        image = ImageOps.fit(image, size, Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    else:
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


LOCAL_ENGINES: dict[str, EngineFn] = {"ours": ours, "pillow": naive_pillow}
"""The in-process engines by the name the tables use."""
