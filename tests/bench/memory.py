"""Memory: peak RSS growth of one resize of the 22 MP JPEG, each in a fresh process."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from .common import ENGINE_LABELS, ENGINES, Settings, table, upright_size
from .peers import VIPS_PYTHON
from .stats import fmt
from .workloads import MEMORY_IMAGE, REPO, WORKLOADS, Corpus


def memory_image(images: list[Path], corpus: Corpus) -> Path:
    """The 22 MP JPEG, or the largest image when the corpus does not have it."""
    candidate = Path(corpus.source) / MEMORY_IMAGE
    if candidate.is_file():
        return candidate
    return max(images, key=lambda path: math.prod(upright_size(path)))


def run_probe(argv: list[str], what: str) -> dict[str, Any]:
    """The JSON object a probe in a fresh interpreter prints (run from the repository root); ``what`` names
    it in the error when it fails."""
    probe = subprocess.run(argv, check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        raise RuntimeError(f"{what} failed: {probe.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(probe.stdout)
    return result


def measure_memory(path: Path, have_vips: bool, settings: Settings) -> dict[str, dict[str, dict[str, Any]]]:
    """Peak RSS growth of one resize of ``path``: ``[workload][engine] -> {"mib", "runs"}`` (max over runs)."""
    pythons = {"ours": Path(sys.executable), "pillow": Path(sys.executable)}
    if have_vips:
        pythons["vips"] = VIPS_PYTHON
    result: dict[str, dict[str, dict[str, Any]]] = {w.name: {} for w in WORKLOADS}
    for workload in WORKLOADS:
        for engine, python in pythons.items():
            runs = []
            for _ in range(settings.memory_runs):
                argv = [str(python), "-m", "tests.bench.memory_probe", engine, workload.name, str(path)]
                runs.append(run_probe(argv, f"memory probe {engine} {workload.name}"))
            result[workload.name][engine] = {"mib": max(run["increase_kib"] for run in runs) / 1024, "runs": runs}
    return result


def print_memory(memory: dict[str, dict[str, dict[str, Any]]], path: Path, settings: Settings) -> None:
    """Print the memory table."""
    engines = [name for name in ENGINES if name in memory[WORKLOADS[0].name]]
    rows = [[w.label, *[fmt(memory[w.name][name]["mib"]) for name in engines]] for w in WORKLOADS]
    baseline = memory[WORKLOADS[0].name]["ours"]["runs"][0]["baseline_kib"] / 1024
    print(
        f"\nMemory: peak RSS increase (MiB) of one resize of {path.name}, fresh process, max of"
        f" {settings.memory_runs} run(s); our baseline RSS after imports and reading the file: {baseline:.1f} MiB"
    )
    print(table(["workload", *[ENGINE_LABELS[name] for name in engines]], rows))
