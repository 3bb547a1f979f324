"""The image engine: resize encoded images with Pillow, safely and reproducibly.

:func:`render` turns original bytes (an image, or a video: one frame of it,
decoded by the optional PyAV) and a :class:`~shiftmedia.spec.ResizeSpec`
into a :class:`Rendered` derivative; :func:`resize_bytes` is the same for
callers that want bytes only; :func:`probe` checks an upload. Every entry point
enforces :class:`Limits` and raises only :class:`~shiftmedia.errors.ShiftMediaError`
subclasses.
"""

from .limits import Limits
from .pipeline import Rendered, render, resize_bytes
from .probe import ImageInfo, probe

__all__ = ["ImageInfo", "Limits", "Rendered", "probe", "render", "resize_bytes"]
