"""The files under deploy/ and the packaged gunicorn settings: each one loaded or checked by the
tool that will run it."""

from __future__ import annotations

import configparser
import os
import re
import runpy
import shutil
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from .conftest import REPO, SECRET_KEYS
from .servers.http import free_port
from .servers.nginx import Nginx, NginxError, nginx_binary, render
from .soak import run_load, start_service

DEPLOY = REPO / "deploy"
#: The gunicorn settings module: webapp/ ships as shiftmedia_webapp, so production says
#: ``gunicorn -c python:shiftmedia_webapp.gunicorn_conf``.
GUNICORN_CONF = REPO / "webapp" / "gunicorn_conf.py"
GUNICORN_CONF_MODULE = "python:shiftmedia_webapp.gunicorn_conf"
#: What the settings module reads besides ``SHIFTMEDIA_*``: the container conventions, and glibc's malloc settings.
PLATFORM_NAMES = ("PORT", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")
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


def run_with_conf(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter where ``conf`` is the settings module run under ``env``
    (no ``SHIFTMEDIA_*`` or :data:`PLATFORM_NAMES` from the caller): for what changes process state."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTMEDIA_") and k not in PLATFORM_NAMES}
    clean.pop("GLIBC_TUNABLES", None)
    prelude = f"import runpy\nconf = runpy.run_path({str(GUNICORN_CONF)!r})\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_gunicorn_workers_tune_malloc_unless_the_environment_does(tmp_path: Path) -> None:
    script = "print(sorted(conf['tune_malloc']().items()))"
    tuned = run_with_conf(script, tmp_path)
    assert tuned.returncode == 0, tuned.stderr
    assert tuned.stdout.strip() == "[('MALLOC_ARENA_MAX', 2), ('MALLOC_MMAP_THRESHOLD_', 131072)]"
    operator = run_with_conf(script, tmp_path, MALLOC_ARENA_MAX="4")
    assert operator.stdout.strip() == "[('MALLOC_MMAP_THRESHOLD_', 131072)]", operator.stderr
    tunables = run_with_conf(script, tmp_path, GLIBC_TUNABLES="glibc.malloc.mmap_threshold=65536")
    assert tunables.stdout.strip() == "[('MALLOC_ARENA_MAX', 2)]", tunables.stderr


def test_gunicorn_routes_shiftmedia_loggers_to_its_error_log(tmp_path: Path) -> None:
    """gunicorn's logger set up (twice, as a reload does) with the module's settings: ``shiftmedia.*``
    at INFO and other libraries' warnings reach the error log once each, in gunicorn's format;
    gunicorn's own error and access lines are unchanged."""
    result = run_with_conf(
        """
        import logging
        from gunicorn.config import Config
        from gunicorn.glogging import Logger

        cfg = Config()
        for name in ("logconfig_dict", "errorlog", "accesslog", "loglevel"):
            cfg.set(name, conf[name])
        glog = Logger(cfg)
        glog.setup(cfg)
        logging.getLogger("shiftmedia.access").info('{"path":"/media/a.jpg"}')
        logging.getLogger("shiftmedia.access").debug("not at debug")
        logging.getLogger("shiftmedia.errors").warning("request 1: 503 Overloaded")
        logging.getLogger("botocore.credentials").info("not a library's info")
        logging.getLogger("botocore.credentials").warning("a library's warning")
        glog.error("gunicorn's own")
        glog.info("Booting worker with pid: 1")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    messages = [re.sub(r"^\[[^\]]+\] \[\d+\] ", "", line) for line in result.stderr.splitlines()]
    assert messages == [
        '[INFO] {"path":"/media/a.jpg"}',
        "[WARNING] request 1: 503 Overloaded",
        "[WARNING] a library's warning",
        "[ERROR] gunicorn's own",
        "[INFO] Booting worker with pid: 1",
    ], result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("", None),
        ("127.0.0.1:9100", ("127.0.0.1", 9100)),
        (" 0.0.0.0:9100 ", ("0.0.0.0", 9100)),
        ("[::1]:9100", ("::1", 9100)),
        ("metrics.internal:9100", ("metrics.internal", 9100)),
    ],
)
def test_metrics_bind_address(monkeypatch: pytest.MonkeyPatch, raw: str, address: tuple[str, int] | None) -> None:
    assert load_gunicorn_conf(monkeypatch)["metrics_address"](raw) == address


@pytest.mark.parametrize("raw", ["9100", ":9100", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:http", "::1:9100"])
def test_metrics_bind_rejects_what_is_not_host_and_port(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    with pytest.raises(ValueError, match="SHIFTMEDIA_METRICS_BIND must be host:port"):
        load_gunicorn_conf(monkeypatch, SHIFTMEDIA_METRICS_BIND=raw, PROMETHEUS_MULTIPROC_DIR="/tmp/p")


def test_metrics_bind_needs_the_multiprocess_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="SHIFTMEDIA_METRICS_BIND needs PROMETHEUS_MULTIPROC_DIR"):
        load_gunicorn_conf(monkeypatch, SHIFTMEDIA_METRICS_BIND="127.0.0.1:9100")
    conf = load_gunicorn_conf(monkeypatch, SHIFTMEDIA_METRICS_BIND="127.0.0.1:9100", PROMETHEUS_MULTIPROC_DIR="/p")
    assert conf["metrics_bind"] == ("127.0.0.1", 9100)
    assert load_gunicorn_conf(monkeypatch)["metrics_bind"] is None


@pytest.mark.integration
def test_master_serves_the_metrics_of_all_workers(tmp_path: Path) -> None:
    """``SHIFTMEDIA_METRICS_BIND``: the master answers on its own port with the sum over both workers,
    and keeps answering when a worker is replaced."""
    port = free_port()
    service, workload = start_service(
        tmp_path / "media", tmp_path / "gunicorn.log", SHIFTMEDIA_METRICS_BIND=f"127.0.0.1:{port}"
    )
    try:
        before = scrape(port, "shiftmedia_requests_total")  # the requests that waited for both workers
        assert service.process is not None
        assert holders(listening_inode(port)) == [service.process.pid], "a worker kept the master's listener"
        result = run_load(service.port, workload, requests=60)
        counted = scrape(port, "shiftmedia_requests_total")
        worker = max(int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", service.log()))
        os.kill(worker, signal.SIGTERM)
        run_load(service.port, workload, requests=20, result=result)
        after = scrape(port, "shiftmedia_requests_total")
    finally:
        service.stop()
    log = service.log()
    assert before >= 2 and counted - before == 60 == result.count - 20, log
    assert after - before == result.count == 80, log
    assert re.search(rf"\[INFO\] Metrics of all workers on http://127.0.0.1:{port}/metrics", log)


def listening_inode(port: int) -> str:
    """The inode of the socket listening on 127.0.0.1:``port`` (``/proc/net/tcp``)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":
            return fields[9]
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def holders(inode: str) -> list[int]:
    """The processes with a descriptor on socket ``inode``."""
    found = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) == f"socket:[{inode}]":
                found.add(int(fd.parts[2]))
        except OSError:
            continue
    return sorted(found)


def scrape(port: int, name: str) -> float:
    """The sum of a metric's samples on the master's metrics listener."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


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
