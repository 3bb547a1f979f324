"""The files under deploy/ and the packaged gunicorn settings: each one loaded or checked by the
tool that will run it."""

from __future__ import annotations

import configparser
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from .conftest import REPO, SECRET_KEYS
from .servers.nginx import Nginx, NginxError, nginx_binary, render

DEPLOY = REPO / "deploy"
#: The gunicorn settings module: webapp/ ships as shiftmedia_webapp, so production says
#: ``gunicorn -c python:shiftmedia_webapp.gunicorn_conf``.
GUNICORN_CONF = REPO / "webapp" / "gunicorn_conf.py"
GUNICORN_CONF_MODULE = "python:shiftmedia_webapp.gunicorn_conf"
#: What the settings module reads besides ``SHIFTMEDIA_*``: the container conventions.
PLATFORM_NAMES = ("PORT", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR")
UNIT = DEPLOY / "systemd" / "shiftmedia.service"
TEMPLATE = DEPLOY / "cloudformation" / "cloudfront.yaml"
SITES = DEPLOY / "nginx"
#: The one thing ``systemd-analyze verify`` may report: the venv exists on servers, not here.
MISSING_GUNICORN = "Command /opt/shiftmedia/venv/bin/gunicorn is not executable: No such file or directory"
#: Highest acceptable ``systemd-analyze security`` exposure (0 = locked down, 10 = unprotected).
MAX_EXPOSURE = 2.0


def load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """The settings module's names, run afresh under ``env`` (other ``SHIFTMEDIA_*`` and
    :data:`PLATFORM_NAMES` unset)."""
    for name in list(os.environ):
        if name.startswith("SHIFTMEDIA_") or name in PLATFORM_NAMES:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_defaults_follow_cores_and_resize_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(monkeypatch)
    assert conf["wsgi_app"] == "shiftmedia_webapp:create_app()"
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["worker_class"] == "gthread" and conf["threads"] >= 2
    assert conf["workers"] == min(conf["usable_cores"](), conf["MAX_WORKERS"]) >= 1
    assert conf["timeout"] == 20 + conf["TIMEOUT_MARGIN"] and conf["graceful_timeout"] >= conf["timeout"]
    assert conf["keepalive"] > 60
    assert conf["max_requests"] > 0 and 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["raw_env"] == ["SHIFTMEDIA_MAX_CONCURRENT_RESIZES=1"]


def test_gunicorn_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(
        monkeypatch,
        SHIFTMEDIA_BIND="127.0.0.1:9001, unix:/run/shiftmedia/sock",
        SHIFTMEDIA_WORKERS="3",
        SHIFTMEDIA_THREADS="6",
        SHIFTMEDIA_RESIZE_TIMEOUT="45",
        SHIFTMEDIA_MAX_CONCURRENT_RESIZES="2",
    )
    assert conf["raw_env"] == ["SHIFTMEDIA_MAX_CONCURRENT_RESIZES=2"]
    assert conf["bind"] == ["127.0.0.1:9001", "unix:/run/shiftmedia/sock"]
    assert (conf["workers"], conf["threads"]) == (3, 6)
    assert conf["timeout"] == conf["graceful_timeout"] == 45 + conf["TIMEOUT_MARGIN"]
    with pytest.raises(ValueError, match="SHIFTMEDIA_WORKERS"):
        load_gunicorn_conf(monkeypatch, SHIFTMEDIA_WORKERS="0")


@pytest.mark.parametrize(
    ("env", "bind"),
    [
        ({"PORT": "5000"}, ["0.0.0.0:5000"]),
        ({"PORT": ""}, ["127.0.0.1:8000"]),
        ({"SHIFTMEDIA_BIND": "127.0.0.1:9001", "PORT": "5000"}, ["127.0.0.1:9001"]),
        ({"SHIFTMEDIA_BIND": " ", "PORT": "5000"}, ["0.0.0.0:5000"]),
    ],
    ids=["port", "empty-port", "shiftmedia-bind-wins", "empty-shiftmedia-bind"],
)
def test_gunicorn_bind_follows_port_unless_shiftmedia_bind(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], bind: list[str]
) -> None:
    assert load_gunicorn_conf(monkeypatch, **env)["bind"] == bind


@pytest.mark.parametrize(
    ("env", "workers"),
    [
        ({"WEB_CONCURRENCY": "5"}, 5),
        ({"SHIFTMEDIA_WORKERS": "3", "WEB_CONCURRENCY": "5"}, 3),
        ({"SHIFTMEDIA_WORKERS": "3", "WEB_CONCURRENCY": "not a number"}, 3),
        ({"SHIFTMEDIA_WORKERS": "", "WEB_CONCURRENCY": "5"}, 5),
    ],
    ids=["web-concurrency", "shiftmedia-workers-wins", "unread-when-shiftmedia-workers", "empty-shiftmedia-workers"],
)
def test_gunicorn_workers_follow_web_concurrency_unless_shiftmedia_workers(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], workers: int
) -> None:
    assert load_gunicorn_conf(monkeypatch, **env)["workers"] == workers


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a TCP port"),
        ({"PORT": "70000"}, "PORT must be a TCP port"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY must be at least 1"),
        ({"WEB_CONCURRENCY": "many"}, "WEB_CONCURRENCY must be a number"),
    ],
)
def test_gunicorn_rejects_bad_platform_values(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_gunicorn_conf(monkeypatch, **env)


def test_gunicorn_access_log_has_no_query_string(monkeypatch: pytest.MonkeyPatch) -> None:
    log_format = load_gunicorn_conf(monkeypatch)["access_log_format"]
    atoms = set(re.findall(r"%\((\w+)\)s", log_format))
    assert "U" in atoms
    assert not atoms & {"r", "q", "f"}, "request line, query and referer may carry presigned signatures"


def test_gunicorn_hooks_keep_prometheus_multiprocess_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    conf = load_gunicorn_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(folder))
    conf["on_starting"](None)
    assert folder.is_dir()
    (folder / "counter_123.db").write_bytes(b"stale")
    (folder / "gauge_livesum_456.db").write_bytes(b"stale")
    conf["on_starting"](None)
    assert list(folder.iterdir()) == []
    (folder / "gauge_livesum_456.db").write_bytes(b"")
    conf["child_exit"](None, SimpleNamespace(pid=456))
    assert not (folder / "gauge_livesum_456.db").exists()


def test_gunicorn_check_config_loads_the_installed_module(tmp_path: Path) -> None:
    """``gunicorn -c python:shiftmedia_webapp.gunicorn_conf`` from a folder outside the checkout:
    the settings and the app come from the installed package, and gunicorn itself binds ``$PORT``
    and starts ``$WEB_CONCURRENCY`` workers through them."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SHIFTMEDIA_", "S3_", "AWS_"))},
        "SHIFTMEDIA_SECRET_KEYS": ",".join(SECRET_KEYS),
        "SHIFTMEDIA_LOCAL_ROOT": str(tmp_path / "media"),
        "SHIFTMEDIA_RESIZE_TIMEOUT": "25",
        "PORT": "5123",
        "WEB_CONCURRENCY": "3",
    }
    for name in ("PYTHONPATH", "PROMETHEUS_MULTIPROC_DIR", "GUNICORN_CMD_ARGS"):
        env.pop(name, None)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")

    def run(flag: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [gunicorn, flag, "-c", GUNICORN_CONF_MODULE],
            env=env,
            cwd=outside,
            capture_output=True,
            text=True,
            check=False,
        )

    check = run("--check-config")
    assert check.returncode == 0, check.stderr
    printed = run("--print-config")
    assert printed.returncode == 0, printed.stderr
    settings = dict(re.findall(r"^(\w+)\s+= (.*)$", printed.stdout, re.MULTILINE))
    assert settings["config"] == GUNICORN_CONF_MODULE
    assert settings["worker_class"] == "gthread"
    assert settings["timeout"] == "35" and settings["graceful_timeout"] == "35"
    assert settings["wsgi_app"] == "shiftmedia_webapp:create_app()"
    assert settings["bind"] == "['0.0.0.0:5123']" and settings["workers"] == "3"
    assert list(outside.iterdir()) == [], "gunicorn wrote into its working folder"


def test_gunicorn_conf_import_writes_no_metrics(tmp_path: Path) -> None:
    """gunicorn's master imports the settings, and so the service package, before ``on_starting``
    prepares ``$PROMETHEUS_MULTIPROC_DIR``: that import must neither write metric files nor fail
    on a folder that does not exist yet (the workers create the app, and its metrics, later)."""
    prometheus = tmp_path / "prometheus"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTMEDIA_") and k not in PLATFORM_NAMES}
    result = subprocess.run(
        [sys.executable, "-c", "import shiftmedia_webapp.gunicorn_conf"],
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(prometheus)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not prometheus.exists()


def test_gunicorn_conf_module_is_the_checked_file() -> None:
    """The module gunicorn imports by name is webapp/gunicorn_conf.py (the editable install maps it)."""
    import shiftmedia_webapp.gunicorn_conf

    assert Path(shiftmedia_webapp.gunicorn_conf.__file__).resolve() == GUNICORN_CONF.resolve()


def read_unit() -> configparser.ConfigParser:
    """The unit as sections of settings; of a repeated key (Environment=) the last value is kept."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_systemd_unit_is_hardened() -> None:
    service = read_unit()["Service"]
    assert service["ExecStart"].split()[1:] == ["--config", GUNICORN_CONF_MODULE]
    assert service["EnvironmentFile"] == "/etc/shiftmedia/env"
    assert service["User"] == "shiftmedia" and service["Type"] == "notify"
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "RestrictSUIDSGID": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native",
    }
    assert {key: service.get(key) for key in expected} == expected
    media_root = re.search(r"^Environment=SHIFTMEDIA_LOCAL_ROOT=(\S+)$", UNIT.read_text(), re.MULTILINE)
    assert media_root, "the unit sets the default media root"
    assert any(media_root.group(1).startswith(path) for path in service["ReadWritePaths"].split())


def test_systemd_unit_stop_timeout_covers_graceful_shutdown(monkeypatch: pytest.MonkeyPatch) -> None:
    stop_seconds = int(read_unit()["Service"]["TimeoutStopSec"].removesuffix("s"))
    assert stop_seconds > load_gunicorn_conf(monkeypatch)["graceful_timeout"]


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    """The ``systemd-analyze`` executable; the suite fails without it rather than skip."""
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze not found: install Debian's systemd package (make test does)", pytrace=False)
    return path


def test_systemd_analyze_verify(systemd_analyze: str) -> None:
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(UNIT)], capture_output=True, text=True, timeout=60, check=False
    )
    reported = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    unexpected = [line for line in reported if not line.endswith(MISSING_GUNICORN)]
    assert unexpected == [], "\n".join(reported)


def test_systemd_analyze_security_exposure(systemd_analyze: str) -> None:
    result = subprocess.run(
        [systemd_analyze, "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_cloudformation_template_passes_cfn_lint() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    if not cfn_lint.exists():
        pytest.fail("cfn-lint is not installed: pip install -e '.[test]' (make test does)", pytrace=False)
    result = subprocess.run(
        [str(cfn_lint), "--include-checks", "I", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_cloudformation_template_fails_over_on_403_and_404() -> None:
    text = TEMPLATE.read_text()
    assert re.search(r"StatusCodes:\s+Quantity: 2\s+Items: \[403, 404\]", text)
    assert re.search(r"AllowedMethods: \[GET, HEAD\]", text)
    assert "OriginAccessControlId: !GetAtt BucketOriginAccessControl.Id" in text


@pytest.fixture(scope="module")
def nginx_path() -> Path:
    """The ``nginx`` executable; the suite fails without it rather than skip."""
    try:
        return nginx_binary()
    except NginxError as exc:
        pytest.fail(str(exc), pytrace=False)


SITE_VALUES = {
    "shiftmedia-selfhosted.conf": {"media_root": "MEDIA_ROOT"},
    "shiftmedia-cdn-failover.conf": {"bucket_origin": "http://127.0.0.1:9/media-bucket/media/"},
}


@pytest.mark.parametrize("site", sorted(SITE_VALUES))
def test_nginx_site_passes_nginx_t(site: str, nginx_path: Path, tmp_path: Path) -> None:
    media_root = tmp_path / "media"
    media_root.mkdir()
    values = {
        "listen": "127.0.0.1:8080",
        "server_name": "media.example.com",
        "service": "127.0.0.1:8000",
        **{key: value.replace("MEDIA_ROOT", str(media_root)) for key, value in SITE_VALUES[site].items()},
    }
    report = Nginx(tmp_path / "nginx", render(SITES / site, values)).check()
    assert "test is successful" in report
    assert "[warn]" not in report and "[emerg]" not in report, report


def test_nginx_render_needs_every_placeholder() -> None:
    with pytest.raises(NginxError, match="missing values"):
        render(SITES / "shiftmedia-cdn-failover.conf", {"listen": "80"})
