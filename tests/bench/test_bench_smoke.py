"""Smoke tests of the benchmark's own parts, on small synthetic inputs (no peer venv needed)."""

from __future__ import annotations

import ast
import http.server
import io
import math
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from shiftmedia.engine.encode import PROGRESSIVE_MIN_PIXELS
from tests.bench.common import Settings as BenchSettings
from tests.bench.common import size_ok, table
from tests.bench.http_load import LoadClient
from tests.bench.local_engines import naive_pillow, ours
from tests.bench.overhead_bench import bench_overhead, print_overhead
from tests.bench.quality import psnr, psnr_of_encoded, reference, upright_srgb
from tests.bench.run import Target, clean_json
from tests.bench.servers import ManagedServer, _alive, free_port, thumbor_config
from tests.bench.stats import fmt, geomean, median, ratio
from tests.bench.workloads import FILL_400, FIT_1280, JPEG_SAVES, WORKLOADS
from tests.conftest import FIXTURES


def jpeg(size: tuple[int, int], orientation: int = 1) -> bytes:
    """A gradient JPEG with an EXIF orientation."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def test_stats() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert math.isnan(median([]))
    assert geomean([1.0, 100.0]) == pytest.approx(10.0)
    assert math.isnan(geomean([1.0, 0.0]))
    assert ratio(3.0, 2.0) == 1.5
    assert math.isnan(ratio(1.0, 0.0))
    assert fmt(math.nan) == "-"
    assert fmt(math.inf) == "inf"
    assert fmt(1.234, 2) == "1.23"


def test_workload_sizes() -> None:
    assert FILL_400.target_size((6000, 4000)) == (400, 400)
    assert FIT_1280.target_size((5760, 3840)) == (1280, 853)
    assert FIT_1280.target_size((800, 600)) == (800, 600)
    assert FIT_1280.size == "1280"
    assert FILL_400.size == "400x400"
    assert size_ok((1280, 854), (1280, 853))
    assert not size_ok((1280, 850), (1280, 853))


def test_psnr_known_values() -> None:
    black = Image.new("RGB", (8, 8), (0, 0, 0))
    grey = Image.new("RGB", (8, 8), (10, 10, 10))
    assert psnr(black, black) == math.inf
    assert psnr(grey, black) == pytest.approx(10 * math.log10(255**2 / 100))
    with pytest.raises(ValueError):
        psnr(black, Image.new("RGB", (4, 4)))


def test_psnr_of_encoded_allows_one_pixel_of_rounding() -> None:
    image = Image.new("RGB", (11, 9), (40, 80, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    assert psnr_of_encoded(out.getvalue(), Image.new("RGB", (10, 9), (40, 80, 120))) == math.inf
    with pytest.raises(ValueError):
        psnr_of_encoded(out.getvalue(), Image.new("RGB", (20, 9)))


def test_reference_is_upright_and_sized() -> None:
    upright = upright_srgb(jpeg((900, 600), orientation=6))
    assert upright.size == (600, 900)
    assert reference(upright, FILL_400).size == (400, 400)
    assert reference(upright, FIT_1280).size == (600, 900)


def test_local_engines_close_to_reference() -> None:
    data = jpeg((1800, 1200), orientation=8)
    expected = reference(upright_srgb(data), FILL_400)
    for engine in (ours, naive_pillow):
        out = engine(data, FILL_400)
        with Image.open(io.BytesIO(out)) as image:
            assert image.size == (400, 400)
        assert psnr_of_encoded(out, expected) > 30


def test_table_and_targets() -> None:
    text = table(["image", "ms"], [["a.jpg", "1.0"], ["longer.jpg", "10.5"]])
    assert text.splitlines()[0].startswith("image")
    assert text.splitlines()[2].endswith(" 1.0")
    assert Target("t", 0.8, 0.9, True, "x").verdict == "PASS"
    assert Target("t", 2.0, 3.0, False, "x").verdict == "FAIL"
    assert Target("t", math.nan, 3.0, False, "x").verdict == "N/A"
    assert clean_json({"a": math.nan, "b": [math.inf, 1.0], "c": Path("/x")}) == {
        "a": None,
        "b": [None, 1.0],
        "c": "/x",
    }


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda workload: workload.name)
def test_pyvips_same_save_writes_what_our_engine_writes(workload) -> None:
    with Image.open(io.BytesIO(ours(jpeg((2400, 1600)), workload))) as image:
        progressive = bool(image.info.get("progressive"))
        assert image.size[0] * image.size[1] >= PROGRESSIVE_MIN_PIXELS
    assert progressive and JPEG_SAVES["same"]["interlace"] is True
    assert JPEG_SAVES["same"]["optimize_coding"] is True and JPEG_SAVES["same"]["Q"] == JPEG_SAVES["default"]["Q"]


def test_thumbor_config_is_python() -> None:
    lines = thumbor_config(Path("/images")).splitlines()
    settings = {name: ast.literal_eval(value) for name, value in (line.split(" = ", 1) for line in lines)}
    assert settings["LOADER"] == "thumbor.loaders.file_loader"
    assert settings["RESULT_STORAGE"] == "thumbor.result_storages.no_storage"
    assert settings["RESPECT_ORIENTATION"] is True
    assert settings["QUALITY"] == 85


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _CountingServer(http.server.ThreadingHTTPServer):
    """An HTTP/1.1 server (keep-alive allowed) that counts the connections it accepts."""

    connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)


@pytest.fixture
def http_server() -> Iterator[_CountingServer]:
    server = _CountingServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_load_client_opens_a_connection_per_request(http_server: _CountingServer) -> None:
    with LoadClient("127.0.0.1", http_server.server_address[1], 2) as client:
        batch = client.run([f"/{n}" for n in range(6)])
        batch_again = client.run(["/x", "/y"])
    assert [reply.body for reply in batch.replies] == [f"/{n}".encode() for n in range(6)]
    assert all(reply.status == 200 for reply in batch_again.replies)
    assert http_server.connections == 8


def test_managed_server_starts_and_stops(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    server = ManagedServer("http.server", argv, port=port, env={}, cwd=tmp_path, log=tmp_path / "log")
    server.start("/")
    pids = server.pids()
    server.stop()
    assert pids and not any(_alive(pid) for pid in pids)


@pytest.mark.integration
def test_overhead_bench_runs_through_the_shipped_config(tmp_path: Path, fixtures: Path) -> None:
    image = fixtures / "jpeg_progressive_1280x960.jpg"
    checks: list[str] = []
    runs = bench_overhead([image], {image: image.read_bytes()}, BenchSettings.for_run(True), tmp_path, checks)
    assert checks == []
    summary = print_overhead(runs, [image])
    for workload in WORKLOADS:
        assert len(runs[workload.name]["http"][image.name]) == len(runs[workload.name]["engine"][image.name]) == 1
        assert summary[workload.name]["ratio"] > 1.0 and summary[workload.name]["added_ms"] > 0
    assert "/media/" in (tmp_path / "overhead-access.log").read_text()


def test_the_warm_section_measures_both_runs_and_the_engine(tmp_path: Path) -> None:
    from tests.bench.warm_bench import bench_warm, print_warm

    images = [FIXTURES / "jpeg_progressive_1280x960.jpg", FIXTURES / "exif_orient_6.jpg"]
    settings = BenchSettings(quick=True, engine_reps=1, http_rounds=1, http_batch=1, memory_runs=1, max_images=3)
    runs = bench_warm(images, {path: path.read_bytes() for path in images}, settings, tmp_path)
    assert runs["derivatives"] == 4 and all(len(values) == 1 for values in runs["seconds"].values())
    summary = print_warm(runs)
    assert summary["rate_ratio"] > 0 and summary["cost_ratio"] > 0
