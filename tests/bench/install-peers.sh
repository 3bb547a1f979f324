#!/usr/bin/env bash
# Install the benchmark's peers, each in a venv of its own beside the project's .venv:
#   .venv-bench-vips     pyvips + pyvips-binary (libvips bundled in the wheel)
#   .venv-bench-thumbor  thumbor 7.8.0 (PIL engine; its Pillow wheel bundles libjpeg-turbo)
# Every version is pinned. A venv that already has exactly these pins is left alone,
# so running this again costs a second. No Debian package is needed: the wheels carry
# their native libraries, and thumbor's optional tools (gifsicle, ffmpeg, pycurl) serve
# features the benchmark does not use.
# Usage, from anywhere: bash tests/bench/install-peers.sh   (PYTHON=... picks the interpreter)
set -euo pipefail

cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

VIPS_VENV=.venv-bench-vips
VIPS_PINS=(pyvips==3.2.0 pyvips-binary==8.18.7 cffi==2.1.1 pycparser==3.12)

THUMBOR_VENV=.venv-bench-thumbor
THUMBOR_PINS=(
  thumbor==7.8.0 pillow==12.3.0 tornado==6.6.1 libthumbor==2.0.2 derpconf==0.8.4
  thumbor-plugins-gifv==0.1.5 webcolors==1.13 piexif==1.1.3 JpegIPTC==1.5
  colorama==0.4.6 statsd==4.0.1 pytz==2026.6 six==1.17.0
)

# True when the venv's python has every pinned distribution at exactly its version.
has_pins() {
  local venv=$1; shift
  [ -x "$venv/bin/python" ] || return 1
  "$venv/bin/python" - "$@" <<'PY' 2>/dev/null
import sys
from importlib.metadata import PackageNotFoundError, version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    try:
        if version(name) != wanted:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

# Create (or repair) a venv and install the pins into it, unless it already has them.
install() {
  local venv=$1 check=$2; shift 2
  if has_pins "$venv" "$@" && "$venv/bin/python" -c "$check" 2>/dev/null; then
    echo "$venv: up to date"
    return
  fi
  echo "$venv: installing $*"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  "$venv/bin/python" -c "$check"
  echo "$venv: ready"
}

install "$VIPS_VENV" 'import pyvips; pyvips.Image.black(8, 8).write_to_buffer(".jpg")' "${VIPS_PINS[@]}"
install "$THUMBOR_VENV" 'import thumbor.server, thumbor.engines.pil, thumbor.loaders.file_loader' "${THUMBOR_PINS[@]}"
