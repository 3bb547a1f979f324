"""The library's log lines under gunicorn with the shipped settings: one JSON line per media request,
in gunicorn's error log, next to gunicorn's own lines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from shiftmedia.backends.local import LocalBackend
from shiftmedia.storage import Storage

from .conftest import FIXTURES, SECRET_KEYS
from .servers.http import fetch
from .servers.service import Service

pytestmark = pytest.mark.integration

#: A query a presigned or tokenised URL might carry: it must never reach a log line.
SECRET_QUERY = "X-Amz-Signature=f00dfeedsecretsignature&token=letmein-0123456789"
#: gunicorn's error log format: ``[time] [pid] [LEVEL] message``.
ERROR_LINE = re.compile(r"^\[[^\]]+\] \[(?P<pid>\d+)\] \[(?P<level>[A-Z]+)\] (?P<message>.*)$")


def start(tmp_path: Path, **env: str) -> tuple[Service, list[tuple[str, str, int, str]]]:
    """gunicorn on a local root holding one image; the media requests to send as
    ``(method, path with query, status, outcome)``."""
    root = tmp_path / "media"
    service = Service({}, tmp_path / "gunicorn.log")
    public_url = f"{service.base}/media"
    storage = Storage(LocalBackend(root, public_url), SECRET_KEYS)
    media_id = storage.put(FIXTURES / "webp_alpha_300x300.webp")
    original = storage.original_key(media_id)
    missing = f"{original.rsplit('/', 1)[0]}/missing.jpg"
    access = f"access={storage.access.signer.token(original)}"
    derivative = storage.resize_key(media_id, "120x90", mode="fill", format="jpg")
    stem, ext = storage.resize_key(media_id, "64").rsplit(".", 1)
    forged = f"{stem[:-43]}{'A' * 43}.{ext}"
    service.settings = {
        "SHIFTMEDIA_STORAGE": "local",
        "SHIFTMEDIA_LOCAL_ROOT": str(root),
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_PUBLIC_URL": public_url,
        **env,
    }
    requests = [
        ("GET", derivative, "", 200, "created"),
        ("GET", derivative, SECRET_QUERY, 200, "stored"),
        ("HEAD", derivative, "", 200, "stored"),
        ("GET", original, access, 200, "streamed"),
        ("GET", original, "", 403, "PrivateOriginal"),
        ("GET", missing, f"access={storage.access.signer.token(missing)}&{SECRET_QUERY}", 404, "NotFound"),
        ("GET", forged, "", 403, "BadSignature"),
    ]
    return service.start(), [
        (method, f"/media/{quote(key)}" + (f"?{query}" if query else ""), status, outcome)
        for method, key, query, status, outcome in requests
    ]


def json_lines(log: str) -> list[tuple[int, str, dict[str, object]]]:
    """``(pid, level, object)`` of each error-log line whose message is a JSON object."""
    found = []
    for line in log.splitlines():
        match = ERROR_LINE.match(line)
        if match and match["message"].startswith("{"):
            found.append((int(match["pid"]), match["level"], json.loads(match["message"])))
    return found


def test_each_media_request_is_one_json_line_in_the_error_log(tmp_path: Path) -> None:
    service, requests = start(tmp_path)
    try:
        assert service.process is not None
        master = service.process.pid
        for method, path, status, _outcome in requests:
            assert fetch(f"{service.base}{path}", method=method).status == status, path
        assert fetch(f"{service.base}/livez").status == 200
    finally:
        service.stop()
    log = service.log()
    lines = json_lines(log)
    assert len(lines) == len(requests), log
    for (pid, level, line), (method, path, status, outcome) in zip(lines, requests, strict=True):
        assert pid != master and level == "INFO"
        assert {"method", "path", "status", "outcome", "ms"} <= line.keys()
        assert (line["method"], line["path"], line["status"], line["outcome"]) == (
            method,
            path.split("?", 1)[0],
            status,
            outcome,
        )
        assert isinstance(line["ms"], float | int) and line["ms"] >= 0
    for secret in (*SECRET_KEYS, "f00dfeedsecretsignature", "letmein", "X-Amz-Signature", "token="):
        assert secret not in log, f"{secret!r} reached gunicorn's output"
    # gunicorn's own loggers still work: the error log (booting) and the access log (one line per request).
    assert re.search(r"\[INFO\] Booting worker with pid", log)
    access = [line for line in log.splitlines() if line.startswith("127.0.0.1 [")]
    assert len(access) == len(requests) + 2, "the requests, /livez and the readiness probe's /healthz"


def test_log_level_warning_turns_the_request_lines_off(tmp_path: Path) -> None:
    service, requests = start(tmp_path, GUNICORN_CMD_ARGS="--log-level warning")
    try:
        for method, path, status, _outcome in requests:
            assert fetch(f"{service.base}{path}", method=method).status == status
    finally:
        service.stop()
    log = service.log()
    assert json_lines(log) == []
    assert "[INFO]" not in log
