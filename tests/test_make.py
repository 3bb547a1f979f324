"""What `make test` and `make run` do to the machine before the tests: said first, nothing left running.

tests/servers/install-system-packages.sh runs here with apt-get, dpkg, systemctl and
pgrep replaced by small scripts on PATH that record their calls (the real machine is
never touched); the Makefile's own rules are read for what they print.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

SCRIPT = REPO / "tests" / "servers" / "install-system-packages.sh"


def fake_tools(folder: Path, *, installed: set[str], enabled_after: bool, active_after: bool) -> Path:
    """Commands standing in for the system's, logging to calls.log; state flips when apt-get installs."""
    log = folder / "calls.log"
    state = folder / "installed"
    tools = {
        "dpkg": f'[ "$1" = -s ] && grep -qx "$2" {state} 2>/dev/null',
        "apt-get": f'echo "apt-get $*" >> {log}; [ "$1" = install ] && for p in "$@"; do echo "$p" >> {state}; done; true',
        "systemctl": (
            f'echo "systemctl $*" >> {log}; installed=$(grep -cx nginx {state} 2>/dev/null || true); '
            f'case "$1" in is-enabled) [ "$installed" = 1 ] && {str(enabled_after).lower()} && echo enabled || echo disabled;; '
            f'is-active) [ "$installed" = 1 ] && {str(active_after).lower()} && echo active || echo inactive;; esac; true'
        ),
    }
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (folder / "installed").write_text("".join(f"{p}\n" for p in installed))
    for name, body in tools.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/bash\n{body}\n")
        path.chmod(0o755)
    (folder / "run" / "systemd" / "system").mkdir(parents=True)
    return bin_dir


def run_script(folder: Path, bin_dir: Path, *packages: str) -> subprocess.CompletedProcess[str]:
    script = SCRIPT.read_text().replace("/run/systemd/system", str(folder / "run" / "systemd" / "system"))
    copy = folder / "install.sh"
    copy.write_text(script)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "SUDO": ""}
    return subprocess.run(["bash", str(copy), *packages], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("enabled", "active"), [(True, True), (False, False), (True, False)])
def test_a_service_the_install_started_or_enabled_is_stopped_and_disabled(
    tmp_path: Path, enabled: bool, active: bool
) -> None:
    bin_dir = fake_tools(tmp_path, installed={"systemd"}, enabled_after=enabled, active_after=active)
    result = run_script(tmp_path, bin_dir, "nginx=the sites the tests start", "systemd=checks the unit")
    assert result.returncode == 0, result.stderr
    said = result.stdout
    assert said.index("  nginx: the sites the tests start") < said.index("installing them with: apt-get install nginx")
    assert "systemd:" not in said, "an installed package is neither listed nor installed again"
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert "apt-get install -y -q nginx" in calls
    assert ("systemctl stop nginx" in calls) == active
    assert ("systemctl disable --quiet nginx" in calls) == enabled


def test_nothing_is_said_or_done_when_everything_is_there(tmp_path: Path) -> None:
    bin_dir = fake_tools(tmp_path, installed={"nginx", "chromium"}, enabled_after=True, active_after=True)
    result = run_script(tmp_path, bin_dir, "nginx=x", "chromium=y")
    assert result.returncode == 0 and result.stdout == ""
    assert not (tmp_path / "calls.log").exists()


def test_make_names_what_it_builds_and_needs() -> None:
    makefile = (REPO / "Makefile").read_text()
    for said in (
        "making $(SEAWEED_VENV):",
        "making $(LOCALSTACK_VENV):",
        "cannot make a virtual environment: install Debian's python3-venv",
    ):
        assert said in makefile, said
    assert "$(SECRET_FILE)" in makefile.split("test-deps:", 1)[1].splitlines()[0], "the tour works after make test"
