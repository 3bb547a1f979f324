"""The two resize workloads every engine and server runs, and the corpus they run on.

Pure Python with no third-party import, so the pyvips worker (in its own venv)
shares these definitions with the in-process engines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The repository root."""

QUALITY = 85
"""JPEG quality of every output."""

JPEG_SAVES: dict[str, dict[str, object]] = {
    "same": {"Q": QUALITY, "interlace": True, "optimize_coding": True},
    "default": {"Q": QUALITY},
}
"""pyvips ``jpegsave`` options. ``same`` writes the kind of JPEG our engine
writes for every workload here (progressive, optimised Huffman tables; each
output is over the engine's progressive threshold, which a smoke test checks);
``default`` is pyvips's own default, a baseline JPEG with the standard tables,
which encodes 3-7x faster at 1280 wide and is about 5 % larger."""

MEMORY_IMAGE = "cam_22mp_5760x3840.jpg"
"""The image whose resize the memory target is about."""


@dataclass(frozen=True)
class Workload:
    """One resize: ``fill`` crops to exactly ``width``×``height`` around the centre;
    ``fit`` scales to ``width`` wide (``height`` 0: from the aspect ratio), never up."""

    name: str
    label: str
    width: int
    height: int
    mode: str

    @property
    def size(self) -> str:
        """The size as our spec spells it: ``"400x400"`` or ``"1280"``."""
        return f"{self.width}x{self.height}" if self.height else str(self.width)

    def target_size(self, source: tuple[int, int]) -> tuple[int, int]:
        """The output size for an upright source of ``source`` pixels."""
        if self.mode == "fill":
            return self.width, self.height
        width, height = source
        if width <= self.width:
            return width, height
        return self.width, max(1, round(height * self.width / width))


FILL_400 = Workload("fill400", "400x400 fill", 400, 400, "fill")
FIT_1280 = Workload("fit1280", "1280 fit", 1280, 0, "fit")
WORKLOADS: tuple[Workload, ...] = (FILL_400, FIT_1280)
BY_NAME: dict[str, Workload] = {workload.name: workload for workload in WORKLOADS}


@dataclass(frozen=True)
class Corpus:
    """The images to run on, and whether they are the real corpus or the fallback."""

    images: tuple[Path, ...]
    source: str
    fallback: bool


def corpus_dir() -> Path:
    """``$SHIFTMEDIA_CORPUS``, else ``../shared/corpus`` beside the repository."""
    return Path(os.environ.get("SHIFTMEDIA_CORPUS") or REPO.parent / "shared" / "corpus")


def find_corpus() -> Corpus:
    """The corpus's ``cam_*.jpg`` photos, or ``tests/fixtures/*.jpg`` when the corpus is absent.

    Fixture files named ``bad_*`` are corrupt on purpose and left out.
    """
    directory = corpus_dir()
    cams = sorted(directory.glob("cam_*.jpg")) if directory.is_dir() else []
    if cams:
        return Corpus(tuple(cams), str(directory), fallback=False)
    fixtures = REPO / "tests" / "fixtures"
    images = sorted(path for path in fixtures.glob("*.jpg") if not path.name.startswith("bad_"))
    return Corpus(tuple(images), str(fixtures), fallback=True)
