#!/usr/bin/env bash
# The Debian packages `make test` needs, installed only if missing, said before, and leaving no
# system service enabled or running that was not before (installing nginx enables and starts
# nginx.service on port 80 on a normal Debian machine).
#
# Usage: install-system-packages.sh PACKAGE=REASON...
# SUDO (environment) prefixes the commands that need root ("" when running as root).
set -euo pipefail

SERVICES=(nginx)

missing=()
reasons=()
for item in "$@"; do
    package=${item%%=*}
    if ! dpkg -s "$package" >/dev/null 2>&1; then
        missing+=("$package")
        reasons+=("  $package: ${item#*=}")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "make test needs these Debian packages, which are not installed:"
printf '%s\n' "${reasons[@]}"
echo "installing them with: ${SUDO:+$SUDO }apt-get install ${missing[*]}"

has_systemd() { command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }
state_of() {  # "<enabled> <active>" of a service, before or after the install
    if has_systemd; then
        echo "$(systemctl is-enabled "$1" 2>/dev/null || true) $(systemctl is-active "$1" 2>/dev/null || true)"
    else
        echo "- $(pgrep -x "$1" >/dev/null 2>&1 && echo active || echo inactive)"
    fi
}

declare -A before
for service in "${SERVICES[@]}"; do
    before[$service]=$(state_of "$service")
done

$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"

for service in "${SERVICES[@]}"; do
    read -r was_enabled was_active <<<"${before[$service]}"
    read -r now_enabled now_active <<<"$(state_of "$service")"
    if [ "$now_active" = active ] && [ "$was_active" != active ]; then
        echo "stopping $service, which the install started (the tests run their own on free ports)"
        if has_systemd; then $SUDO systemctl stop "$service"; else $SUDO service "$service" stop; fi
    fi
    if [ "$now_enabled" = enabled ] && [ "$was_enabled" != enabled ]; then
        echo "disabling $service, which the install enabled"
        $SUDO systemctl disable --quiet "$service"
    fi
done
