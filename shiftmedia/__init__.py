"""shiftmedia: signed, on-the-fly image resizes stored beside their originals."""

from .errors import ShiftMediaError
from .spec import ResizeSpec

__all__ = ["ResizeSpec", "ShiftMediaError"]
__version__ = "0.1.0"
