"""shiftmedia: signed, on-the-fly image resizes stored beside their originals."""

from .engine import resize_bytes
from .errors import ShiftMediaError
from .spec import ResizeSpec

__all__ = ["ResizeSpec", "ShiftMediaError", "resize_bytes"]
__version__ = "0.1.0"
