"""The benchmark behind ``make bench``: our engine and service against pyvips, naive Pillow and thumbor.

Run it from the repository root with the project venv::

    bash tests/bench/install-peers.sh        # once: .venv-bench-vips and .venv-bench-thumbor
    .venv/bin/python -m tests.bench.run [--quick] [--json FILE]

The modules here are importable from any of the three venvs: nothing at package
level imports Pillow, pyvips or shiftmedia.
"""
