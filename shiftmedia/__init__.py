"""shiftmedia: signed, on-the-fly image resizes stored beside their originals.

The library logs on the ``shiftmedia`` loggers and leaves their output to the
application: the NullHandler keeps Python's last-resort handler from printing
a library's warnings on stderr when the application has configured no logging.
"""

import logging

from .engine import resize_bytes
from .errors import ShiftMediaError
from .spec import ResizeSpec

__all__ = ["ResizeSpec", "ShiftMediaError", "resize_bytes"]
__version__ = "0.1.0"

logging.getLogger("shiftmedia").addHandler(logging.NullHandler())
