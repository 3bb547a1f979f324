#!/usr/bin/env bash
# The CPython 3.11+ interpreters on this machine other than the one given ($1): Debian's
# python3.X, and pyenv's installed versions. One line each, "3.X /path/to/python", one per
# version, newest patch release first found. `make test` runs the unit suite on each.
set -u
own=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
root=${PYENV_ROOT:-$HOME/.pyenv}
declare -A seen=(["$own"]=1)
for python in /usr/bin/python3.1[1-9] /usr/local/bin/python3.1[1-9] "$root"/versions/3.1[1-9]*/bin/python3; do
    [ -x "$python" ] || continue
    version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    [ -n "${seen[$version]:-}" ] && continue
    seen[$version]=1
    echo "$version $python"
done
