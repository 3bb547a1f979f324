"""``python -m shiftmedia``: the same as the ``shiftmedia`` command."""

from .cli import main

main()
